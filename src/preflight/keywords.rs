//! The keyword prefilter: which rules' keywords occur in a line, ASCII case-insensitive and
//! overlapping (`sk-ant-` reports `sk-ant-`, `sk-` and `sk`).
//!
//! It is an Aho-Corasick DFA (the `aho-corasick` crate's), walked by our own loop rather than
//! the crate's overlapping iterator. A DFA walk is a chain of dependent table lookups, so one
//! walk leaves most of the core idle; a line of 64 bytes or more is cut in two halves (512 bytes
//! or more: four quarters) walked side by side, independent chains the processor overlaps. On
//! keyword-dense text two lanes read about 1.6 times as fast as the crate's iterator, four a
//! little faster again (docs/performance.md). Each occurrence is still reported exactly once:
//! a lane runs on past the end of its part far enough to finish a keyword that starts inside
//! it, and reports only those.

use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::dfa::DFA;
use aho_corasick::{Anchored, MatchKind, StartKind};

/// Lines shorter than this are walked in one piece: two lanes would not pay for their setup.
const SPLIT_AT: usize = 64;
/// Lines at least this long are walked in four lanes.
const SPLIT4_AT: usize = 512;

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

    /// Call `found(p, start)` once for every occurrence of keyword `p` in `text` (starting at
    /// byte `start`), in no particular order.
    pub fn each(&self, text: &[u8], mut found: impl FnMut(usize, usize)) {
        let found: &mut dyn FnMut(usize, usize) = &mut found;
        match text.len() {
            n if n < SPLIT_AT => self.walk::<1>(text, found),
            n if n < SPLIT4_AT => self.walk::<2>(text, found),
            _ => self.walk::<4>(text, found),
        }
    }

    /// Walk `text` in `L` lanes side by side: lane `i` reports the occurrences that start in
    /// its `i`-th of `L` equal parts of the text, and reads on past the part's end far enough
    /// to finish a keyword that starts inside it.
    #[inline(always)]
    fn walk<const L: usize>(&self, text: &[u8], found: &mut dyn FnMut(usize, usize)) {
        let n = text.len();
        let begin: [usize; L] = std::array::from_fn(|i| n * i / L);
        // Occurrences a lane reports start before this offset.
        let before: [usize; L] =
            std::array::from_fn(|i| if i + 1 < L { begin[i + 1] } else { usize::MAX });
        let lane: [&[u8]; L] = std::array::from_fn(|i| {
            let end = if i + 1 < L {
                (begin[i + 1] + self.longest - 1).min(n)
            } else {
                n
            };
            &text[begin[i]..end]
        });
        let mut sid = [self.start; L];
        let common = lane.iter().map(|l| l.len()).min().unwrap_or(0);
        // One offset into every lane per step: the lanes advance together.
        #[expect(
            clippy::needless_range_loop,
            reason = "indexes all lanes at one offset"
        )]
        for j in 0..common {
            for i in 0..L {
                sid[i] = self.dfa.next_state(Anchored::No, sid[i], lane[i][j]);
                if self.dfa.is_special(sid[i]) {
                    self.report(sid[i], begin[i] + j + 1, before[i], found);
                }
            }
        }
        for i in 0..L {
            for (j, &byte) in lane[i].iter().enumerate().skip(common) {
                sid[i] = self.dfa.next_state(Anchored::No, sid[i], byte);
                if self.dfa.is_special(sid[i]) {
                    self.report(sid[i], begin[i] + j + 1, before[i], found);
                }
            }
        }
    }

    /// How many keyword occurrences `text` holds (the benchmark's ceiling).
    pub fn count(&self, text: &[u8]) -> usize {
        let mut n = 0;
        self.each(text, |_, _| n += 1);
        n
    }

    /// The keywords of special state `sid` (a match state, or the start state) that end at
    /// `end` and start before `before`. Kept out of line so the walk's loop stays small.
    #[inline(never)]
    fn report(&self, sid: StateID, end: usize, before: usize, found: &mut dyn FnMut(usize, usize)) {
        if !self.dfa.is_match(sid) {
            return;
        }
        for i in 0..self.dfa.match_len(sid) {
            let p = self.dfa.match_pattern(sid, i).as_usize();
            let start = end - self.lengths[p];
            if start < before {
                found(p, start);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aho_corasick::AhoCorasickBuilder;

    /// Every occurrence (pattern, start), from the crate's own overlapping iterator.
    fn reference(keywords: &[String], text: &[u8]) -> Vec<(usize, usize)> {
        let ac = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .build(keywords)
            .unwrap();
        let mut out: Vec<(usize, usize)> = ac
            .find_overlapping_iter(text)
            .map(|m| (m.pattern().as_usize(), m.start()))
            .collect();
        out.sort_unstable();
        out
    }

    fn ours(keywords: &Keywords, text: &[u8]) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        keywords.each(text, |p, start| out.push((p, start)));
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
