//! Preflight engine benchmark on in-memory diffs: the whole engine (built-in rules, plus the
//! bench pack's five keyword-less regex rules) next to the keyword-prefilter ceiling (one
//! overlapping Aho-Corasick scan of the same bytes with the engine's own keyword automaton,
//! nothing else), measured in the same process so the ratio between them is meaningful.
//!
//!   cargo bench --bench preflight                      # generates the dense 50 MiB diff
//!   cargo bench --bench preflight -- a.diff b.diff     # diffs of your own
//!   PREFLIGHT_BENCH_RULES=1 cargo bench --bench preflight -- a.diff   # where the time goes
//!
//! Pin it to one core (`taskset -c 0 cargo bench …`, or `bench/preflight.sh`, which does).
//! Each figure is the best of three runs.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use factory::preflight::engine::Engine;
use factory::preflight::rules::{self, Rule};

const RUNS: usize = 3;

fn best<T>(mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut last = None;
    for _ in 0..RUNS {
        let start = Instant::now();
        let out = f();
        best = best.min(start.elapsed());
        last = Some(out);
    }
    (best, last.expect("at least one run"))
}

fn mb_per_s(bytes: usize, t: Duration) -> f64 {
    bytes as f64 / 1e6 / t.as_secs_f64()
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rules_with_pack() -> Vec<Box<dyn Rule>> {
    let mut all = rules::builtin();
    all.extend(
        factory::preflight::packs::load(&root().join("bench/preflight-pack.json"))
            .expect("bench pack loads"),
    );
    all
}

fn load(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn generated_dense() -> Vec<u8> {
    let out = Command::new("python3")
        .arg(root().join("bench/preflight_gen.py"))
        .args(["50", "42", "--dense"])
        .output()
        .expect("python3 runs bench/preflight_gen.py");
    assert!(out.status.success(), "preflight_gen.py failed");
    out.stdout
}

fn bench(name: &str, diff: &[u8], per_rule: bool) {
    let bytes = diff.len();
    let builtin = Engine::new(rules::builtin(), None);
    let with_pack = Engine::new(rules_with_pack(), None);

    let (t_ceiling, matches) = best(|| builtin.keyword_scan(diff));
    let (t_builtin, report) = best(|| builtin.scan(diff).expect("diff parses"));
    let (t_pack, _) = best(|| with_pack.scan(diff).expect("diff parses"));
    let ceiling = mb_per_s(bytes, t_ceiling);
    println!(
        "{name}: {:.1} MB, {} files, {} findings (built-in rules)",
        bytes as f64 / 1e6,
        report.files_scanned,
        report.findings.len()
    );
    println!(
        "  keyword-prefilter ceiling   {:>7.1} MB/s  ({matches} keyword hits)",
        ceiling
    );
    for (label, t) in [
        ("engine, built-in rules   ", t_builtin),
        ("engine, + bench pack     ", t_pack),
    ] {
        let v = mb_per_s(bytes, t);
        println!(
            "  {label}  {v:>7.1} MB/s  ({:.3} s, {:.2}x of the ceiling)",
            t.as_secs_f64(),
            v / ceiling
        );
    }

    if per_rule {
        // One more run of the engine with the stage clock on: where its time goes.
        let profiled = Engine::new(rules_with_pack(), None).profiled();
        profiled.scan(diff).expect("diff parses");
        let p = profiled.profile().expect("profiled");
        let rules: Duration = p.rules.iter().map(|r| r.1).sum();
        let total = p.parse + p.decode + p.prefilter + rules + p.after;
        let share = |t: Duration| 100.0 * t.as_secs_f64() / total.as_secs_f64();
        println!(
            "  where the engine's time goes (+ bench pack, one run, {:.3} s):",
            total.as_secs_f64()
        );
        for (stage, t) in [
            ("parse", p.parse),
            ("decode", p.decode),
            ("keyword prefilter", p.prefilter),
            ("rules", rules),
            ("after the rules", p.after),
        ] {
            println!(
                "    {:>8.1} ms  {:>5.1}%  {stage}",
                t.as_secs_f64() * 1e3,
                share(t)
            );
        }
        let mut by_rule = p.rules.clone();
        by_rule.sort_by_key(|r| std::cmp::Reverse(r.1));
        println!("  rules, slowest first:");
        for (id, t) in by_rule.iter().take(20) {
            println!(
                "    {:>8.1} ms  {:>5.1}%  {id}",
                t.as_secs_f64() * 1e3,
                share(*t)
            );
        }
    }
}

fn main() {
    let per_rule = std::env::var_os("PREFLIGHT_BENCH_RULES").is_some();
    let paths: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    if paths.is_empty() {
        bench("dense (generated, seed 42)", &generated_dense(), per_rule);
    }
    for p in paths {
        bench(&p, &load(Path::new(&p)), per_rule);
    }
}
