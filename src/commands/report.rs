//! `factory report`: REPORT.md for the current session, or with `--html` one self-contained
//! HTML file with the dashboard's seven views for a session.

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::Args;

use super::Outcome;
use crate::dashboard::data::{load_session, snapshot};
use crate::dashboard::tail::LogTail;
use crate::dashboard::{Which, page};
use crate::state::{StateDir, write_atomic};

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// State directory (default: $FACTORY_STATE_DIR, else .factory at the git top level).
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Write one HTML file with the dashboard's views (no network needed to open it).
    #[arg(long)]
    pub html: bool,
    /// The session: the current one (default) or an id archived under .factory/sessions/.
    #[arg(long, value_name = "ID", requires = "html")]
    pub session: Option<String>,
    /// Where to write the HTML (default: .factory/report-<session id>.html). `--out` is the
    /// old spelling, still accepted.
    #[arg(
        long = "output",
        visible_alias = "out",
        value_name = "FILE",
        requires = "html"
    )]
    pub out: Option<PathBuf>,
    /// How many of the newest log entries the timeline keeps.
    #[arg(long, value_name = "N", default_value_t = 5000, requires = "html")]
    pub limit: usize,
}

pub fn run(args: ReportArgs) -> anyhow::Result<Outcome> {
    let root = super::state_dir(args.state_dir);
    let state = StateDir::new(&root);
    if !args.html {
        if state.load_session()?.is_none() {
            bail!(
                "no session in {}: start one with `factory run`, or pass --state-dir",
                root.display()
            );
        }
        let path = crate::report::write(&state).context("cannot write REPORT.md")?;
        print!("{}", std::fs::read_to_string(&path)?);
        return Ok(Outcome::Clean);
    }
    let which = Which::parse(&root, args.session.as_deref())
        .map_err(|e| anyhow::anyhow!("--session: {e}"))?;
    let Some(session) = load_session(&root, &which) else {
        bail!(
            "no readable session.json in {}: start a session with `factory run`, or name an archived one with --session (see `ls {}`)",
            which.dir(&root).display(),
            root.join("sessions").display()
        );
    };
    let mut tail = LogTail::new(state.log_path());
    tail.poll()
        .with_context(|| format!("cannot read {}", state.log_path().display()))?;
    let snap = snapshot(&root, &which, tail.entries(), args.limit.max(1));
    let out = args
        .out
        .unwrap_or_else(|| root.join(format!("report-{}.html", session.id)));
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    write_atomic(&out, page(Some(&snap)).as_bytes())
        .with_context(|| format!("cannot write {}", out.display()))?;
    println!("{}", out.display());
    Ok(Outcome::Clean)
}
