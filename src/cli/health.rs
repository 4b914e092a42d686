//! `hookbox health`: asks a running hookbox whether it is ready (`GET /readyz`), for container
//! health checks and scripts that have no HTTP client of their own. Exit 0 ready, 1 not.

use std::process::ExitCode;
use std::time::Duration;

use bytes::Bytes;
use http::Method;

use crate::client::{Client, Target};

/// Options of `hookbox health`.
#[derive(Debug, clap::Args)]
pub struct HealthArgs {
    /// Base URL of the running hookbox.
    #[arg(long, env = "HOOKBOX_SERVER", default_value = "http://127.0.0.1:8080")]
    server: String,
    /// Seconds to wait for the answer.
    #[arg(long, default_value_t = 5)]
    timeout: u64,
}

/// Runs `hookbox health`: prints `ready`, or why not, and exits 0 or 1 (2 for a bad URL).
pub fn run(args: HealthArgs) -> ExitCode {
    let target = match Target::parse("--server", &args.server) {
        Ok(target) => target,
        Err(e) => return super::usage_error(e),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return super::usage_error(format!("cannot start the runtime: {e}")),
    };
    let asked = runtime.block_on(async {
        let client = Client::new(Duration::from_secs(args.timeout.max(1)), None)
            .map_err(|e| e.to_string())?;
        let url = target.url("/readyz");
        (client.send(Method::GET, &url, &[], Bytes::new()).await).map_err(|e| e.to_string())
    });
    match asked {
        Ok(reply) if reply.status.is_success() => {
            println!("ready");
            ExitCode::SUCCESS
        }
        Ok(reply) => {
            let detail = (reply.json())
                .and_then(|p| p["detail"].as_str().map(str::to_owned))
                .unwrap_or_default();
            eprintln!("hookbox: not ready ({}): {detail}", reply.status);
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("hookbox: {}: {e}", target.url(""));
            ExitCode::from(1)
        }
    }
}
