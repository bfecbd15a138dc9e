//! `factory intake`: phase 1 on its own: classify the request, check the setup, write the
//! intake record and start the session.

use crate::forge::deferred::Writes;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;

use super::Outcome;
use crate::commands::state_dir;
use crate::intake::IntakeRequest;
use crate::phases::intake::start_session;
use crate::state::{Session, StateDir};
use crate::workflow::{ChangeClass, Trigger, Workflow, load};

/// What starts a session; shared by `factory intake` and `factory run`.
#[derive(Debug, Args)]
pub struct RequestArgs {
    /// The request text (untrusted: kept as data, never followed as instructions).
    #[arg(long, conflicts_with = "request_file")]
    pub request: Option<String>,
    /// Read the request text from a file (`-` for standard input).
    #[arg(long, value_name = "FILE")]
    pub request_file: Option<PathBuf>,
    /// The change class; inferred from the request when absent (an explicit class always wins).
    #[arg(long, value_parser = crate::commands::workflow::parse_class)]
    pub class: Option<ChangeClass>,
    /// What started the pipeline.
    #[arg(long, value_parser = parse_trigger, default_value = "user")]
    pub trigger: Trigger,
    /// The alert body: a Sentry or PagerDuty webhook (incident) or a drift report (runtime-drift).
    #[arg(long, value_name = "FILE")]
    pub payload: Option<PathBuf>,
    /// Archive a session still in progress and start a new one.
    #[arg(long)]
    pub replace: bool,
    /// Force a heuristics pack on (a bundled name such as `rust-cli`, or a pack file), on top
    /// of the packs detected from the repository (repeatable).
    #[arg(long = "pack", value_name = "PACK")]
    pub packs: Vec<String>,
    /// The repository to work on [default: the current directory].
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub repo: PathBuf,
}

impl RequestArgs {
    /// Whether anything that starts a session was given.
    pub fn given(&self) -> bool {
        self.request.is_some() || self.request_file.is_some() || self.payload.is_some()
    }

    pub fn to_request(&self, positional: Option<&str>) -> anyhow::Result<IntakeRequest> {
        let text = match (positional, self.request.as_deref(), &self.request_file) {
            (Some(t), None, None) | (None, Some(t), None) => t.to_string(),
            (None, None, Some(path)) => read_text(path)?,
            (None, None, None) => String::new(),
            _ => anyhow::bail!(
                "give the request once: as an argument, with --request, or with --request-file"
            ),
        };
        let payload = match &self.payload {
            Some(path) => Some(crate::intake::payload::read(path)?),
            None => None,
        };
        Ok(IntakeRequest {
            request: text,
            class: self.class,
            trigger: self.trigger,
            payload,
            packs: self.packs.clone(),
        })
    }
}

/// Files larger than this are refused before reading: requests and alert bodies are small.
const MAX_INPUT: u64 = 5 * 1024 * 1024;

fn read_bounded(path: &std::path::Path) -> anyhow::Result<Vec<u8>> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    if meta.len() > MAX_INPUT {
        anyhow::bail!(
            "{} is {} bytes; requests and payloads are at most 5 MiB",
            path.display(),
            meta.len()
        );
    }
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

fn read_text(path: &std::path::Path) -> anyhow::Result<String> {
    if path.as_os_str() == "-" {
        use std::io::Read;
        let mut buf = Vec::new();
        std::io::stdin()
            .take(MAX_INPUT + 1)
            .read_to_end(&mut buf)
            .context("cannot read the request from standard input")?;
        if buf.len() as u64 > MAX_INPUT {
            anyhow::bail!("the request on standard input is over 5 MiB");
        }
        return Ok(String::from_utf8_lossy(&buf).into_owned());
    }
    Ok(String::from_utf8_lossy(&read_bounded(path)?).into_owned())
}

pub(crate) fn parse_trigger(s: &str) -> Result<Trigger, String> {
    s.parse()
}

#[derive(Debug, Args)]
pub struct IntakeArgs {
    #[command(flatten)]
    pub request: RequestArgs,
    /// The state directory [default: .factory at the repository root].
    #[arg(long, env = "FACTORY_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
    /// Print the intake record as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Open the state directory, its log and the effective workflow.
pub(crate) fn open(state_dir_arg: Option<PathBuf>) -> anyhow::Result<(StateDir, Workflow)> {
    let state = StateDir::new(state_dir(state_dir_arg));
    let workflow = load::load(&state.root().join(load::OVERRIDE_FILE))?.workflow;
    state.ensure()?;
    crate::state::log::init(&state)?;
    Ok((state, workflow))
}

pub fn run(args: IntakeArgs) -> anyhow::Result<Outcome> {
    if !args.request.given() {
        anyhow::bail!(
            "nothing to take in: pass --request TEXT, --request-file FILE or --payload FILE"
        );
    }
    let req = args.request.to_request(None)?;
    let (state, workflow) = open(args.state_dir)?;
    let record = match start(
        &state,
        &workflow,
        &args.request,
        req,
        !args.json,
        Writes::from_env()?,
    )? {
        Ok(record) => record,
        Err(outcome) => return Ok(outcome),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&record.to_value())?);
    } else {
        println!("next: factory run --resume");
    }
    Ok(Outcome::Clean)
}

/// Start a session from `req` and, when `print`, say what was started. An incident that
/// matches an existing issue may be handled without a new session: then the outcome is returned
/// instead of the record.
pub(crate) fn start(
    state: &StateDir,
    workflow: &Workflow,
    args: &RequestArgs,
    req: IntakeRequest,
    print: bool,
    writes: Writes,
) -> anyhow::Result<Result<crate::intake::IntakeRecord, Outcome>> {
    let incident = match incident_gate(state, workflow, &req, &args.repo, writes)? {
        Ok(m) => m,
        Err(outcome) => return Ok(Err(outcome)),
    };
    let (session, record) = start_session(state, workflow, &req, &args.repo, args.replace)?;
    if print {
        print_started(&session, &record);
    }
    after_start(state, &incident)?;
    Ok(Ok(record))
}

fn print_started(session: &Session, record: &crate::intake::IntakeRecord) {
    let how = match serde_json::to_value(record.classification.source)
        .ok()
        .as_ref()
        .and_then(|v| v.as_str())
    {
        Some("explicit") => "given",
        _ => "inferred",
    };
    println!("session {} started", session.id);
    println!(
        "  class:   {} ({how}: {})",
        session.change_class, record.classification.rationale
    );
    println!("  trigger: {}", session.trigger);
    let route: Vec<String> = std::iter::once("intake".to_string())
        .chain(session.route.iter().map(|p| p.to_string()))
        .collect();
    println!("  route:   {}", route.join(" → "));
    for p in &record.packs {
        println!("  pack:    {} ({})", p.name, p.reason);
    }
    for c in record.setup.iter().filter(|c| !c.ok) {
        println!("  note:    {}: {}", c.check, c.detail);
    }
}

/// An incident already tracked by an open issue gets a comment there instead of a new pipeline
/// (`Err(outcome)`: stop here); one whose issue was closed reopens it as a recurrence, and past
/// the recurrence limit stops for a human.
pub(crate) fn incident_gate(
    state: &StateDir,
    workflow: &Workflow,
    req: &IntakeRequest,
    repo: &std::path::Path,
    writes: Writes,
) -> anyhow::Result<Result<crate::forge::recurrence::IncidentMatch, Outcome>> {
    use crate::forge::recurrence::{IncidentMatch, Recorded, before_intake};
    if req.trigger != Trigger::Incident || req.payload.is_none() {
        return Ok(Ok(IncidentMatch::New));
    }
    let m = before_intake(state, workflow.limits.recurrence_limit, req, repo, writes)?;
    match &m {
        IncidentMatch::Commented { issue } => {
            println!(
                "this incident is already tracked by open issue #{issue}: commented there, no new pipeline started"
            );
            Ok(Err(Outcome::Clean))
        }
        IncidentMatch::Recurred(Recorded::Escalated { issue, count }) => {
            eprintln!(
                "this incident recurred {count} times (issue #{issue}), past the limit of {}: marked needs-human (recurrence-limit); no new pipeline started",
                workflow.limits.recurrence_limit
            );
            Ok(Err(Outcome::Findings))
        }
        _ => Ok(Ok(m)),
    }
}

/// Link a reopened issue to the session that works on it again.
pub(crate) fn after_start(
    state: &StateDir,
    m: &crate::forge::recurrence::IncidentMatch,
) -> anyhow::Result<()> {
    use crate::forge::recurrence::{IncidentMatch, Recorded};
    if let IncidentMatch::Recurred(Recorded::Reopened { issue, count }) = m {
        let (issue, count) = (*issue, *count);
        state.update_session(|s| {
            if !s.issues.iter().any(|i| i.number == issue) {
                s.issues.push(crate::state::IssueRef {
                    number: issue,
                    task_id: None,
                    branch: None,
                    ..Default::default()
                });
            }
            s.counters.recurrence = count;
        })?;
        println!("incident recurred: issue #{issue} reopened (recurrence {count})");
    }
    Ok(())
}
