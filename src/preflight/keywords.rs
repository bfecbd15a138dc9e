//! The keyword prefilter: which rules' keywords occur in a line, ASCII case-insensitive and
//! overlapping (`sk-ant-` reports `sk-ant-`, `sk-` and `sk`).
//!
//! It is an Aho-Corasick DFA (the `aho-corasick` crate's), walked by our own loop rather than
//! the crate's overlapping iterator. A DFA walk is a chain of dependent table lookups, so one
//! walk leaves most of the core idle; a line of 64 bytes or more is cut in two halves walked
//! side by side, two independent chains the processor overlaps. On keyword-dense text that
//! reads about 1.6 times as fast as the crate's iterator (docs/performance.md). Each
//! occurrence is still reported exactly once: the first half runs on past the middle far
//! enough to finish a keyword that starts before it, and reports only those.

use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::dfa::DFA;
use aho_corasick::{Anchored, MatchKind, StartKind};

/// Lines shorter than this are walked in one piece: two lanes would not pay for their setup.
const SPLIT_AT: usize = 64;

/// The compiled keywords of every rule.
pub struct Keywords {
    dfa: DFA,
    start: StateID,
    /// Length of each keyword, by pattern index.
    lengths: Vec<usize>,
    /// The longest keyword's length.
    longest: usize,
}

impl Keywords {
    /// Compile `keywords` (already lower-cased, each non-empty); `None` when there are none.
    pub fn new(keywords: &[String]) -> Option<Keywords> {
        if keywords.is_empty() {
            return None;
        }
        let dfa = aho_corasick::dfa::Builder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .start_kind(StartKind::Unanchored)
            .build(keywords)
            .expect("keywords build an automaton");
        let start = dfa
            .start_state(Anchored::No)
            .expect("an unanchored start state exists");
        let lengths: Vec<usize> = keywords.iter().map(String::len).collect();
        Some(Keywords {
            dfa,
            start,
            longest: lengths.iter().copied().max().unwrap_or(1),
            lengths,
        })
    }

    /// Call `found(p)` once for every occurrence of keyword `p` in `text`, in no particular
    /// order.
    pub fn each(&self, text: &[u8], mut found: impl FnMut(usize)) {
        let found: &mut dyn FnMut(usize) = &mut found;
        let n = text.len();
        if n < SPLIT_AT {
            let mut sid = self.start;
            for (i, &byte) in text.iter().enumerate() {
                sid = self.dfa.next_state(Anchored::No, sid, byte);
                if self.dfa.is_special(sid) {
                    self.report(sid, i + 1, usize::MAX, found);
                }
            }
            return;
        }
        // The first lane reports occurrences that start before `mid` (and may end up to
        // `longest - 1` bytes after it); the second those that start at `mid` or later.
        let mid = n / 2;
        let first = &text[..(mid + self.longest - 1).min(n)];
        let second = &text[mid..];
        let (mut a, mut b) = (self.start, self.start);
        let common = first.len().min(second.len());
        for (i, (&x, &y)) in first.iter().zip(second).enumerate() {
            a = self.dfa.next_state(Anchored::No, a, x);
            b = self.dfa.next_state(Anchored::No, b, y);
            if self.dfa.is_special(a) {
                self.report(a, i + 1, mid, found);
            }
            if self.dfa.is_special(b) {
                self.report(b, i + 1, usize::MAX, found);
            }
        }
        for (i, &byte) in first.iter().enumerate().skip(common) {
            a = self.dfa.next_state(Anchored::No, a, byte);
            if self.dfa.is_special(a) {
                self.report(a, i + 1, mid, found);
            }
        }
        for (i, &byte) in second.iter().enumerate().skip(common) {
            b = self.dfa.next_state(Anchored::No, b, byte);
            if self.dfa.is_special(b) {
                self.report(b, i + 1, usize::MAX, found);
            }
        }
    }

    /// How many keyword occurrences `text` holds (the benchmark's ceiling).
    pub fn count(&self, text: &[u8]) -> usize {
        let mut n = 0;
        self.each(text, |_| n += 1);
        n
    }

    /// The keywords of special state `sid` (a match state, or the start state) that end at
    /// `end` and start before `before`. Kept out of line so the walk's loop stays small.
    #[inline(never)]
    fn report(&self, sid: StateID, end: usize, before: usize, found: &mut dyn FnMut(usize)) {
        if !self.dfa.is_match(sid) {
            return;
        }
        for i in 0..self.dfa.match_len(sid) {
            let p = self.dfa.match_pattern(sid, i).as_usize();
            if end - self.lengths[p] < before {
                found(p);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aho_corasick::AhoCorasickBuilder;

    /// Every (start, pattern) occurrence, from the crate's own overlapping iterator.
    fn reference(keywords: &[String], text: &[u8]) -> Vec<usize> {
        let ac = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .build(keywords)
            .unwrap();
        let mut out: Vec<usize> = ac
            .find_overlapping_iter(text)
            .map(|m| m.pattern().as_usize())
            .collect();
        out.sort_unstable();
        out
    }

    fn ours(keywords: &Keywords, text: &[u8]) -> Vec<usize> {
        let mut out = Vec::new();
        keywords.each(text, |p| out.push(p));
        out.sort_unstable();
        out
    }

    #[test]
    fn reports_what_the_overlapping_iterator_reports_exactly_once() {
        let words: Vec<String> = [
            "sk", "sk-", "sk-ant-", "key", "akia", "password", "pass", "::", "~",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let keywords = Keywords::new(&words).unwrap();
        // One-byte keywords only: the second lane is the longer one.
        let tilde = vec!["~".to_string()];
        let tilde_only = Keywords::new(&tilde).unwrap();
        // Lines of every length around the split, keywords at and across the middle, in both
        // cases, back to back and overlapping.
        let pieces = [
            "x", "sk-ant-", "PASSWORD", "akiA", "keykey", "::::", "passpass", "sK-", "  ", "~",
        ];
        let mut text = String::new();
        for round in 0..400 {
            text.push_str(pieces[(round * 7 + round / 3) % pieces.len()]);
            for cut in [text.len(), text.len().saturating_sub(3)] {
                let t = &text.as_bytes()[..cut];
                assert_eq!(ours(&keywords, t), reference(&words, t), "{cut}: {text}");
                assert_eq!(ours(&tilde_only, t), reference(&tilde, t), "{cut}: {text}");
                // The same with the middle moved by one byte.
                let shifted = [b"y", t].concat();
                assert_eq!(ours(&keywords, &shifted), reference(&words, &shifted));
            }
        }
        assert_eq!(keywords.count(b"SK-ANT-"), 3);
    }

    #[test]
    fn no_keywords_no_automaton() {
        assert!(Keywords::new(&[]).is_none());
    }
}
