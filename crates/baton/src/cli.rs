//! The command-line interface. Every flag has a `BATON_*` environment
//! fallback, and every subcommand takes the same database options so admin
//! commands act on the database the server uses.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Baton: one self-hostable program where people and AI coding agents plan and ship work.
#[derive(Debug, Parser)]
#[command(name = "baton", version, about)]
pub struct Cli {
    /// Database options (shared by every subcommand).
    #[command(flatten)]
    pub db: DbArgs,
    /// Queue timings (shared by `serve` and `mcp`).
    #[command(flatten)]
    pub queue: QueueArgs,
    /// Log format on stderr.
    #[arg(long, global = true, env = "BATON_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Where the data lives.
#[derive(Debug, Clone, Args)]
pub struct DbArgs {
    /// Directory for the embedded SQLite database (created if missing).
    #[arg(long, global = true, env = "BATON_DATA_DIR", default_value = "./baton-data")]
    pub data_dir: PathBuf,
    /// Database URL: sqlite://PATH or postgres://USER:PASS@HOST:PORT/DB. Overrides --data-dir.
    #[arg(long, global = true, env = "BATON_DATABASE_URL")]
    pub database_url: Option<String>,
}

/// Queue timings. The defaults are the reference's; tests shorten the lease
/// to watch a killed worker's job come back.
#[derive(Debug, Clone, Args)]
pub struct QueueArgs {
    /// Seconds a claimed job stays a worker's without a heartbeat.
    #[arg(long, global = true, env = "BATON_JOB_LEASE_SECONDS", default_value_t = 300,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub job_lease_seconds: u64,
    /// Milliseconds between the safety polls of a waiting `wait_for_job`
    /// (events wake it at once; this only bounds a missed event).
    #[arg(long, global = true, env = "BATON_JOB_WAIT_POLL_MS", default_value_t = 5_000,
          value_parser = clap::value_parser!(u64).range(10..=600_000))]
    pub job_wait_poll_ms: u64,
    /// Comma-separated hosts whose pull request URLs `set_pbi_pr` accepts,
    /// besides the host of the product's repository URL (`""` for none).
    #[arg(long, global = true, env = "BATON_PR_HOSTS", value_delimiter = ',',
          default_values = ["github.com", "gitlab.com", "codeberg.org"])]
    pub pr_hosts: Vec<String>,
}

impl QueueArgs {
    /// The service settings with these timings.
    pub fn app_config(&self) -> baton_app::AppConfig {
        baton_app::AppConfig {
            job_lease: std::time::Duration::from_secs(self.job_lease_seconds),
            job_wait_poll: std::time::Duration::from_millis(self.job_wait_poll_ms),
            pr_hosts: self.pr_hosts.iter().map(|h| h.trim().to_string()).filter(|h| !h.is_empty()).collect(),
            ..baton_app::AppConfig::default()
        }
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Migrate the database, then serve the web UI and API (the default).
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Seed a read-only demo user (demo / demo1234) and a sample product.
    Demo,
    /// Print the OpenAPI document as JSON.
    Openapi,
    /// Import files of another tool into a project.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Measure the sprint board and task updates (board, the default) or the job queue (queue).
    Bench(BenchArgs),
    /// Serve MCP over stdin/stdout for a local agent (token from BATON_TOKEN).
    Mcp(McpArgs),
    /// Run agents: claim jobs from a Baton server and run a command for each in its own git worktree
    /// (token from BATON_TOKEN).
    Worker(WorkerArgs),
}

/// What `import` reads.
#[derive(Debug, Clone, Subcommand)]
pub enum ImportCommand {
    /// Create or update a marketplace project's stories from a BMAD repository's docs/stories,
    /// docs/qa/gates and docs/qa/validation-reports (idempotent: a second run changes nothing).
    Bmad(ImportBmadArgs),
}

/// Options of `import bmad`.
#[derive(Debug, Clone, Args)]
pub struct ImportBmadArgs {
    /// The repository's root directory (the one holding `docs/`).
    pub repo_dir: PathBuf,
    /// The project: its id or product code.
    #[arg(long)]
    pub project: String,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Options of `worker`. The caller is the owner of the API token in `BATON_TOKEN`.
#[derive(Debug, Clone, Args)]
pub struct WorkerArgs {
    /// The Baton server, e.g. `https://baton.example.com`.
    #[arg(long, env = "BATON_URL")]
    pub url: String,
    /// The command run for each job with `sh -c` in the job's worktree (BATON_PAYLOAD_PATH, BATON_JOB_ID,
    /// BATON_TOKEN, BATON_URL, BATON_WORKTREE and BATON_USAGE_PATH set). Required unless --cleanup.
    #[arg(long, required_unless_present = "cleanup")]
    pub exec: Option<String>,
    /// Directory for the repository clones, the job worktrees and their payload files.
    #[arg(long, env = "BATON_WORKER_WORKTREES", default_value = "./baton-worktrees")]
    pub worktrees: PathBuf,
    /// Jobs run at the same time.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,
    /// A command printing the remaining subscription quota in percent (e.g. `42` or `42%`), run before
    /// each claim; below the minimum quota no job is claimed.
    #[arg(long)]
    pub quota_cmd: Option<String>,
    /// Only claim jobs of this product (id or code).
    #[arg(long)]
    pub product: Option<String>,
    /// This worker's instance id (default `worker-<hostname>-<pid>`).
    #[arg(long, env = "BATON_WORKER_INSTANCE_ID")]
    pub instance_id: Option<String>,
    /// Agent program the command runs: claude, codex or harness (only jobs of this runtime are claimed).
    #[arg(long, env = "BATON_WORKER_RUNTIME", default_value = "claude")]
    pub runtime: String,
    /// Worker tier: high_p, medium_p or low_p.
    #[arg(long, env = "BATON_WORKER_TIER", default_value = "medium_p")]
    pub tier: String,
    /// Capabilities offered (comma-separated), e.g. `review`.
    #[arg(long, env = "BATON_WORKER_CAPABILITIES", value_delimiter = ',')]
    pub capabilities: Vec<String>,
    /// Seconds between SIGTERM and SIGKILL when a command must stop.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(0..=3_600))]
    pub grace: u64,
    /// Remove this user's worktrees whose jobs are finished and that hold no unpushed work, then exit.
    #[arg(long)]
    pub cleanup: bool,
    /// Seconds between job heartbeats (default: the claim's `heartbeat_interval_seconds`).
    #[arg(long, env = "BATON_WORKER_HEARTBEAT_SECS", hide = true,
          value_parser = clap::value_parser!(u64).range(1..=3_600))]
    pub heartbeat_secs: Option<u64>,
    /// Seconds to wait before asking the quota again when it is too low.
    #[arg(long, env = "BATON_WORKER_QUOTA_RETRY_SECS", hide = true, default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..=3_600))]
    pub quota_retry_secs: u64,
}

/// Options of `mcp`. The caller is the owner of the API token in `BATON_TOKEN`.
#[derive(Debug, Clone, Args)]
pub struct McpArgs {
    /// Tools to offer: core (the agent loop) or all.
    #[arg(long, env = "BATON_MCP_TOOLS", default_value = "core")]
    pub tools: String,
    /// This worker's instance id (default `mcp-<hostname>-<pid>`).
    #[arg(long, env = "BATON_WORKER_INSTANCE_ID")]
    pub instance_id: Option<String>,
    /// Agent program running this worker: claude, codex or harness.
    #[arg(long, env = "BATON_WORKER_RUNTIME", default_value = "claude")]
    pub runtime: String,
    /// Worker tier: high_p, medium_p or low_p.
    #[arg(long, env = "BATON_WORKER_TIER", default_value = "medium_p")]
    pub tier: String,
    /// Capabilities offered (comma-separated), e.g. `deploy`.
    #[arg(long, env = "BATON_WORKER_CAPABILITIES", value_delimiter = ',')]
    pub capabilities: Vec<String>,
    /// A remote Baton server (e.g. `https://baton.example.com`) to forward
    /// to instead of opening a database; worktree tools still run here.
    #[arg(long, env = "BATON_URL")]
    pub url: Option<String>,
}

/// Options of `bench`. Without --database-url it uses a temporary SQLite file.
#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// What to measure: board (sprint board and task updates) or queue (enqueue latency, claim throughput).
    #[arg(value_enum, default_value_t = BenchWhat::Board)]
    pub what: BenchWhat,
    /// Stories to seed (20 per PBI).
    #[arg(long, default_value_t = 10_000)]
    pub stories: usize,
    /// Tasks to seed, spread evenly over the stories.
    #[arg(long, default_value_t = 50_000)]
    pub tasks: usize,
    /// Stories per sprint; the board read shows the open one.
    #[arg(long, default_value_t = 500)]
    pub board_stories: usize,
    /// Measured requests per operation (after 50 warm-up requests).
    #[arg(long, default_value_t = 1_000)]
    pub requests: usize,
    /// Another database to measure in the same run (repeatable), e.g. a Postgres URL.
    #[arg(long = "also", value_name = "DATABASE_URL")]
    pub also: Vec<String>,
    /// Keep the seeded product (and a temporary SQLite file) instead of deleting them afterwards.
    #[arg(long)]
    pub keep: bool,
    /// Print one JSON document instead of the table.
    #[arg(long)]
    pub json: bool,
    /// queue: jobs pre-filled for the claim → complete throughput run.
    #[arg(long, default_value_t = 2_000, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1_000_000))]
    pub jobs: usize,
    /// queue: measured enqueue → waiting-agent latency samples.
    #[arg(long, default_value_t = 500, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1_000_000))]
    pub samples: usize,
    /// queue: unmeasured warm-up samples before them.
    #[arg(long, default_value_t = 50, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(0..=100_000))]
    pub warmup: usize,
    /// queue: concurrent workers of the throughput run (and clients of the tpcb-like baseline).
    #[arg(long, default_value_t = 8, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=64))]
    pub workers: usize,
    /// queue: agents blocked in wait_for_job during the latency run.
    #[arg(long, default_value_t = 4, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=64))]
    pub waiters: usize,
    /// queue: seconds of the tpcb-like baseline (`pgbench -T`, and the in-process loop).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3_600))]
    pub pgbench_seconds: u64,
}

/// What `bench` measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BenchWhat {
    /// The sprint board read and task status updates on a big seeded product.
    Board,
    /// The job queue: enqueue → waiting agent latency and claim → complete throughput.
    Queue,
}

/// Options of `serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, env = "BATON_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,
    /// The URL people use to reach Baton (default: derived from --bind). An https URL makes cookies Secure.
    #[arg(long, env = "BATON_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Trust X-Forwarded-For for client IPs (only behind your own reverse proxy).
    #[arg(long, env = "BATON_TRUST_PROXY", default_value_t = false)]
    pub trust_proxy: bool,
    /// Largest accepted request body in bytes.
    #[arg(long, env = "BATON_BODY_LIMIT", default_value_t = 1024 * 1024)]
    pub body_limit: usize,
    /// Where project documents are kept: file:///absolute/dir or s3://bucket/prefix
    /// (S3 credentials, region and endpoint from the AWS_* variables).
    /// Default: the `documents` directory in --data-dir.
    #[arg(long, env = "BATON_DOCUMENTS_URL")]
    pub documents_url: Option<String>,
    /// Largest project document in bytes.
    #[arg(long, env = "BATON_DOCUMENTS_MAX_BYTES", default_value_t = 10 * 1024 * 1024,
          value_parser = clap::value_parser!(u64).range(1..=1024 * 1024 * 1024))]
    pub documents_max_bytes: u64,
    /// Bearer secret for `POST /api/cron/expire-questions` (external schedulers); unset disables that route.
    /// Open questions are also expired every minute by the server itself.
    #[arg(long, env = "BATON_CRON_SECRET", hide_env_values = true)]
    pub cron_secret: Option<String>,
    /// MCP tools offered at /mcp: core (the agent loop) or all.
    #[arg(long, env = "BATON_MCP_TOOLS", default_value = "core")]
    pub mcp_tools: String,
    /// Extra Origins (comma-separated `scheme://host[:port]`) accepted at /mcp besides the public URL and
    /// localhost; `*` accepts any.
    #[arg(long, env = "BATON_MCP_ALLOWED_ORIGINS", default_value = "")]
    pub mcp_allowed_origins: String,
    /// Limits against abuse (realtime streams, log-in attempts).
    #[command(flatten)]
    pub limits: LimitArgs,
    #[command(flatten)]
    pub chains: ChainArgs,
}

/// Escrow chains: RPC endpoints, networks, escrow addresses, token
/// allow-lists and the platform fee (marketplace reference §5).
#[derive(Debug, Clone, Args)]
pub struct ChainArgs {
    /// Polygon JSON-RPC endpoint for verifying escrow transactions; unset = escrow funding answers 503.
    #[arg(long, env = "BATON_POLYGON_RPC", hide_env_values = true)]
    pub polygon_rpc: Option<String>,
    /// Polygon network: `mainnet` (chain 137) or `amoy` (testnet, chain 80002); picks the default tokens.
    #[arg(long, env = "BATON_POLYGON_NETWORK", default_value = "mainnet", value_parser = ["mainnet", "amoy"])]
    pub polygon_network: String,
    /// The platform's Polygon escrow address clients pay into.
    #[arg(long, env = "BATON_POLYGON_ESCROW_ADDRESS", default_value = "")]
    pub polygon_escrow_address: String,
    /// Polygon token contracts replacing the defaults, `CURRENCY=0xaddress` comma-separated (e.g. `USDC=0x…`).
    #[arg(long, env = "BATON_POLYGON_TOKENS", value_delimiter = ',')]
    pub polygon_tokens: Vec<String>,
    /// Solana JSON-RPC endpoint; unset = escrow funding answers 503.
    #[arg(long, env = "BATON_SOLANA_RPC", hide_env_values = true)]
    pub solana_rpc: Option<String>,
    /// Solana network: `mainnet` or `devnet`; picks the default USDC mint.
    #[arg(long, env = "BATON_SOLANA_NETWORK", default_value = "mainnet", value_parser = ["mainnet", "devnet"])]
    pub solana_network: String,
    /// The platform's Solana escrow address (token owner) clients pay into.
    #[arg(long, env = "BATON_SOLANA_ESCROW_ADDRESS", default_value = "")]
    pub solana_escrow_address: String,
    /// Solana mints replacing the defaults, `CURRENCY=mint` comma-separated (e.g. `USDC-SPL=EPj…`).
    #[arg(long, env = "BATON_SOLANA_TOKENS", value_delimiter = ',')]
    pub solana_tokens: Vec<String>,
    /// Platform fee in basis points of each escrow (500 = 5 %), deducted from the expert.
    #[arg(long, env = "BATON_PLATFORM_FEE_BPS", default_value_t = 500,
          value_parser = clap::value_parser!(u32).range(0..=10_000))]
    pub platform_fee_bps: u32,
    /// Flat platform fee in hundredths of the display unit, stablecoin escrows only (10000 = 100 USDC).
    #[arg(long, env = "BATON_PLATFORM_FEE_FLAT", default_value_t = 0,
          value_parser = clap::value_parser!(i64).range(0..=1_000_000_000))]
    pub platform_fee_flat: i64,
}

impl ChainArgs {
    /// `config` with these chain settings; an error names a bad token entry.
    pub fn apply(&self, config: baton_app::AppConfig) -> anyhow::Result<baton_app::AppConfig> {
        use baton_app::marketplace::chain::{ChainConfig, ChainSettings, TokenAllow};
        use baton_domain::marketplace::Currency;
        fn tokens(list: &[String], into: &mut ChainSettings) -> anyhow::Result<()> {
            for entry in list.iter().map(|e| e.trim()).filter(|e| !e.is_empty()) {
                let (cur, addr) = entry
                    .split_once('=')
                    .ok_or_else(|| anyhow::anyhow!("token `{entry}`: expected CURRENCY=address"))?;
                let currency = Currency::parse_api(cur.trim())
                    .ok_or_else(|| anyhow::anyhow!("token `{entry}`: unknown currency"))?;
                into.tokens.retain(|t| t.currency != currency);
                into.tokens.push(TokenAllow { currency, address: addr.trim().to_string() });
            }
            Ok(())
        }
        let nonempty = |s: &Option<String>| s.clone().filter(|s| !s.trim().is_empty());
        let mut polygon = ChainSettings::polygon(&self.polygon_network)
            .ok_or_else(|| anyhow::anyhow!("unknown Polygon network {}", self.polygon_network))?;
        polygon.rpc_url = nonempty(&self.polygon_rpc);
        polygon.escrow_address = self.polygon_escrow_address.trim().to_string();
        tokens(&self.polygon_tokens, &mut polygon)?;
        let mut solana = ChainSettings::solana(&self.solana_network)
            .ok_or_else(|| anyhow::anyhow!("unknown Solana network {}", self.solana_network))?;
        solana.rpc_url = nonempty(&self.solana_rpc);
        solana.escrow_address = self.solana_escrow_address.trim().to_string();
        tokens(&self.solana_tokens, &mut solana)?;
        let chains =
            ChainConfig { polygon, solana, fee_bps: self.platform_fee_bps, fee_flat_minor: self.platform_fee_flat };
        Ok(baton_app::AppConfig { chains, ..config })
    }
}

/// Limits against abuse. Realtime streams are counted per process; failed
/// log-ins in the database, so the login limits hold across instances.
#[derive(Debug, Clone, Args)]
pub struct LimitArgs {
    /// Realtime (SSE) streams one user may hold open at once; more are refused with 429.
    #[arg(long, env = "BATON_REALTIME_MAX_STREAMS_PER_USER", default_value_t = 20,
          value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub realtime_max_streams_per_user: u64,
    /// Realtime (SSE) streams one client IP may hold open at once; more are refused with 429.
    #[arg(long, env = "BATON_REALTIME_MAX_STREAMS_PER_IP", default_value_t = 100,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub realtime_max_streams_per_ip: u64,
    /// File descriptors kept free of realtime streams (new streams are refused with 429 when fewer are
    /// left under the open-files limit), so health checks and log-ins keep working.
    #[arg(long, env = "BATON_REALTIME_FD_RESERVE", default_value_t = 256,
          value_parser = clap::value_parser!(u64).range(16..=1_000_000))]
    pub realtime_fd_reserve: u64,
    /// Failed log-ins allowed per client IP over all usernames per minute (password spraying); more are
    /// refused with 429. The per-account limit (10 a minute per IP and username) stays.
    #[arg(long, env = "BATON_LOGIN_IP_MAX_FAILURES", default_value_t = 30,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub login_ip_max_failures: u32,
}

impl LimitArgs {
    /// `config` with these limits.
    pub fn apply(&self, config: baton_app::AppConfig) -> baton_app::AppConfig {
        baton_app::AppConfig {
            realtime_max_streams_per_user: usize::try_from(self.realtime_max_streams_per_user).unwrap_or(usize::MAX),
            realtime_max_streams_per_ip: usize::try_from(self.realtime_max_streams_per_ip).unwrap_or(usize::MAX),
            realtime_fd_reserve: self.realtime_fd_reserve,
            login_ip_max_failures: self.login_ip_max_failures,
            ..config
        }
    }
}

impl Default for ServeArgs {
    fn default() -> Self {
        // Parsing no arguments applies the same env fallbacks and defaults as `baton serve`.
        #[derive(Parser)]
        struct Only {
            #[command(flatten)]
            serve: ServeArgs,
        }
        Only::parse_from(["baton"]).serve
    }
}

/// `baton user …`
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user (password from --password-stdin, or prompted).
    Create {
        /// Login name.
        #[arg(long)]
        username: String,
        /// E-mail address.
        #[arg(long)]
        email: Option<String>,
        /// Grant the admin role.
        #[arg(long)]
        admin: bool,
        /// Grant a role (repeatable): product_owner, scrum_master, developer, admin, client, analyst, pm, architect, ux, qa.
        #[arg(long = "role")]
        roles: Vec<String>,
        /// Make a read-only demo user.
        #[arg(long)]
        demo: bool,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        /// Force a new password at first login.
        #[arg(long)]
        must_reset: bool,
    },
    /// List users.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Set a user's password (ends their sessions).
    Passwd {
        /// Login name.
        username: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        /// Force another change at next login.
        #[arg(long)]
        must_reset: bool,
    },
    /// Grant a role.
    Grant {
        /// Login name.
        username: String,
        /// Role name.
        role: String,
    },
    /// Revoke a role.
    Revoke {
        /// Login name.
        username: String,
        /// Role name.
        role: String,
    },
}

/// `baton token …`
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token; prints only the token on stdout.
    Create {
        /// Owner's login name.
        #[arg(long)]
        user: String,
        /// What the token is for.
        #[arg(long)]
        label: String,
        /// Limit to a product id (repeatable).
        #[arg(long = "product")]
        products: Vec<String>,
        /// Expire after N days.
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
    /// List a user's tokens.
    List {
        /// Owner's login name.
        #[arg(long)]
        user: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token by id.
    Revoke {
        /// Token id.
        id: String,
    },
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Only {
        #[command(flatten)]
        chains: ChainArgs,
    }

    #[test]
    fn chain_flags_fill_the_escrow_settings() {
        let args = Only::parse_from([
            "baton",
            "--polygon-rpc",
            "http://127.0.0.1:8545",
            "--polygon-network",
            "amoy",
            "--polygon-escrow-address",
            "0xabc",
            "--polygon-tokens",
            "USDT=0xdef",
            "--platform-fee-bps",
            "250",
            "--platform-fee-flat",
            "10000",
        ]);
        let config = args.chains.apply(baton_app::AppConfig::default()).expect("valid");
        let c = &config.chains;
        assert_eq!((c.polygon.chain_id, c.polygon.rpc_url.as_deref()), (80002, Some("http://127.0.0.1:8545")));
        assert_eq!(c.polygon.escrow_address, "0xabc");
        let usdt = c.polygon.token_for(baton_domain::marketplace::Currency::Usdt).expect("usdt");
        assert_eq!(usdt, Some("0xdef"));
        assert!(c.polygon.token_for(baton_domain::marketplace::Currency::Usdc).is_ok(), "Amoy USDC default kept");
        assert_eq!((c.fee_bps, c.fee_flat_minor), (250, 10_000));
        assert!(c.solana.rpc_url.is_none() && c.verifier(baton_domain::marketplace::Blockchain::Solana).is_none());

        let bad = Only::parse_from(["baton", "--solana-tokens", "DOGE=xyz"]);
        let err = bad.chains.apply(baton_app::AppConfig::default()).expect_err("unknown currency");
        assert!(err.to_string().contains("unknown currency"), "{err}");
        assert!(Only::try_parse_from(["baton", "--polygon-network", "goerli"]).is_err());
    }
}
