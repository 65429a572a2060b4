//! One module per subcommand.

mod admin;
mod bench;
mod import;
mod mcp;
mod serve;
mod worker;

use crate::cli::{Cli, Command, ServeArgs};

/// Runs the chosen subcommand.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let command = cli.command.unwrap_or_else(|| Command::Serve(ServeArgs::default()));
    match command {
        Command::Serve(args) => serve::run(&cli.db, cli.queue.app_config(), args, cli.log_format).await,
        Command::Migrate => {
            crate::config::open(&cli.db).await?;
            eprintln!("database is up to date");
            Ok(())
        }
        Command::User(cmd) => admin::user(&cli.db, cmd).await,
        Command::Token(cmd) => admin::token(&cli.db, cmd).await,
        Command::Demo => admin::demo(&cli.db).await,
        Command::Bench(args) => bench::run(&cli.db, args).await,
        Command::Mcp(args) => mcp::run(&cli.db, cli.queue.app_config(), args, cli.log_format).await,
        Command::Worker(args) => worker::run(args, cli.log_format).await,
        Command::Import(cmd) => import::run(&cli.db, cmd).await,
        Command::Openapi => {
            println!("{}", serde_json::to_string_pretty(&baton_http::openapi())?);
            Ok(())
        }
    }
}
