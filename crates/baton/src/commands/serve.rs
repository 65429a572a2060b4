//! `baton serve`: migrate, then serve until SIGINT/SIGTERM, letting
//! in-flight requests finish.

use std::{net::SocketAddr, time::Duration};

use anyhow::Context;
use baton_app::{App, AppConfig};
use baton_http::{AppState, HttpConfig};
use baton_store::events::EventBus;
use tokio::net::TcpListener;
use tracing_subscriber::{EnvFilter, fmt};

use crate::cli::{DbArgs, LogFormat, ServeArgs};

pub(crate) fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_env("BATON_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn,sea_orm_migration=warn,tower_http=info"));
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).try_init(),
        LogFormat::Text => builder.compact().try_init(),
    };
}

fn public_url(args: &ServeArgs, addr: SocketAddr) -> String {
    if let Some(u) = &args.public_url {
        return u.trim_end_matches('/').to_string();
    }
    let host = if addr.ip().is_unspecified() { "localhost".to_string() } else { addr.ip().to_string() };
    let host = if addr.is_ipv6() && !addr.ip().is_unspecified() { format!("[{host}]") } else { host };
    format!("http://{host}:{}", addr.port())
}

pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down: finishing in-flight requests");
}

/// Runs the server.
pub async fn run(db_args: &DbArgs, config: AppConfig, args: ServeArgs, log_format: LogFormat) -> anyhow::Result<()> {
    init_logging(log_format);
    let started = std::time::Instant::now();
    let listener = TcpListener::bind(&args.bind).await.with_context(|| format!("cannot listen on {}", args.bind))?;
    let addr = listener.local_addr().context("cannot read the listening address")?;
    let url = crate::config::database_url(db_args)?;
    let db = crate::config::open(db_args).await?;
    let bus = EventBus::for_db(&db, &url).await.context("cannot start the event bus")?;
    let config = AppConfig { cron_secret: args.cron_secret.clone().filter(|s| !s.is_empty()), ..config };
    let config = args.limits.apply(config);
    let documents_url = match &args.documents_url {
        Some(url) => url.clone(),
        None => {
            let dir = std::path::absolute(db_args.data_dir.join("documents")).context("cannot resolve --data-dir")?;
            format!("file://{}", dir.display())
        }
    };
    // A bad store is a start-up error, not a silent "documents are off".
    baton_app::marketplace::documents::open_store(&documents_url).map_err(|e| anyhow::anyhow!(e))?;
    let documents_max_bytes = usize::try_from(args.documents_max_bytes).context("--documents-max-bytes")?;
    let config = AppConfig { documents_url: Some(documents_url), documents_max_bytes, ..config };
    let config = args.chains.apply(config)?;
    let app = App::new(db, bus, config);
    tracing::info!(
        per_user = app.config.realtime_max_streams_per_user,
        per_ip = app.config.realtime_max_streams_per_ip,
        fd_reserve = app.config.realtime_fd_reserve,
        open_files_limit = app.streams.open_files_limit(),
        "realtime stream limits"
    );
    let public_url = public_url(&args, addr);
    let mcp_profile = args.mcp_tools.parse().map_err(|e: String| anyhow::anyhow!(e))?;
    let mcp = baton_mcp::HttpSettings::new(&public_url, &args.mcp_allowed_origins, mcp_profile);
    let http = HttpConfig {
        public_url,
        trust_proxy: args.trust_proxy,
        body_limit: args.body_limit,
        // The largest document plus room for the request around it.
        upload_limit: documents_max_bytes.saturating_add(64 * 1024).max(args.body_limit),
        mcp,
    };
    let public = http.public_url.clone();
    let state = AppState::new(app, http);

    let expirer = state.app.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = expirer.expire_questions().await {
                tracing::warn!(error = %e, "could not expire open questions");
            }
        }
    });

    // Expired job leases go back to the queue even when no worker of that
    // user is polling; a quarter of the lease keeps the delay small.
    let leases = state.app.clone();
    tokio::spawn(async move {
        let every = (leases.config.job_lease / 4).clamp(Duration::from_millis(250), Duration::from_secs(30));
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match leases.sweep_stale_jobs().await {
                Ok(ids) if !ids.is_empty() => tracing::info!(jobs = ids.len(), "expired job leases reset"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "could not reset expired job leases"),
            }
        }
    });

    // "Agent connected" goes away live: each instance tells its own page
    // streams about workers whose 30 s window lapsed (coming online is
    // announced by the heartbeat itself).
    let presence = state.app.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(baton_app::workers::PRESENCE_SWEEP_SECS));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut after = None;
        loop {
            tick.tick().await;
            match presence.announce_lapsed_workers(after).await {
                Ok(cutoff) => after = Some(cutoff),
                Err(e) => tracing::warn!(error = %e, "could not announce lapsed workers"),
            }
        }
    });

    // Escrow transactions awaiting confirmation are re-checked on chain;
    // each escrow carries its own backoff (`next_check_at`), so a short
    // tick only finds the due ones.
    let escrows = state.app.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(15));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match escrows.recheck_pending_escrows().await {
                Ok(n) if n > 0 => tracing::info!(escrows = n, "escrow transactions confirmed"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "could not re-check escrow transactions"),
            }
        }
    });

    let sweeper = state.app.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tick.tick().await;
            if let Err(e) = sweeper.purge_expired_sessions().await {
                tracing::warn!(error = %e, "could not purge expired sessions");
            }
        }
    });

    let router = baton_http::router(state);
    tracing::info!(%addr, elapsed_ms = started.elapsed().as_millis() as u64, "Baton is listening");
    println!("Baton is running at {public}");
    axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("server error")?;
    Ok(())
}
