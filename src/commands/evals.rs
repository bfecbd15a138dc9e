//! `factory evals`: run the pipeline self-evals (fixtures with known answers) and report.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;

use super::Outcome;
use crate::evals::{self, Config, report};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  factory evals\n  factory evals --suite diffs --format junit --output evals.xml\n  factory evals --dir my-evals/ --format json\n  factory evals --without-rule sql-injection   # which cases depend on the rule?"
)]
pub struct EvalsArgs {
    /// Which suite to run: plans, diffs, packs, rules, templates, reviews, or all.
    #[arg(long, default_value = "all", value_parser = suite_parser())]
    pub suite: String,
    /// Fixture directory (plans/, diffs/, packs/, templates/, reviews/, osv/, rules.json).
    /// Default: ./evals when it exists (the packs suite then also checks ./packs/ and the
    /// templates suite ./templates/), else the fixtures built into factory.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Run the fixtures built into this binary even when ./evals exists.
    #[arg(long, conflicts_with = "dir")]
    pub bundled: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = report::Format::Text)]
    pub format: report::Format,
    /// Write the report to this file (atomically) instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Run detection without this built-in rule, as if it were deleted (repeatable): shows
    /// which cases depend on it and proves the evals can fail.
    #[arg(long = "without-rule", value_name = "RULE_ID")]
    pub without_rules: Vec<String>,
}

fn suite_parser() -> clap::builder::PossibleValuesParser {
    let mut names = evals::suite_names();
    names.push("all");
    clap::builder::PossibleValuesParser::new(names)
}

pub fn run(args: EvalsArgs) -> anyhow::Result<Outcome> {
    let local = PathBuf::from("evals");
    // Keeps the extracted built-in fixtures alive (and removes them) for the run.
    let mut extracted = None;
    let (dir, default_dir) = match &args.dir {
        Some(d) => (d.clone(), false),
        None if !args.bundled && local.is_dir() => (local, true),
        None => {
            let e = evals::embedded::extract()
                .context("cannot write the built-in eval fixtures to a temporary directory")?;
            eprintln!(
                "using the eval fixtures built into factory {}",
                env!("CARGO_PKG_VERSION")
            );
            let path = e.path().to_path_buf();
            extracted = Some(e);
            (path, false)
        }
    };
    let mut config = Config::new(&dir)
        .without_rules(&args.without_rules)
        .context("--without-rule")?;
    if default_dir && PathBuf::from("packs").is_dir() {
        config.extra_pack_dirs.push(PathBuf::from("packs"));
    }
    // Editing a template in the repository is checked before it is built into the binary.
    if default_dir && PathBuf::from("templates").is_dir() {
        config.templates_dir = Some(PathBuf::from("templates"));
    }
    // The built-in run also checks the heuristics packs built into the binary, as the local
    // run checks ./packs/.
    if let Some(e) = &extracted {
        let dir = e.path().join("bundled-packs");
        std::fs::create_dir_all(&dir)
            .and_then(|_| {
                crate::packs::BUNDLED
                    .iter()
                    .try_for_each(|(name, text)| std::fs::write(dir.join(name), text))
            })
            .context("cannot write the built-in packs to a temporary directory")?;
        config.extra_pack_dirs.push(dir);
    }
    let result = evals::run(&config, &args.suite)?;
    drop(extracted);
    let text = report::render(args.format, &result);
    match &args.output {
        Some(path) => {
            super::write_output(path, text.as_bytes())?;
            eprintln!(
                "{} case(s), {} failed; report written to {}",
                result.total(),
                result.failed(),
                path.display()
            );
        }
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())
                .and_then(|_| out.flush())
                .context("cannot write to stdout")?;
        }
    }
    Ok(if result.failed() > 0 {
        Outcome::Findings
    } else {
        Outcome::Clean
    })
}
