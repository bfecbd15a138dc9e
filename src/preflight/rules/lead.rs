//! The lead of a pattern: how every one of its matches begins, read from the pattern itself.
//!
//! A provider token pattern such as `\b(ghp_[A-Za-z0-9]{36})\b` says more than its keyword
//! `ghp_`: a match starts with the literal `ghp_` and at least 36 bytes from
//! `[A-Za-z0-9]` follow it. The keyword prefilter finds every occurrence of `ghp_` anyway; with
//! the lead it can tell, at each occurrence and for a few byte comparisons, whether a match
//! could start there, and hand a line to the rule only when one could. On text dense with
//! token-shaped strings that are not tokens (one character short, a lower-case letter in an
//! upper-case key) the rule's pattern then reads the few lines that matter instead of all of
//! them.
//!
//! A lead is an over-approximation, never an under-: everything a match must hold is checked,
//! some of what it must also hold is not (`\b`, upper bounds, what follows the run). Bytes a
//! pattern allows only as part of a non-ASCII character are left out of the literals: the
//! engine checks leads on ASCII text only.

use regex_syntax::hir::{Class, Hir, HirKind};

/// Literals longer than this, or more of them, are not worth a lead.
const MAX_LITERALS: usize = 64;
const MAX_LITERAL_LEN: usize = 64;
/// A class of at most this many ASCII bytes is expanded into one literal per byte.
const MAX_CLASS_EXPANSION: usize = 10;

/// One byte of a lead literal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pos {
    /// Exactly this byte.
    Byte(u8),
    /// This ASCII letter (lower case) in either case: what `(?i)` makes of a letter.
    Fold(u8),
}

/// A set of bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct ByteSet([u64; 4]);

impl ByteSet {
    fn insert(&mut self, b: u8) {
        self.0[usize::from(b >> 6)] |= 1 << (b & 63);
    }

    fn insert_range(&mut self, from: u8, to: u8) {
        for b in from..=to {
            self.insert(b);
        }
    }

    fn contains(&self, b: u8) -> bool {
        self.0[usize::from(b >> 6)] & (1 << (b & 63)) != 0
    }

    fn union(mut self, other: ByteSet) -> ByteSet {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a |= b;
        }
        self
    }

    fn is_subset(&self, of: &ByteSet) -> bool {
        self.0.iter().zip(of.0).all(|(a, b)| a & !b == 0)
    }
}

/// How every match of a pattern begins: one of `literals`, then at least `min` bytes from
/// `run`.
#[derive(Debug, Clone)]
pub struct Lead {
    literals: Vec<Literal>,
    run: [bool; 256],
    min: usize,
}

/// A lead literal as the bytes to compare with (letters that match in either case in lower
/// case) and a mask OR-ed into the text's byte first (0x20 at such a letter, else 0):
/// `text | mask == byte`.
#[derive(Debug, Clone)]
struct Literal {
    bytes: Vec<u8>,
    masks: Vec<u8>,
}

impl Lead {
    /// The lead of `pattern` (regex crate syntax), when every match starts with one of a few
    /// literals; `None` otherwise (a pattern that can start with any letter, an unparsable
    /// pattern).
    pub fn of(pattern: &str) -> Option<Lead> {
        let hir = regex_syntax::ParserBuilder::new()
            .build()
            .parse(pattern)
            .ok()?;
        let mut atoms = Vec::new();
        flatten(&hir, &mut atoms);
        let mut literals: Vec<Vec<Pos>> = vec![Vec::new()];
        let mut rest = atoms.as_slice();
        while let Some((atom, tail)) = rest.split_first() {
            let Some(next) = literal_set(atom).and_then(|set| product(&literals, &set)) else {
                break;
            };
            literals = next;
            rest = tail;
        }
        if literals.iter().any(Vec::is_empty) {
            return None;
        }
        // The run: the bytes right after the literal. Its class is that of the first part
        // that must match something; parts within that class add their least length.
        let mut run = ByteSet::default();
        let mut min = 0;
        if let Some(first) = rest.iter().find(|a| least_len(a) > 0) {
            run = bytes_of(first);
            for atom in rest {
                if !bytes_of(atom).is_subset(&run) {
                    break;
                }
                min += least_len(atom);
            }
        }
        let literals = literals
            .iter()
            .map(|l| {
                let (bytes, masks) = l
                    .iter()
                    .map(|p| match *p {
                        Pos::Byte(b) => (b, 0),
                        Pos::Fold(l) => (l, 0x20),
                    })
                    .unzip();
                Literal { bytes, masks }
            })
            .collect();
        Some(Lead {
            literals,
            run: std::array::from_fn(|b| run.contains(b as u8)),
            min,
        })
    }

    /// How many literals the lead has.
    pub fn literal_count(&self) -> usize {
        self.literals.len()
    }

    /// Where `keyword` (lower case) stands in literal `i` in every string the literal admits,
    /// up to ASCII case: the offsets a prefilter occurrence of it may sit at inside a match.
    pub fn keyword_offsets(&self, i: usize, keyword: &str) -> Vec<usize> {
        // A position is always the keyword's byte up to case when its byte is: an either-case
        // letter is kept in lower case.
        let literal = &self.literals[i].bytes;
        let k = keyword.as_bytes();
        if k.is_empty() || k.len() > literal.len() {
            return Vec::new();
        }
        (0..=literal.len() - k.len())
            .filter(|&o| {
                literal[o..o + k.len()]
                    .iter()
                    .zip(k)
                    .all(|(b, &c)| b.to_ascii_lowercase() == c)
            })
            .collect()
    }

    /// Whether a match could start at `start` of `text` with literal `i`: the literal is there
    /// and at least the run's least length of run bytes follow it. Runs in the keyword
    /// prefilter's loop, at every occurrence of a keyword that has not yet found a match on its
    /// line: the run's last byte is read first, since a token-shaped string that is too short
    /// fails there.
    #[inline]
    pub fn admits(&self, i: usize, text: &[u8], start: usize) -> bool {
        let Literal { bytes, masks } = &self.literals[i];
        let run_from = start + bytes.len();
        let Some(run) = text.get(run_from..run_from + self.min) else {
            return false;
        };
        if let Some(&last) = run.last()
            && !self.run[usize::from(last)]
        {
            return false;
        }
        text[start..run_from]
            .iter()
            .zip(bytes.iter().zip(masks))
            .all(|(&t, (&b, &m))| t | m == b)
            && run.iter().all(|&b| self.run[usize::from(b)])
    }

    /// Whether a match could start at `start` with any of the literals.
    pub fn admits_any(&self, text: &[u8], start: usize) -> bool {
        (0..self.literals.len()).any(|i| self.admits(i, text, start))
    }

    /// The literals lower-cased, as prefilter keywords: every match contains one of them, up
    /// to ASCII case. `None` when one is shorter than `shortest` bytes or not ASCII.
    pub fn keywords(&self, shortest: usize) -> Option<Vec<String>> {
        let mut out: Vec<String> = Vec::new();
        for literal in &self.literals {
            let word = literal.bytes.to_ascii_lowercase();
            if word.len() < shortest || !word.is_ascii() {
                return None;
            }
            let word = String::from_utf8(word).ok()?;
            if !out.contains(&word) {
                out.push(word);
            }
        }
        Some(out)
    }
}

/// The parts of a pattern in order, with groups and sequences opened up.
fn flatten<'h>(hir: &'h Hir, out: &mut Vec<&'h Hir>) {
    match hir.kind() {
        HirKind::Capture(c) => flatten(&c.sub, out),
        HirKind::Concat(parts) => parts.iter().for_each(|p| flatten(p, out)),
        _ => out.push(hir),
    }
}

/// Every string `hir` matches, when that is a small finite set of literals (zero-width
/// assertions count as the empty string); `None` otherwise.
fn literal_set(hir: &Hir) -> Option<Vec<Vec<Pos>>> {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => Some(vec![Vec::new()]),
        HirKind::Literal(lit) => Some(vec![lit.0.iter().map(|&b| Pos::Byte(b)).collect()]),
        HirKind::Class(class) => {
            let ascii = ascii_members(class);
            match ascii.as_slice() {
                [] => None,
                [a, b] if a.is_ascii_alphabetic() && a.to_ascii_lowercase() == *b => {
                    Some(vec![vec![Pos::Fold(*b)]])
                }
                members if members.len() <= MAX_CLASS_EXPANSION => {
                    Some(members.iter().map(|&b| vec![Pos::Byte(b)]).collect())
                }
                _ => None,
            }
        }
        HirKind::Capture(c) => literal_set(&c.sub),
        HirKind::Concat(parts) => parts.iter().try_fold(vec![Vec::new()], |acc, part| {
            product(&acc, &literal_set(part)?)
        }),
        HirKind::Alternation(alternatives) => {
            let mut all = Vec::new();
            for alternative in alternatives {
                all.extend(literal_set(alternative)?);
                if all.len() > MAX_LITERALS {
                    return None;
                }
            }
            Some(all)
        }
        HirKind::Repetition(rep) => {
            if rep.max != Some(rep.min) || rep.min > 8 {
                return None;
            }
            let one = literal_set(&rep.sub)?;
            (0..rep.min).try_fold(vec![Vec::new()], |acc, _| product(&acc, &one))
        }
    }
}

/// Every literal of `a` followed by every literal of `b`, within the size limits.
fn product(a: &[Vec<Pos>], b: &[Vec<Pos>]) -> Option<Vec<Vec<Pos>>> {
    if a.len() * b.len() > MAX_LITERALS {
        return None;
    }
    let mut out = Vec::with_capacity(a.len() * b.len());
    for x in a {
        for y in b {
            if x.len() + y.len() > MAX_LITERAL_LEN {
                return None;
            }
            out.push([x.as_slice(), y.as_slice()].concat());
        }
    }
    Some(out)
}

/// The ASCII bytes a class admits, in order (upper case sorts before lower case).
fn ascii_members(class: &Class) -> Vec<u8> {
    let mut out = Vec::new();
    match class {
        Class::Unicode(c) => {
            for r in c.iter() {
                let (from, to) = (u32::from(r.start()), u32::from(r.end()).min(0x7f));
                out.extend((from..=to).filter_map(|c| u8::try_from(c).ok()));
            }
        }
        Class::Bytes(c) => {
            for r in c.iter() {
                out.extend((r.start()..=r.end().min(0x7f)).filter(|b| b.is_ascii()));
            }
        }
    }
    out
}

/// Every byte a match of `hir` can contain (all bytes from 0x80 when it can hold a non-ASCII
/// character).
fn bytes_of(hir: &Hir) -> ByteSet {
    let mut set = ByteSet::default();
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => {}
        HirKind::Literal(lit) => lit.0.iter().for_each(|&b| set.insert(b)),
        HirKind::Class(Class::Unicode(c)) => {
            for r in c.iter() {
                let (from, to) = (u32::from(r.start()), u32::from(r.end()));
                if from <= 0x7f {
                    set.insert_range(from as u8, to.min(0x7f) as u8);
                }
                if to > 0x7f {
                    set.insert_range(0x80, 0xff);
                }
            }
        }
        HirKind::Class(Class::Bytes(c)) => {
            c.iter().for_each(|r| set.insert_range(r.start(), r.end()))
        }
        HirKind::Capture(c) => set = bytes_of(&c.sub),
        HirKind::Repetition(r) => set = bytes_of(&r.sub),
        HirKind::Concat(parts) | HirKind::Alternation(parts) => {
            set = parts.iter().fold(set, |s, p| s.union(bytes_of(p)));
        }
    }
    set
}

/// The fewest bytes a match of `hir` has.
fn least_len(hir: &Hir) -> usize {
    hir.properties().minimum_len().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn literals(lead: &Lead) -> Vec<String> {
        lead.literals
            .iter()
            .map(|l| {
                l.bytes
                    .iter()
                    .zip(&l.masks)
                    .map(|(&b, &m)| match m {
                        0 => char::from(b).to_string(),
                        _ => format!("[{}]", char::from(b)),
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn reads_literal_and_run_from_token_patterns() {
        let aws = Lead::of(r"\b((?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})\b").unwrap();
        let mut lits = literals(&aws);
        lits.sort();
        assert_eq!(lits, ["ABIA", "ACCA", "AKIA", "ASIA"]);
        assert_eq!(aws.min, 16);
        let gh = Lead::of(r"\b(gh[pousr]_[A-Za-z0-9]{36})\b").unwrap();
        assert_eq!(gh.literal_count(), 5);
        assert_eq!(gh.min, 36);
        // The optional infix, the marker and both runs are all in the body's class.
        let openai = Lead::of(
            r"\b(sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}T3BlbkFJ[A-Za-z0-9_-]{20,})",
        )
        .unwrap();
        assert_eq!(literals(&openai), ["sk-"]);
        assert_eq!(openai.min, 48);
        // A separator outside the class ends the run.
        let slack = Lead::of(r"\b(xox[baposr]-[0-9]{8,13}-[0-9A-Za-z-]{10,})").unwrap();
        assert_eq!((slack.literal_count(), slack.min), (6, 8));
        // Case-insensitive letters fold; `s` and `k` also admit `ſ` and `K`, which are left out.
        let password = Lead::of(r#"(?i)password\s*[:=]\s*["'][^"']{8,}["']"#).unwrap();
        assert_eq!(literals(&password), ["[p][a][s][s][w][o][r][d]"]);
        assert_eq!(password.keywords(2).unwrap(), ["password"]);
        let key = Lead::of(r"-----BEGIN [A-Z ]*PRIVATE KEY-----").unwrap();
        assert_eq!(literals(&key), ["-----BEGIN "]);
        assert_eq!(key.min, 0);
        // No literal every match starts with: no lead.
        for pattern in [
            r"[A-Za-z0-9]{14}\.atlasv1",
            r"\b([0-9]{8,10}:AA[A-Za-z0-9_-]{33})",
            "a|b*",
            "(",
            "",
        ] {
            assert!(Lead::of(pattern).is_none(), "{pattern}");
        }
    }

    #[test]
    fn admits_where_a_match_can_start() {
        let gh = Lead::of(r"\b(gh[pousr]_[A-Za-z0-9]{36})\b").unwrap();
        let token = format!("x ghp_{} y", "a".repeat(36));
        let short = format!("x ghp_{} y", "a".repeat(35));
        assert!(gh.admits_any(token.as_bytes(), 2));
        assert!(!gh.admits_any(short.as_bytes(), 2));
        assert!(!gh.admits_any(token.as_bytes(), 1));
        assert!(!gh.admits_any("GHP_".as_bytes(), 0));
        let i = (0..5).find(|&i| gh.admits(i, token.as_bytes(), 2)).unwrap();
        assert_eq!(gh.keyword_offsets(i, "ghp_"), [0]);
        assert_eq!(gh.keyword_offsets(i, "hp_"), [1]);
        assert!(gh.keyword_offsets(i, "gho_").is_empty());
        // `[pousr]` is not always `p`: `gh` is always there, the third byte is not.
        let stripe = Lead::of(r"\b((?:sk|rk)_live_[A-Za-z0-9]{24,})").unwrap();
        let offsets: Vec<Vec<usize>> = (0..2)
            .map(|i| stripe.keyword_offsets(i, "_live_"))
            .collect();
        assert_eq!(offsets, [[2], [2]]);
        let password = Lead::of(r"(?i)password\s*=").unwrap();
        assert!(password.admits_any(b"PassWord =", 0));
        assert!(!password.admits_any(b"passwort =", 0));
    }
}
