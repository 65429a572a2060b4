//! Tunables of the services, with production defaults.

use std::time::Duration;

/// Settings the services read.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// A session expires after this long without use.
    pub session_idle: Duration,
    /// Sessions are renewed (expiry pushed forward) at most this often, so a
    /// busy browser does not write on every request.
    pub session_renew_every: Duration,
    /// Failed logins allowed per IP and username within `login_window`.
    pub login_max_failures: u32,
    /// Failed logins allowed per IP over all usernames within
    /// `login_window` (password spraying); successes are not counted.
    pub login_ip_max_failures: u32,
    /// The window for counting failed logins.
    pub login_window: Duration,
    /// A token's `last_used_at` is written at most this often.
    pub token_touch_every: Duration,
    /// The Bearer secret of `POST /api/cron/expire-questions`; `None`
    /// disables that route (404).
    pub cron_secret: Option<String>,
    /// A realtime (SSE) stream is closed after this long so clients
    /// reconnect (and access is checked again).
    pub realtime_max_duration: Duration,
    /// A realtime stream sends a heartbeat comment this often.
    pub realtime_heartbeat: Duration,
    /// Realtime streams one user may hold open at once (in this process).
    pub realtime_max_streams_per_user: usize,
    /// Realtime streams one client IP may hold open at once (in this process).
    pub realtime_max_streams_per_ip: usize,
    /// File descriptors kept free of realtime streams, so health checks,
    /// log-ins and the database pool keep working when many are open.
    pub realtime_fd_reserve: u64,
    /// How long a claimed job stays a worker's without a heartbeat.
    pub job_lease: Duration,
    /// A waiting `wait_for_job` re-checks the queue at least this often,
    /// even without an event (the safety poll).
    pub job_wait_poll: Duration,
    /// Hosts whose pull request URLs `set_pbi_pr` accepts, besides the host
    /// of the product's `repo_url` (compared case-insensitively, ports ignored).
    pub pr_hosts: Vec<String>,
    /// Where project documents are kept: `file:///abs/dir` or
    /// `s3://bucket/prefix`; `None` turns the document routes off (503).
    pub documents_url: Option<String>,
    /// Largest document accepted, in bytes.
    pub documents_max_bytes: usize,
    /// Escrow chains (RPC endpoints, escrow addresses, token allow-lists)
    /// and the platform fee.
    pub chains: crate::marketplace::chain::ChainConfig,
}

impl Default for AppConfig {
    fn default() -> Self {
        AppConfig {
            session_idle: Duration::from_secs(14 * 24 * 3600),
            session_renew_every: Duration::from_secs(10 * 60),
            login_max_failures: 10,
            // 30 a minute: three times the per-account limit, so a few
            // people behind one NAT mistyping passwords are never slowed,
            // while spraying drops from thousands of guesses a minute to 30.
            login_ip_max_failures: 30,
            login_window: Duration::from_secs(60),
            token_touch_every: Duration::from_secs(60),
            cron_secret: None,
            realtime_max_duration: Duration::from_secs(5 * 60),
            realtime_heartbeat: Duration::from_secs(25),
            // A person has a few tabs and an agent or two: 20 is generous.
            realtime_max_streams_per_user: 20,
            // Several people behind one NAT or proxy share an address.
            realtime_max_streams_per_ip: 100,
            // The database pool, the bus listener, the listening socket and
            // a burst of plain requests fit comfortably in 256.
            realtime_fd_reserve: 256,
            job_lease: Duration::from_secs(5 * 60),
            job_wait_poll: Duration::from_secs(5),
            pr_hosts: baton_domain::pull_requests::DEFAULT_PR_HOSTS.iter().map(|h| h.to_string()).collect(),
            documents_url: None,
            documents_max_bytes: baton_domain::marketplace::documents::DEFAULT_MAX_BYTES,
            chains: crate::marketplace::chain::ChainConfig::default(),
        }
    }
}
