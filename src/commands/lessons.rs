//! `factory lessons`: list, show, retire, rank, export and import lessons learned.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use serde_json::{Value, json};

use super::Outcome;
use crate::lessons::{self, Lesson, Store};
use crate::state::{StateDir, write_atomic};

#[derive(Debug, Args)]
pub struct StateArg {
    /// State directory (default: $FACTORY_STATE_DIR, else .factory at the git top level).
    #[arg(long, value_name = "DIR", global = true)]
    pub state_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct LessonsArgs {
    #[command(flatten)]
    pub state: StateArg,
    #[command(subcommand)]
    pub command: LessonsCommand,
}

#[derive(Debug, Subcommand)]
pub enum LessonsCommand {
    /// List lessons, most seen first (active ones unless --all).
    List {
        /// Include retired and superseded lessons.
        #[arg(long)]
        all: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print one lesson as JSON.
    Show { id: String },
    /// Retire a lesson: it stays on disk but is no longer given to planners.
    Retire { id: String },
    /// The lessons a plan would get: ranked by path overlap, pack tags, recency and hits.
    Relevant {
        /// A glob of the task's scope (repeatable).
        #[arg(long = "scope", value_name = "GLOB")]
        scope: Vec<String>,
        /// A tag of the active packs, e.g. saas-api (repeatable).
        #[arg(long = "tag", value_name = "TAG")]
        tags: Vec<String>,
        /// How many lessons.
        #[arg(short = 'k', long, default_value_t = lessons::DEFAULT_K)]
        k: usize,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Write active lessons (all with --all) to a file other repositories can import.
    Export {
        /// Output file [default: standard output].
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
        #[arg(long)]
        all: bool,
    },
    /// Import lessons exported elsewhere; repeats merge into existing lessons.
    Import { file: PathBuf },
    /// Propose the lessons this session added or updated to the default branch as a pull
    /// request (branch factory/lessons-<session>), so that later runs, which read lessons only
    /// from the checkout, get them once a person merges it.
    Publish,
}

fn store(arg: &StateArg) -> Store {
    let state = arg
        .state_dir
        .clone()
        .map(StateDir::new)
        .unwrap_or_else(StateDir::discover);
    Store::new(state.lessons_dir())
}

fn line(l: &Lesson) -> String {
    let status = if l.retired {
        " [retired]"
    } else if l.superseded_by.is_some() {
        " [superseded]"
    } else {
        ""
    };
    format!(
        "{}  seen {}×  last {}  [{}]{status}\n    {}\n    rule: {}",
        l.id,
        l.times_seen,
        l.last_seen_or_created(),
        l.tags.join(", "),
        l.pattern,
        l.preventive_rule
    )
}

pub fn run(args: LessonsArgs) -> anyhow::Result<Outcome> {
    let store = store(&args.state);
    match args.command {
        LessonsCommand::Publish => return publish(&args.state),
        LessonsCommand::List { all, json } => {
            let mut ls: Vec<Lesson> = store
                .load()?
                .into_iter()
                .filter(|l| all || l.active())
                .collect();
            ls.sort_by(|a, b| b.times_seen.cmp(&a.times_seen).then(a.id.cmp(&b.id)));
            if json {
                println!("{}", serde_json::to_string_pretty(&ls)?);
            } else if ls.is_empty() {
                println!("no lessons in {}", store.dir().display());
            } else {
                for l in &ls {
                    println!("{}", line(l));
                }
            }
        }
        LessonsCommand::Show { id } => {
            println!("{}", serde_json::to_string_pretty(&store.get(&id)?)?);
        }
        LessonsCommand::Retire { id } => {
            let l = store.retire(&id)?;
            println!("retired {}: {}", l.id, l.pattern);
        }
        LessonsCommand::Relevant {
            scope,
            tags,
            k,
            json,
        } => {
            let ranked = lessons::rank(&store.load()?, &scope, &tags, k, jiff::Timestamp::now());
            if json {
                let docs: Vec<Value> = ranked
                    .iter()
                    .map(|(l, s)| json!({"score": (s * 100.0).round() / 100.0, "lesson": l}))
                    .collect();
                println!("{}", serde_json::to_string_pretty(&docs)?);
            } else if ranked.is_empty() {
                println!("no relevant lessons");
            } else {
                for (l, s) in &ranked {
                    println!("{:.2}  {}", s, line(l));
                }
            }
        }
        LessonsCommand::Export { output, all } => {
            let ls: Vec<Lesson> = store
                .load()?
                .into_iter()
                .filter(|l| all || l.active())
                .collect();
            let doc = json!({"schema_version": "1.0", "lessons": ls});
            let text = format!("{doc:#}\n");
            match output {
                Some(path) => {
                    write_atomic(&path, text.as_bytes())
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    eprintln!("exported {} lesson(s) to {}", ls.len(), path.display());
                }
                None => print!("{text}"),
            }
        }
        LessonsCommand::Import { file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let doc: Value = serde_json::from_str(&text).map_err(|e| {
                anyhow::anyhow!(
                    "{}: line {}, column {}: not JSON: {}",
                    file.display(),
                    e.line(),
                    e.column(),
                    crate::util::errors::without_position(&e)
                )
            })?;
            let items = match &doc {
                Value::Array(a) => a.clone(),
                Value::Object(o) => o
                    .get("lessons")
                    .and_then(Value::as_array)
                    .cloned()
                    .with_context(|| {
                        format!(
                            "{}: expected {{\"lessons\": [...]}} as written by `factory lessons export`",
                            file.display()
                        )
                    })?,
                _ => anyhow::bail!(
                    "{}: expected {{\"lessons\": [...]}} as written by `factory lessons export`",
                    file.display()
                ),
            };
            let mut incoming = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let where_ = PathBuf::from(format!("{}#/lessons/{i}", file.display()));
                incoming.push(lessons::store::parse(&where_, &item.to_string())?);
            }
            let (added, merged) = store.import(&incoming)?;
            println!(
                "imported {} lesson(s): {added} new, {merged} merged into existing lessons",
                incoming.len()
            );
        }
    }
    Ok(Outcome::Clean)
}

/// `factory lessons publish`.
fn publish(arg: &StateArg) -> anyhow::Result<Outcome> {
    use crate::forge::lessons::{Published, publish};
    let state = arg
        .state_dir
        .clone()
        .map(StateDir::new)
        .unwrap_or_else(StateDir::discover);
    let Some(session) = state.load_session()? else {
        anyhow::bail!(
            "no session in {}: `factory lessons publish` proposes the lessons a session's completion wrote; restore its state first",
            state.root().display()
        );
    };
    crate::state::log::set_session(&session.id);
    let repo = state.repo();
    let forge = crate::forge::open_forge(&state, &repo)?;
    match publish(&state, forge.as_ref(), &session.id)? {
        Published::NothingNew => println!("no new or changed lessons: nothing to propose"),
        Published::PullRequest {
            number,
            branch,
            files,
            created,
        } => println!(
            "{} lesson file(s) proposed on {branch}: pull request #{number} {}",
            files.len(),
            if created { "opened" } else { "updated" }
        ),
    }
    Ok(Outcome::Clean)
}
