//! Labelled corpus for the secret rules, generated deterministically.
//!
//! Positives: every secret rule's documented failing example, with the random part of each
//! token re-drawn many times (each character replaced by one drawn from the characters that
//! token already uses, so formats stay valid), placed in files of several kinds. Negatives:
//! every rule's passing example plus hard look-alikes: commit SHAs, digests, UUIDs, lockfile
//! integrity lines, documented example keys, placeholders, environment reads, data URIs.
//! All secret rules run on every case behind the keyword prefilter, as the engine runs them.
//! The test fails when recall or precision of the category falls below 0.95.
//!
//! `UPDATE_ACCURACY=1 cargo test --test secrets_corpus` rewrites the "Secrets" section of
//! docs/accuracy.md.

mod support;

use std::collections::BTreeMap;

use factory::findings::Category;
use factory::preflight::diff::FileDiff;
use factory::preflight::rules::{Rule, builtin};

use support::corpus::{Rng, Tally, fires, update_accuracy_doc};

/// Re-draw the random part of every token-like run (16+ alphanumerics) after its first eight
/// characters, from the characters the run already uses. JWT segments keep their header.
fn redraw(rng: &mut Rng, text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = chars.clone();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_alphanumeric() {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && chars[i].is_ascii_alphanumeric() {
            i += 1;
        }
        let run = &chars[start..i];
        let prev = if start > 0 { chars[start - 1] } else { ' ' };
        if run.len() < 16
            || run.starts_with(&['e', 'y', 'J'])
            || prev == '.' && text.contains("eyJ")
        {
            continue;
        }
        // Each character is replaced by one of the same class (digit, lower, upper) drawn from
        // the token body, so hex stays hex and digit-only fields stay digits.
        let body = &run[8..];
        let class_of = |c: char| (c.is_ascii_digit(), c.is_ascii_lowercase());
        // Format markers inside a token (OpenAI's `T3BlbkFJ`) stay where they are.
        let run_text: String = run.iter().collect();
        let keep = run_text
            .find("T3BlbkFJ")
            .map(|k| (start + k, start + k + 8));
        for at in start + 8..i {
            if keep.is_some_and(|(a, b)| (a..b).contains(&at)) {
                continue;
            }
            let same: Vec<char> = body
                .iter()
                .copied()
                .filter(|c| class_of(*c) == class_of(chars[at]))
                .collect();
            out[at] = same[(rng.next() % same.len() as u64) as usize];
        }
    }
    out.into_iter().collect()
}

const HARD_NEGATIVES: &[(&str, &str)] = &[
    (
        "src/version.rs",
        "pub const COMMIT: &str = \"9fceb02d0ae598e95dc970b74767f19372d61af8\";",
    ),
    (
        "Dockerfile",
        "FROM alpine@sha256:c5b1261d6d3e43071626931fc004f70149baeba2c8ec672bd4f27761f8e1ad6b",
    ),
    (
        "src/ids.ts",
        "const requestId = \"3f2504e0-4f89-11d3-9a0c-0305e82c3301\";",
    ),
    (
        "package-lock.json",
        "      \"integrity\": \"sha512-v2kDEe57lecTulaDIuNTPy3Ry4gLGJ6Z1O3vE1krgXZNrsQ+LFTGHVxVjcXPs17LhbZVGedAJv8XZ1tvj5FvSg==\",",
    ),
    (
        "Cargo.lock",
        "checksum = \"0c8c3b7c3b8d4e28b4f7d3f6f0a9e5c1d2b3a4f5e6d7c8b9a0f1e2d3c4b5a697\"",
    ),
    (
        "go.sum",
        "golang.org/x/net v0.17.0 h1:pVaXccu2ozPjCXewfr1S2xoYXHLLiEvpiTsf4uWq9bg=",
    ),
    (
        "requirements.txt",
        "requests==2.31.0 --hash=sha256:58cd2187c01e70e6e26505bca751777aa9f2ee0b7f4300988b709f44e013003f",
    ),
    ("docs/aws.md", "aws_access_key_id = AKIAIOSFODNN7EXAMPLE"),
    (
        "docs/aws.md",
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    ),
    (
        "app/settings.py",
        "SECRET_KEY = os.environ[\"DJANGO_SECRET_KEY\"]",
    ),
    (
        "app/settings.py",
        "DATABASE_URL = \"postgres://app:${DB_PASSWORD}@db:5432/app\"",
    ),
    ("app/settings.py", "password = \"changeme\""),
    (
        "src/config.ts",
        "const apiKey = process.env.STRIPE_SECRET_KEY ?? \"\";",
    ),
    (
        "config/app.yml",
        "github_token: \"{{ secrets.GITHUB_TOKEN }}\"",
    ),
    (
        "web/logo.css",
        ".logo { background: url(data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==); }",
    ),
    (
        "web/theme.css",
        ".btn { color: #1f2937; border-color: #3b82f6; }",
    ),
    (
        "src/handlers.rs",
        "fn handle_password_reset_token_expiration_for_enterprise_accounts() {}",
    ),
    (
        "README.md",
        "Set `OPENAI_API_KEY` to a key that starts with `sk-proj-`.",
    ),
    ("app/auth.py", "token_type = \"Bearer\""),
    (
        "tests/fixtures.py",
        "TEST_TOKEN = \"ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"",
    ),
    (
        "src/stripe.ts",
        "const key = \"sk_test_4eC39HqLyjWDarjtT1zdp7dc\";",
    ),
    (
        "deploy/k8s.yml",
        "          secretKeyRef: { name: db-credentials, key: password }",
    ),
    (
        "src/crypto.rs",
        "const PEM_HEADER: &str = \"-----BEGIN RSA PRIVATE KEY-----\";",
    ),
    (
        "app/users.py",
        "password_hash = bcrypt.hashpw(password.encode(), bcrypt.gensalt(12))",
    ),
    ("config/settings.ini", "session_timeout = 3600"),
    (
        "src/routes.ts",
        "router.post('/api/token/refresh', refreshHandler);",
    ),
    (".env.example", "SLACK_BOT_TOKEN=xoxb-your-token-here"),
    (
        "scripts/release.sh",
        "echo \"$NPM_TOKEN\" | npm login --registry https://registry.npmjs.org",
    ),
];

const CONTEXTS: &[&str] = &["", "config/", "deploy/prod/", "src/legacy/"];

#[test]
fn secret_rules_meet_recall_and_precision_targets() {
    let rules: Vec<Box<dyn Rule>> = builtin()
        .into_iter()
        .filter(|r| r.meta().category == Category::Secret)
        .collect();
    assert!(rules.len() >= 40, "{} secret rules", rules.len());
    let mut rng = Rng(0x5EC2_E750);
    // (label, path, text)
    let mut cases: Vec<(Option<&'static str>, String, String)> = Vec::new();
    for rule in &rules {
        let meta = rule.meta();
        for context in CONTEXTS {
            for _ in 0..10 {
                cases.push((
                    Some(meta.id),
                    format!("{context}{}", meta.example_path),
                    redraw(&mut rng, meta.fails),
                ));
            }
            cases.push((
                None,
                format!("{context}{}", meta.example_path),
                meta.passes.to_string(),
            ));
        }
    }
    for context in CONTEXTS {
        for (path, text) in HARD_NEGATIVES {
            cases.push((None, format!("{context}{path}"), text.to_string()));
        }
    }
    let mut tallies: BTreeMap<&str, Tally> = rules
        .iter()
        .map(|r| (r.meta().id, Tally::default()))
        .collect();
    let mut misses = Vec::new();
    for (label, path, text) in &cases {
        let file = FileDiff::new_file(path, text);
        let lowered = text.to_ascii_lowercase();
        for rule in &rules {
            let id = rule.meta().id;
            let fired = fires(rule.as_ref(), &file, &lowered);
            let t = tallies.get_mut(id).expect("tallied");
            match (*label == Some(id), fired) {
                (true, true) => t.tp += 1,
                (true, false) => {
                    t.fn_ += 1;
                    misses.push(format!("missed {id} in {path}"));
                }
                // Another secret rule also recognising a labelled secret is not a false alarm.
                (false, true) if label.is_some() => {}
                (false, true) => {
                    t.fp += 1;
                    misses.push(format!("false {id} in {path}: {text}"));
                }
                (false, false) => {}
            }
        }
    }
    let mut total = Tally::default();
    let mut table = String::from(
        "| rule | true positives | false positives | false negatives | recall | precision |\n|---|---:|---:|---:|---:|---:|\n",
    );
    for (id, t) in &tallies {
        total.tp += t.tp;
        total.fp += t.fp;
        total.fn_ += t.fn_;
        table.push_str(&format!(
            "| `{id}` | {} | {} | {} | {:.3} | {:.3} |\n",
            t.tp,
            t.fp,
            t.fn_,
            t.recall(),
            t.precision()
        ));
    }
    table.push_str(&format!(
        "| **all secrets** | {} | {} | {} | **{:.3}** | **{:.3}** |\n",
        total.tp,
        total.fp,
        total.fn_,
        total.recall(),
        total.precision()
    ));
    println!("{} cases\n{table}", cases.len());
    for m in misses.iter().take(30) {
        println!("{m}");
    }
    if std::env::var_os("UPDATE_ACCURACY").is_some() {
        update_doc(cases.len(), &table);
    }
    assert!(
        total.recall() >= 0.95,
        "secret recall {:.3} below 0.95",
        total.recall()
    );
    assert!(
        total.precision() >= 0.95,
        "secret precision {:.3} below 0.95",
        total.precision()
    );
}

fn update_doc(cases: usize, table: &str) {
    let section = format!(
        "## Secrets\n\nGenerated by `tests/secrets_corpus.rs` ({cases} cases): each rule's failing example with its random part re-drawn ten times per context (four directory contexts), each rule's passing example, and {} hard look-alikes (commit SHAs, image digests, UUIDs, lockfile integrity hashes, AWS's documented example keys, placeholders, environment reads, secret-store references, data URIs, Stripe test keys). Regenerate with `UPDATE_ACCURACY=1 cargo test --test secrets_corpus`.\n\nAs for the patterns, the corpus is written alongside the rules: these figures show the known formats are caught and the known look-alikes are not.\n\n{table}\n",
        HARD_NEGATIVES.len()
    );
    update_accuracy_doc("Secrets", &section, Some("Patterns"));
}
