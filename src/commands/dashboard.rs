//! `factory dashboard`: serve the seven views of `.factory/` over HTTP, live.

use std::io::Write as _;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::Outcome;
use crate::dashboard::{Options, serve};

#[derive(Debug, Args)]
pub struct DashboardArgs {
    /// State directory (default: $FACTORY_STATE_DIR, else .factory at the git top level).
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Address to listen on. Anything but a loopback address exposes the state (requests,
    /// plans, review findings) to the network: see docs/dashboard.md.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1")]
    pub bind: IpAddr,
    /// Port to listen on (0: any free port; the address is printed).
    #[arg(long, value_name = "PORT", default_value_t = 7878)]
    pub port: u16,
    /// How often the state directory is checked for changes, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 250, value_parser = clap::value_parser!(u64).range(20..=60_000))]
    pub poll_ms: u64,
}

pub fn run(args: DashboardArgs) -> anyhow::Result<Outcome> {
    let root = super::state_dir(args.state_dir);
    if !root.is_dir() {
        eprintln!(
            "warning: {} does not exist yet: the views stay empty until a session starts (`factory run`)",
            root.display()
        );
    }
    // Nothing reached through a link inside the state directory is served.
    crate::state::StateDir::new(root.clone()).check_links()?;
    if !args.bind.is_loopback() {
        eprintln!(
            "warning: listening on {} makes the dashboard reachable from other machines, without authentication; it shows requests, plans and review findings. Prefer the default 127.0.0.1 and an SSH tunnel.",
            args.bind
        );
    }
    let opts = Options {
        root: root.clone(),
        bind: args.bind,
        port: args.port,
        poll: Duration::from_millis(args.poll_ms),
    };
    serve(opts, |addr| {
        let host = if addr.ip().is_unspecified() {
            "127.0.0.1".to_string()
        } else if addr.is_ipv6() {
            format!("[{}]", addr.ip())
        } else {
            addr.ip().to_string()
        };
        println!("dashboard: http://{host}:{}/", addr.port());
        println!("state:     {}", root.display());
        println!("press Ctrl-C to stop");
        let _ = std::io::stdout().flush();
    })?;
    Ok(Outcome::Clean)
}
