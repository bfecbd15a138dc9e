//! Version ordering good enough to decide OSV ranges across ecosystems: semver (with
//! pre-releases), PEP 440 forms (`1.2rc1`, `1.2.post1`, `1.2.dev0`, epochs), Go (`v1.2.3`,
//! pseudo-versions), RubyGems (`1.2.3.pre`) and crates.io.
//!
//! Limits: local version labels (`+local`) and build metadata are ignored; ordering of
//! exotic suffixes falls back to a lexical comparison.

use std::cmp::Ordering;

#[derive(Debug, PartialEq, Eq)]
enum Token {
    Num(u64),
    Word(String),
}

/// A parsed version: epoch, numeric release, and suffix tokens.
#[derive(Debug)]
struct Parsed {
    epoch: u64,
    release: Vec<u64>,
    suffix: Vec<Token>,
}

fn parse(raw: &str) -> Parsed {
    let s = raw.trim().trim_start_matches(['v', 'V', '=']);
    let s = s.split('+').next().unwrap_or(s);
    let (epoch, s) = match s.split_once('!') {
        Some((e, rest)) if e.chars().all(|c| c.is_ascii_digit()) => (e.parse().unwrap_or(0), rest),
        _ => (0, s),
    };
    let mut release = Vec::new();
    let mut rest = s;
    loop {
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 {
            break;
        }
        release.push(rest[..digits].parse().unwrap_or(u64::MAX));
        rest = &rest[digits..];
        if let Some(after) = rest.strip_prefix('.')
            && after.starts_with(|c: char| c.is_ascii_digit())
        {
            rest = after;
            continue;
        }
        break;
    }
    let mut suffix = Vec::new();
    let mut current = String::new();
    let mut numeric = false;
    let push = |current: &mut String, numeric: bool, suffix: &mut Vec<Token>| {
        if current.is_empty() {
            return;
        }
        suffix.push(if numeric {
            Token::Num(current.parse().unwrap_or(u64::MAX))
        } else {
            Token::Word(current.to_ascii_lowercase())
        });
        current.clear();
    };
    for c in rest.chars() {
        if c.is_ascii_alphanumeric() {
            let is_digit = c.is_ascii_digit();
            if !current.is_empty() && is_digit != numeric {
                push(&mut current, numeric, &mut suffix);
            }
            numeric = is_digit;
            current.push(c);
        } else {
            push(&mut current, numeric, &mut suffix);
        }
    }
    push(&mut current, numeric, &mut suffix);
    Parsed {
        epoch,
        release,
        suffix,
    }
}

/// Where a suffix word sorts relative to the plain release (which ranks 4).
fn rank(word: &str) -> Option<u8> {
    Some(match word {
        "dev" | "snapshot" => 0,
        "a" | "alpha" => 1,
        "b" | "beta" => 2,
        "pre" | "preview" | "c" | "rc" | "cr" => 3,
        "post" | "p" | "r" | "rev" | "patch" | "pl" => 5,
        _ => return None,
    })
}

fn suffix_rank(suffix: &[Token]) -> u8 {
    match suffix.first() {
        None => 4,
        Some(Token::Num(_)) => 5, // `1.0-1`: a post-release in PEP 440 and Debian style
        Some(Token::Word(w)) => rank(w).unwrap_or(2),
    }
}

fn cmp_tokens(a: &[Token], b: &[Token]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let o = match (x, y) {
            (Token::Num(p), Token::Num(q)) => p.cmp(q),
            (Token::Num(_), Token::Word(_)) => Ordering::Less,
            (Token::Word(_), Token::Num(_)) => Ordering::Greater,
            (Token::Word(p), Token::Word(q)) => match (rank(p), rank(q)) {
                (Some(r), Some(s)) if r != s => r.cmp(&s),
                _ => p.cmp(q),
            },
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    a.len().cmp(&b.len())
}

/// Compare two versions of the same package.
pub fn compare(a: &str, b: &str) -> Ordering {
    let (pa, pb) = (parse(a), parse(b));
    pa.epoch
        .cmp(&pb.epoch)
        .then_with(|| {
            let n = pa.release.len().max(pb.release.len());
            (0..n)
                .map(|i| {
                    let x = pa.release.get(i).copied().unwrap_or(0);
                    let y = pb.release.get(i).copied().unwrap_or(0);
                    x.cmp(&y)
                })
                .find(|o| *o != Ordering::Equal)
                .unwrap_or(Ordering::Equal)
        })
        .then_with(|| suffix_rank(&pa.suffix).cmp(&suffix_rank(&pb.suffix)))
        .then_with(|| cmp_tokens(&pa.suffix, &pb.suffix))
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ordering::*;

    #[test]
    fn orders_common_forms() {
        let cases = [
            ("1.2.3", "1.2.10", Less),
            ("1.2", "1.2.0", Equal),
            ("v1.2.3", "1.2.3", Equal),
            ("1.0.0-alpha", "1.0.0", Less),
            ("1.0.0-alpha.1", "1.0.0-alpha.beta", Less),
            ("1.0.0-beta.2", "1.0.0-beta.11", Less),
            ("1.0.0-rc.1", "1.0.0", Less),
            ("1.0.0+build.5", "1.0.0", Equal),
            ("2.0rc1", "2.0", Less),
            ("2.0.dev0", "2.0a1", Less),
            ("2.0a1", "2.0b1", Less),
            ("2.0.post1", "2.0", Greater),
            ("1!1.0", "2.0", Greater),
            ("0.0.0-20200101000000-abcdef123456", "0.1.0", Less),
            ("1.2.3.pre", "1.2.3", Less),
            ("4.17.21", "4.17.20", Greater),
        ];
        for (a, b, want) in cases {
            assert_eq!(compare(a, b), want, "{a} vs {b}");
            assert_eq!(compare(b, a), want.reverse(), "{b} vs {a}");
        }
    }
}
