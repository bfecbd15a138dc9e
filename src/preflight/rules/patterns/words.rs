//! A cheap test run before a costly pattern: the words every match of the pattern contains,
//! each with the bytes the pattern forbids right before it. A long line (a minified bundle is
//! one line) that holds none of the words where the pattern could use them is passed over
//! with one vectorised search instead of a pattern that reads every byte.

use aho_corasick::{AhoCorasick, Input, MatchKind};

/// What may come right before a word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Before {
    /// Any byte, or the start of the text.
    Anything,
    /// The start of the text, or a byte that is neither an ASCII word character nor one of
    /// these (a pattern's `(?:^|[^.\w])` or `\b`; a non-ASCII byte is let through, which only
    /// makes the test less strict than the pattern).
    NotWordOr(&'static [u8]),
    /// One of these bytes (never the start of the text).
    OneOf(&'static [u8]),
}

/// Words a pattern needs: [`Words::stand_in`] is true whenever the pattern matches (and may be
/// when it does not).
pub(crate) struct Words {
    automaton: AhoCorasick,
    before: Vec<Before>,
}

impl Words {
    /// Case-sensitive words. No word may be a prefix of another that allows different bytes
    /// before it (one start reports one word).
    pub(crate) fn new(words: &[(&str, Before)]) -> Words {
        for (a, before_a) in words {
            for (b, before_b) in words {
                assert!(
                    a == b || !b.starts_with(a) || before_a == before_b,
                    "word `{a}` starts `{b}` but allows other bytes before it"
                );
            }
        }
        // Leftmost-first: the automaton then skips ahead with a vectorised prefilter, which the
        // standard match kind does not.
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostFirst)
            .build(words.iter().map(|(w, _)| w))
            .expect("words compile");
        Words {
            automaton,
            before: words.iter().map(|(_, b)| *b).collect(),
        }
    }

    /// Whether one of the words starts somewhere in `text` after a byte it allows. Every start
    /// offset that holds a word is tried, overlapping words included.
    pub(crate) fn stand_in(&self, text: &str) -> bool {
        let bytes = text.as_bytes();
        let mut at = 0;
        while let Some(m) = self.automaton.find(Input::new(text).span(at..text.len())) {
            let allowed = match (self.before[m.pattern().as_usize()], m.start()) {
                (Before::OneOf(bytes_before), start) => {
                    start > 0 && bytes_before.contains(&bytes[start - 1])
                }
                (Before::Anything, _) | (_, 0) => true,
                (Before::NotWordOr(extra), start) => {
                    let b = bytes[start - 1];
                    !(b.is_ascii_alphanumeric() || b == b'_' || extra.contains(&b))
                }
            };
            if allowed {
                return true;
            }
            at = m.start() + 1;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_start_is_tried_and_the_byte_before_decides() {
        let words = Words::new(&[
            ("eval", Before::NotWordOr(b".$")),
            ("instance_eval", Before::NotWordOr(b".")),
            ("vm.run", Before::Anything),
            ("sh'", Before::OneOf(b"'/")),
        ]);
        assert!(words.stand_in("eval(x)"));
        assert!(words.stand_in("a; eval(x)"));
        assert!(!words.stand_in("model.eval(); $eval(); x.evaluate"));
        assert!(!words.stand_in("x.instance_eval"));
        // The word inside a longer one, at a later start, is still tried.
        assert!(words.stand_in("(instance_eval"));
        assert!(words.stand_in("x.vm.run"));
        assert!(words.stand_in("é eval"));
        assert!(!words.stand_in(""));
        assert!(words.stand_in("x = '/bin/sh'") && words.stand_in("('sh'"));
        assert!(!words.stand_in("sh'") && !words.stand_in("'fresh'"));
    }

    #[test]
    #[should_panic(expected = "word `exec` starts `execSync`")]
    fn a_word_that_starts_another_must_allow_the_same_bytes_before_it() {
        Words::new(&[
            ("exec", Before::NotWordOr(b".")),
            ("execSync", Before::Anything),
        ]);
    }
}
