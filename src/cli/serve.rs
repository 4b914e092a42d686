//! `hookbox serve`: load config, set up logging, run until SIGINT/SIGTERM; SIGHUP reloads the
//! config (see `reload`).

use std::process::ExitCode;

use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

use super::ServeArgs;
use crate::config::LogFormat;
use crate::{app, config};

/// Runs the server; exit code 0 after a clean shutdown.
pub fn run(args: ServeArgs) -> ExitCode {
    let mut config = match config::load(&args.config) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("hookbox: {e}");
            return ExitCode::from(2);
        }
    };
    init_tracing(args.log_format.unwrap_or(config.server.log_format));
    overlay(&mut config, &args);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("hookbox: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(async move {
        let listener = match tokio::net::TcpListener::bind(config.server.listen).await {
            Ok(listener) => listener,
            Err(e) => {
                eprintln!("hookbox: cannot listen on {}: {e}", config.server.listen);
                return ExitCode::FAILURE;
            }
        };
        let shutdown = CancellationToken::new();
        tokio::spawn(signal_on(shutdown.clone()));
        let (reload, reloads) = tokio::sync::mpsc::channel(1);
        tokio::spawn(reload_on_hangup(args, reload));
        match app::run_with_reloads(config, listener, shutdown, reloads).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("hookbox: {e}");
                ExitCode::FAILURE
            }
        }
    });
    // A blocking task still stuck in the store (a hung disk) must not keep the process alive:
    // dropping the runtime would wait for it forever.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    code
}

/// The command line's overrides on top of the file's settings.
fn overlay(config: &mut config::Config, args: &ServeArgs) {
    if let Some(listen) = args.listen {
        config.server.listen = listen;
    }
    if let Some(dir) = &args.data_dir {
        config.storage.data_dir = dir.clone();
    }
}

/// On each SIGHUP, loads the config file again (with the command line's overrides) and hands
/// it to the running hookbox; a file that does not load is refused, the running config stays.
async fn reload_on_hangup(args: ServeArgs, reload: tokio::sync::mpsc::Sender<config::Config>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let Ok(mut hangups) = signal(SignalKind::hangup()) else {
            tracing::warn!("cannot listen for SIGHUP: the config reloads only with a restart");
            return;
        };
        while hangups.recv().await.is_some() {
            tracing::info!(file = %args.config.display(), "SIGHUP: reloading the config");
            match config::load(&args.config) {
                Ok(mut next) => {
                    overlay(&mut next, &args);
                    if reload.send(next).await.is_err() {
                        return;
                    }
                }
                Err(e) => tracing::error!(
                    error = %e,
                    "config reload refused; the running config stays"
                ),
            }
        }
    }
    #[cfg(not(unix))]
    let _ = (args, reload);
}

fn init_tracing(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Cancels `token` on SIGINT or SIGTERM.
async fn signal_on(token: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = ctrl_c.await;
                    token.cancel();
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutdown signal received");
    token.cancel();
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_operations_guide_shows_the_shipped_systemd_unit() {
        let readme = include_str!("../../docs/operations.md");
        let unit = include_str!("../../contrib/hookbox.service");
        let open = "  ```ini\n";
        let start = readme
            .find(open)
            .expect("an ini block in docs/operations.md")
            + open.len();
        let end = start + readme[start..].find("  ```\n").expect("the block's end");
        let shown: String = readme[start..end]
            .lines()
            .map(|l| format!("{}\n", l.strip_prefix("  ").unwrap_or(l)))
            .collect();
        assert_eq!(
            shown, unit,
            "docs/operations.md and contrib/hookbox.service differ"
        );
    }
}
