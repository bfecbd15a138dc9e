//! What the labelled corpus tests share: a fixed-seed generator, running a rule as the engine
//! does, recall/precision tallies, and writing a section of docs/accuracy.md.

use factory::preflight::diff::FileDiff;
use factory::preflight::rules::Rule;

/// splitmix64: a tiny fixed-seed generator, so a corpus is the same on every run.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

/// Run a rule as the engine does: only when one of its keywords occurs in the added text.
pub fn fires(rule: &dyn Rule, file: &FileDiff, lowered: &str) -> bool {
    let keywords = rule.keywords();
    if !keywords.is_empty() && !keywords.iter().any(|k| lowered.contains(k)) {
        return false;
    }
    let mut out = Vec::new();
    rule.check(file, &mut out);
    out.iter().any(|f| f.rule_id == rule.meta().id)
}

/// True positives, false positives and false negatives of one rule (or all).
#[derive(Default)]
pub struct Tally {
    pub tp: u32,
    pub fp: u32,
    pub fn_: u32,
}

impl Tally {
    pub fn recall(&self) -> f64 {
        f64::from(self.tp) / f64::from((self.tp + self.fn_).max(1))
    }

    pub fn precision(&self) -> f64 {
        f64::from(self.tp) / f64::from((self.tp + self.fp).max(1))
    }
}

/// Replace the `## {heading}` section of docs/accuracy.md with `section` (which starts with that
/// heading), or insert it before `## {before}` when given and present, else append it.
pub fn update_accuracy_doc(heading: &str, section: &str, before: Option<&str>) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/accuracy.md");
    let existing = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        "# Detection accuracy\n\nRecall and precision of the preflight rules on labelled corpora that the test suite generates deterministically.\n".to_string()
    });
    let marker = format!("## {heading}");
    let updated = match existing.find(&marker) {
        Some(start) => {
            let rest = &existing[start + 2..];
            let end = rest
                .find("\n## ")
                .map(|i| start + 2 + i + 1)
                .unwrap_or(existing.len());
            format!("{}{}{}", &existing[..start], section, &existing[end..])
        }
        None => match before.and_then(|b| existing.find(&format!("## {b}"))) {
            Some(at) => format!("{}{}{}", &existing[..at], section, &existing[at..]),
            None => format!("{}\n{}", existing.trim_end_matches('\n'), section),
        },
    };
    std::fs::write(&path, updated).expect("write docs/accuracy.md");
}
