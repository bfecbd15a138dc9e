//! Reading `workflow.yaml`: the built-in default merged with `.factory/workflow.yaml`, checked
//! against the workflow contract, with every problem reported at the line it comes from.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::Value;
use serde_saphyr::granit_parser::{Event, Parser};

use super::config::Workflow;
use super::{ChangeClass, PhaseName};
use crate::contracts::{self, Contract};

/// The default pipeline, compiled into the binary.
pub const DEFAULT_YAML: &str = include_str!("../../templates/workflow.yaml");

/// Where the override lives, relative to the state directory.
pub const OVERRIDE_FILE: &str = "workflow.yaml";

/// Overrides larger than this are refused before parsing.
const MAX_OVERRIDE_BYTES: u64 = 1024 * 1024;

/// Why a workflow could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum WorkflowError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is {size} bytes; a workflow file is at most {MAX_OVERRIDE_BYTES} bytes", path.display())]
    TooLarge { path: PathBuf, size: u64 },
    #[error("{origin}:{line}:{column}: not valid YAML: {message}")]
    Syntax {
        origin: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{origin}: {count} problem(s); fix them and run `factory workflow check`:\n{list}", count = problems.len(), list = ProblemList(problems))]
    Invalid {
        origin: String,
        problems: Vec<Problem>,
    },
}

/// One schema or consistency problem, located in the file that caused it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// `path:line` of the offending key, or `built-in default` when it comes from there.
    pub location: String,
    /// JSON pointer into the merged workflow.
    pub pointer: String,
    pub message: String,
}

struct ProblemList<'a>(&'a [Problem]);

impl fmt::Display for ProblemList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            let pointer = if p.pointer.is_empty() {
                "/"
            } else {
                &p.pointer
            };
            write!(f, "  {}: {}: {}", p.location, pointer, p.message)?;
        }
        Ok(())
    }
}

/// A parsed YAML document and the line each JSON pointer in it starts on.
struct Parsed {
    origin: String,
    value: Value,
    lines: HashMap<String, usize>,
}

impl Parsed {
    fn parse(origin: &str, text: &str) -> Result<Parsed, WorkflowError> {
        let value: Value = if text.trim().is_empty() {
            Value::Object(Default::default())
        } else {
            serde_saphyr::from_str(text).map_err(|e| syntax_error(origin, text, &e))?
        };
        Ok(Parsed {
            origin: origin.to_string(),
            lines: line_map(text),
            value,
        })
    }

    /// The line of `pointer`, or of its nearest ancestor that has one.
    fn line_of(&self, pointer: &str) -> Option<usize> {
        let mut p = pointer;
        loop {
            if let Some(line) = self.lines.get(p) {
                return Some(*line);
            }
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => return None,
            }
        }
    }

    fn has(&self, pointer: &str) -> bool {
        self.value.pointer(pointer).is_some()
    }
}

fn syntax_error(origin: &str, text: &str, err: &serde_saphyr::Error) -> WorkflowError {
    let (line, column) = err
        .location()
        .map(|l| (l.line() as usize, l.column() as usize))
        .unwrap_or_else(|| (text.lines().count().max(1), 1));
    let message = err.to_string();
    let message = message.lines().next().unwrap_or("").trim();
    // The parser repeats the position in its text; it is already in ours.
    let message = regex::Regex::new(r"^(error: )?line \d+ column \d+: ")
        .map(|re| re.replace(message, "").into_owned())
        .unwrap_or_else(|_| message.to_string());
    WorkflowError::Syntax {
        origin: origin.to_string(),
        line,
        column,
        message,
    }
}

/// Walk the YAML events and note the line every node starts on (for a mapping value, the line of
/// its key), keyed by JSON pointer.
fn line_map(text: &str) -> HashMap<String, usize> {
    enum Frame {
        Map {
            pointer: String,
            key: Option<String>,
        },
        Seq {
            pointer: String,
            index: usize,
        },
    }
    let mut lines = HashMap::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut key_line = 0usize;
    for item in Parser::new_from_str(text) {
        let Ok((event, span)) = item else { break };
        let line = span.start.line();
        let is_node = matches!(
            event,
            Event::Scalar(..)
                | Event::SequenceStart(..)
                | Event::MappingStart(..)
                | Event::Alias(..)
        );
        if !is_node {
            if matches!(event, Event::SequenceEnd | Event::MappingEnd) {
                stack.pop();
            }
            continue;
        }
        // Is this node a key? Then remember it and move on.
        if let Some(Frame::Map { key, .. }) = stack.last_mut()
            && key.is_none()
        {
            if let Event::Scalar(text, ..) = &event {
                *key = Some(text.to_string());
                key_line = line;
            } else {
                *key = Some(String::new());
            }
            continue;
        }
        let (pointer, at) = match stack.last_mut() {
            None => (String::new(), line),
            Some(Frame::Map { pointer, key }) => {
                let k = key.take().unwrap_or_default();
                (format!("{pointer}/{}", escape(&k)), key_line)
            }
            Some(Frame::Seq { pointer, index }) => {
                *index += 1;
                (format!("{pointer}/{}", *index - 1), line)
            }
        };
        lines.entry(pointer.clone()).or_insert(at);
        match event {
            Event::MappingStart(..) => stack.push(Frame::Map { pointer, key: None }),
            Event::SequenceStart(..) => stack.push(Frame::Seq { pointer, index: 0 }),
            _ => {}
        }
    }
    lines
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Mappings merge key by key; everything else in the override replaces the default.
fn merge(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(slot) => merge(slot, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (slot, v) => *slot = v,
    }
}

/// The effective workflow and where it came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub workflow: Workflow,
    /// The override that was merged in, if there was one.
    pub override_path: Option<PathBuf>,
}

/// The built-in default alone.
pub fn default_workflow() -> Workflow {
    load_text(None).expect("the built-in workflow.yaml is valid")
}

/// Load the default merged with the override at `path`, if that file exists.
pub fn load(path: &Path) -> Result<Loaded, WorkflowError> {
    let text = match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Loaded {
                workflow: default_workflow(),
                override_path: None,
            });
        }
        Err(source) => {
            return Err(WorkflowError::Read {
                path: path.to_path_buf(),
                source,
            });
        }
        Ok(meta) if meta.len() > MAX_OVERRIDE_BYTES => {
            return Err(WorkflowError::TooLarge {
                path: path.to_path_buf(),
                size: meta.len(),
            });
        }
        Ok(_) => std::fs::read(path).map_err(|source| WorkflowError::Read {
            path: path.to_path_buf(),
            source,
        })?,
    };
    let text = String::from_utf8_lossy(&text);
    let workflow = load_text(Some((&shown(path), &text)))?;
    Ok(Loaded {
        workflow,
        override_path: Some(path.to_path_buf()),
    })
}

/// The path as the user would type it: relative to the working directory when it is inside it.
pub fn shown(path: &Path) -> String {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| {
            path.strip_prefix(&cwd)
                .ok()
                .map(|p| p.display().to_string())
        })
        .unwrap_or_else(|| path.display().to_string())
}

/// Merge an override text (with the name to report it under) into the default and check it.
pub fn load_text(over: Option<(&str, &str)>) -> Result<Workflow, WorkflowError> {
    let base = Parsed::parse("built-in default", DEFAULT_YAML)?;
    let over = over
        .map(|(origin, text)| Parsed::parse(origin, text))
        .transpose()?;
    let mut merged = base.value.clone();
    if let Some(o) = &over {
        if !o.value.is_object() {
            return Err(WorkflowError::Invalid {
                origin: o.origin.clone(),
                problems: vec![Problem {
                    location: format!("{}:{}", o.origin, o.line_of("").unwrap_or(1)),
                    pointer: String::new(),
                    message: "the file must be a mapping of workflow keys (version, routes, phases, limits, backoff)".into(),
                }],
            });
        }
        merge(&mut merged, o.value.clone());
    }
    let locate = |pointer: &str| -> String {
        if let Some(o) = &over
            && (o.has(pointer) || o.line_of(pointer).is_some_and(|_| !base.has(pointer)))
        {
            return format!("{}:{}", o.origin, o.line_of(pointer).unwrap_or(1));
        }
        match base.line_of(pointer) {
            Some(line) => format!("{}:{line}", base.origin),
            None => base.origin.clone(),
        }
    };
    let origin = over
        .as_ref()
        .map_or_else(|| base.origin.clone(), |o| o.origin.clone());

    let violations = contracts::validate(Contract::Workflow, &merged, Default::default());
    if !violations.is_empty() {
        let problems = violations
            .into_iter()
            .map(|v| Problem {
                location: locate(&v.pointer),
                pointer: v.pointer,
                message: v.message,
            })
            .collect();
        return Err(WorkflowError::Invalid { origin, problems });
    }
    let workflow: Workflow =
        serde_json::from_value(merged).map_err(|e| WorkflowError::Invalid {
            origin: origin.clone(),
            problems: vec![Problem {
                location: origin.clone(),
                pointer: String::new(),
                message: e.to_string(),
            }],
        })?;
    let problems: Vec<Problem> = consistency(&workflow)
        .into_iter()
        .map(|(pointer, message)| Problem {
            location: locate(&pointer),
            pointer,
            message,
        })
        .collect();
    if !problems.is_empty() {
        return Err(WorkflowError::Invalid { origin, problems });
    }
    Ok(workflow)
}

/// What the schema cannot say: phase order within a route, review before merge, gates that
/// have somewhere to look.
fn consistency(w: &Workflow) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for class in ChangeClass::ALL {
        let steps = w.route(class);
        let base = format!("/routes/{class}");
        for (i, pair) in steps.windows(2).enumerate() {
            if pair[1].phase <= pair[0].phase {
                out.push((
                    format!("{base}/{}/phase", i + 1),
                    format!(
                        "{} cannot follow {}: each phase appears once, in the order intake, {}",
                        pair[1].phase,
                        pair[0].phase,
                        PhaseName::ALL[1..]
                            .iter()
                            .map(|p| p.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
        }
        let has = |p: PhaseName| steps.iter().any(|s| s.phase == p);
        let position = |p: PhaseName| steps.iter().position(|s| s.phase == p);
        if let Some(i) = position(PhaseName::Merge)
            && !has(PhaseName::CodeReview)
        {
            out.push((
                format!("{base}/{i}/phase"),
                "a route that merges must review first: add a code_review step before merge".into(),
            ));
        }
        if let Some(i) = position(PhaseName::CodeReview)
            && !has(PhaseName::Implementation)
        {
            out.push((format!("{base}/{i}/phase"), "a route that reviews must implement first: add an implementation step before code_review".into()));
        }
        if let Some(i) = position(PhaseName::Implementation)
            && !has(PhaseName::IssueCreation)
            && !steps[i].inline_issue
        {
            out.push((
                format!("{base}/{i}"),
                "no code without an issue: this route has no issue_creation step, so implementation needs `inline_issue: true`".into(),
            ));
        }
        if let Some(i) = position(PhaseName::TacticalPlan)
            && !has(PhaseName::IssueCreation)
        {
            out.push((format!("{base}/{i}/phase"), "a tactical plan is made per issue: add an issue_creation step before tactical_plan".into()));
        }
    }
    for (phase, cfg) in &w.phases {
        if cfg.gate.is_some() && cfg.artifact.is_none() {
            out.push((
                format!("/phases/{phase}/gate"),
                "a gated phase needs an `artifact` path to check".into(),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_valid_and_has_the_seed_limits() {
        let w = default_workflow();
        assert_eq!(w.limits.max_review_cycles, 3);
        assert_eq!(w.limits.max_implementation_retries, 2);
        assert_eq!(w.limits.max_planning_retries, 2);
        assert_eq!(w.limits.max_concurrent_issues, 3);
        assert_eq!(w.limits.recurrence_limit, 2);
        assert_eq!(w.backoff.base_seconds, 30.0);
        assert_eq!(
            w.route_phases(ChangeClass::Feature),
            PhaseName::ALL.to_vec()
        );
    }

    #[test]
    fn an_override_merges_key_by_key() {
        let w = load_text(Some(("o.yaml", "limits:\n  max_review_cycles: 5\n"))).unwrap();
        assert_eq!(w.limits.max_review_cycles, 5);
        assert_eq!(w.limits.max_planning_retries, 2);
        assert_eq!(w.route(ChangeClass::Hotfix).len(), 3);
    }

    #[test]
    fn problems_name_the_override_line() {
        let text = "version: 1\nlimits:\n  max_review_cycles: 0\n  bogus: 1\n";
        let err = load_text(Some(("o.yaml", text))).unwrap_err().to_string();
        assert!(err.contains("o.yaml:3: /limits/max_review_cycles"), "{err}");
        assert!(
            err.contains("o.yaml:2: /limits") && err.contains("bogus"),
            "{err}"
        );
    }

    #[test]
    fn syntax_errors_name_line_and_column() {
        let err = load_text(Some(("o.yaml", "limits:\n  a: [1, 2\n"))).unwrap_err();
        match err {
            WorkflowError::Syntax { line, .. } => assert!(line >= 2, "{line}"),
            other => panic!("{other}"),
        }
    }

    #[test]
    fn routes_out_of_order_or_merging_unreviewed_are_refused() {
        let text = "routes:\n  hotfix:\n    - phase: merge\n    - phase: implementation\n      inline_issue: true\n";
        let err = load_text(Some(("o.yaml", text))).unwrap_err().to_string();
        assert!(
            err.contains("o.yaml:4: /routes/hotfix/1/phase: implementation cannot follow merge"),
            "{err}"
        );
        assert!(err.contains("must review first"), "{err}");
    }

    #[test]
    fn line_map_points_at_keys_and_items() {
        let m = line_map("a:\n  b:\n    - x\n    - y: 1\n");
        assert_eq!(m["/a"], 1);
        assert_eq!(m["/a/b"], 2);
        assert_eq!(m["/a/b/0"], 3);
        assert_eq!(m["/a/b/1/y"], 4);
    }
}
