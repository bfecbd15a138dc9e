//! `factory preflight`: judge a diff with the deterministic rules before any LLM review.

use std::fs::File;
use std::io::{BufRead, BufReader, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::Context;

use super::Outcome;
use crate::findings::FailOn;
use crate::findings::render::{self, Format, Report, RuleDoc};
use crate::preflight::baseline::Baseline;
use crate::preflight::dependencies::AuditSource;
use crate::preflight::engine::{self, Engine, ScanReport};
use crate::preflight::rules::{self, Rule};
use crate::preflight::scope::{self, Scope};
use crate::preflight::{packs, suppress};

#[derive(Debug, clap::Args)]
pub struct PreflightArgs {
    /// Unified diff to judge (`-` for stdin). Default: stdin, unless --base/--head are given.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["base", "head"])]
    pub diff: Option<PathBuf>,
    /// Compute the diff with `git diff BASE HEAD` (needs --head).
    #[arg(long, value_name = "REF", requires = "head")]
    pub base: Option<String>,
    /// The head revision for --base.
    #[arg(long, value_name = "REF", requires = "base")]
    pub head: Option<String>,
    /// Scope file: {"files_in_scope": [...], "files_out_of_scope": [...], "change_class": "feature"}.
    #[arg(long, value_name = "FILE", conflicts_with = "plan")]
    pub scope: Option<PathBuf>,
    /// Tactical plan JSON: its files_in_scope / files_out_of_scope are the scope.
    #[arg(long, value_name = "TACTICAL_PLAN")]
    pub plan: Option<PathBuf>,
    /// Drop findings whose fingerprint is in this baseline file.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Write the fingerprints of the current findings to this file (and exit 0).
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,
    /// Dependency audit of lockfile changes: auto (the OSV API when it answers, else
    /// --offline-db, else a visible "dependency audit unavailable" note), osv (the OSV API;
    /// fails when unreachable), offline:DIR (an OSV database export) or off.
    #[arg(long, value_name = "auto|osv|offline:DIR|off", default_value = "auto")]
    pub audit: String,
    /// The offline OSV database `--audit auto` falls back to when the OSV API cannot be reached.
    #[arg(long, value_name = "DIR")]
    pub offline_db: Option<PathBuf>,
    /// Base URL of the OSV API for --audit osv.
    #[arg(long, value_name = "URL", default_value = crate::preflight::dependencies::OSV_URL)]
    pub osv_url: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Write the report to this file (atomically) instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Write a Markdown summary to this file (it is also appended to $GITHUB_STEP_SUMMARY).
    #[arg(long, value_name = "FILE")]
    pub summary: Option<PathBuf>,
    /// Exit 1 when a finding is at or above this severity.
    #[arg(long, value_enum, default_value_t = FailOn::Important)]
    pub fail_on: FailOn,
    /// Heuristics pack JSON whose preflight_patterns add regex rules (repeatable).
    #[arg(long = "pack", value_name = "FILE")]
    pub packs: Vec<PathBuf>,
}

fn parse_audit(
    spec: &str,
    osv_url: &str,
    offline_db: Option<&Path>,
) -> anyhow::Result<AuditSource> {
    if let Some(dir) = offline_db {
        if spec != "auto" {
            anyhow::bail!(
                "--offline-db is the fallback of --audit auto; with --audit {spec} leave it out (or use --audit offline:{})",
                dir.display()
            );
        }
        if !dir.is_dir() {
            anyhow::bail!(
                "--offline-db {}: not a directory; point it at an OSV database export",
                dir.display()
            );
        }
    }
    match spec {
        "off" => Ok(AuditSource::Off),
        "auto" => Ok(AuditSource::Auto {
            base_url: osv_url.trim_end_matches('/').to_string(),
            offline: offline_db.map(Path::to_path_buf),
        }),
        "osv" => Ok(AuditSource::Osv {
            base_url: osv_url.trim_end_matches('/').to_string(),
        }),
        other => match other.strip_prefix("offline:") {
            Some(dir) if !dir.is_empty() => {
                let dir = PathBuf::from(dir);
                if !dir.is_dir() {
                    anyhow::bail!(
                        "--audit offline:{}: not a directory; point it at an OSV database export",
                        dir.display()
                    );
                }
                Ok(AuditSource::Offline { dir })
            }
            _ => anyhow::bail!("--audit `{other}`: expected auto, osv, offline:DIR or off"),
        },
    }
}

/// All rule documentation the run can report: the rules, scope checks and suppression check.
pub fn rule_docs<'a>(rules: impl Iterator<Item = &'a rules::RuleMeta>) -> Vec<RuleDoc> {
    rules
        .chain(scope::metas())
        .chain(std::iter::once(&suppress::SUPPRESSION_MISSING_REASON))
        .map(|m| RuleDoc {
            id: m.id.to_string(),
            title: m.title.to_string(),
            description: m.description.to_string(),
            category: m.category,
            severity: m.severity,
            help_uri: if m.fails.is_empty() {
                None
            } else {
                Some(format!(
                    "https://github.com/software-factory/factory/blob/main/docs/rules/{}.md",
                    m.id
                ))
            },
        })
        .collect()
}

fn git_revision_ok(rev: &str) -> anyhow::Result<()> {
    if rev.is_empty() || rev.starts_with('-') {
        anyhow::bail!("invalid revision `{rev}`: a revision must not be empty or start with `-`");
    }
    Ok(())
}

fn scan_git(engine: &Engine, base: &str, head: &str) -> anyhow::Result<ScanReport> {
    git_revision_ok(base)?;
    git_revision_ok(head)?;
    let mut child = Command::new("git")
        .args(["diff", "--no-color", "--no-ext-diff", "-M", base, head])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot run `git diff`; is git installed and on PATH?")?;
    let stdout = child.stdout.take().expect("piped stdout");
    // `scan` owns the pipe and drops it when it returns, so git cannot block on a full pipe.
    let result = engine.scan(BufReader::with_capacity(1 << 16, stdout));
    if let Err(err) = result {
        let _ = child.kill();
        let _ = child.wait();
        return Err(
            anyhow::Error::new(err).context(format!("cannot parse `git diff {base} {head}`"))
        );
    }
    let mut stderr = String::new();
    if let Some(mut err) = child.stderr.take() {
        let _ = err.read_to_string(&mut stderr);
    }
    let status = child.wait().context("waiting for `git diff`")?;
    if !status.success() {
        anyhow::bail!(
            "`git diff {base} {head}` failed ({status}): {}; check that both revisions exist (fetch-depth: 0 in CI)",
            stderr.trim()
        );
    }
    Ok(result?)
}

fn scan_reader(engine: &Engine, reader: impl BufRead, name: &str) -> anyhow::Result<ScanReport> {
    engine
        .scan(reader)
        .with_context(|| format!("cannot parse the diff {name}"))
}

fn use_color() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

pub fn run(args: PreflightArgs) -> anyhow::Result<Outcome> {
    let audit = parse_audit(&args.audit, &args.osv_url, args.offline_db.as_deref())?;
    let scope = match (&args.scope, &args.plan) {
        (Some(p), _) => Some(Scope::load(p)?),
        (None, Some(p)) => Some(Scope::load_plan(p)?),
        _ => None,
    };
    let baseline = args.baseline.as_deref().map(Baseline::load).transpose()?;
    let mut all: Vec<Box<dyn Rule>> = rules::builtin();
    for pack in &args.packs {
        all.extend(packs::load(pack)?);
    }
    let engine = Engine::new(all, scope);

    let mut report = match (&args.diff, &args.base, &args.head) {
        (_, Some(base), Some(head)) => scan_git(&engine, base, head)?,
        (Some(p), _, _) if p.as_os_str() != "-" => {
            let f = File::open(p).with_context(|| format!("cannot open diff {}", p.display()))?;
            scan_reader(
                &engine,
                BufReader::with_capacity(1 << 16, f),
                &p.display().to_string(),
            )?
        }
        _ => {
            let stdin = std::io::stdin();
            if args.diff.is_none() && stdin.is_terminal() {
                anyhow::bail!(
                    "no diff given: pass --diff FILE, pipe a diff on stdin (--diff -), or use --base REF --head REF"
                );
            }
            scan_reader(&engine, stdin.lock(), "from stdin")?
        }
    };
    engine::finish(&mut report, &audit, baseline.as_ref())?;

    if let Some(path) = &args.write_baseline {
        let b = Baseline::from_findings(&report.findings);
        super::write_output(path, b.to_json().as_bytes())?;
        eprintln!(
            "wrote {} fingerprint(s) to {}",
            b.findings.len(),
            path.display()
        );
    }

    let docs = rule_docs(engine.rules());
    let version = env!("CARGO_PKG_VERSION");
    let rendered = Report {
        tool: "factory",
        version,
        findings: &report.findings,
        rules: &docs,
        files_scanned: report.files_scanned,
        bytes_scanned: report.bytes_scanned,
        skipped: &report.skipped,
        suppressed: report.suppressed,
        baselined: report.baselined,
        audit: Some(&report.audit),
    };
    match &args.output {
        Some(path) => {
            let text = render::render(args.format, &rendered, false);
            super::write_output(path, text.as_bytes())?;
        }
        None => {
            let text = render::render(args.format, &rendered, use_color());
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())
                .and_then(|_| out.flush())
                .context("cannot write to stdout")?;
        }
    }
    let summary = render::markdown::render(&rendered);
    if let Some(path) = &args.summary {
        super::write_output(path, summary.as_bytes())?;
    }
    crate::util::step_summary::append(&summary).map_err(anyhow::Error::msg)?;
    if report.audit.is_unavailable() && args.output.is_some() {
        // Every format carries it; a report written to a file is not read on the terminal.
        eprintln!("warning: {}", report.audit.line());
    }

    if args.write_baseline.is_some() {
        return Ok(Outcome::Clean);
    }
    let fails = report
        .findings
        .iter()
        .any(|f| args.fail_on.fails(f.severity));
    Ok(if fails {
        Outcome::Findings
    } else {
        Outcome::Clean
    })
}
