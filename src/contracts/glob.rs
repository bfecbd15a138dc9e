//! File-scope globs as automata, so two scopes can be compared exactly: do they share a path
//! (`overlap`), does one lie inside the other (`contained`)?
//!
//! Syntax: `*` matches within one path segment, `**` as a whole segment matches any number of
//! segments (zero included), `?` one character other than `/`, `[abc]`, `[a-z]`, `[!a]` one
//! character of a class, `{a,b}` alternatives. A trailing `/` means everything below the
//! directory. A comparison also returns a witness path, so an error can show it.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

/// At most this many alternatives after `{a,b}` expansion, so a crafted plan cannot explode.
const MAX_EXPANSIONS: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GlobError {
    #[error("glob `{glob}`: {problem}")]
    Invalid { glob: String, problem: String },
}

#[derive(Debug, Clone)]
enum Test {
    Lit(char),
    AnyNonSlash,
    Any,
    Class {
        ranges: Vec<(char, char)>,
        negated: bool,
    },
}

impl Test {
    fn accepts(&self, c: char) -> bool {
        match self {
            Test::Lit(l) => *l == c,
            Test::AnyNonSlash => c != '/',
            Test::Any => true,
            Test::Class { ranges, negated } => {
                c != '/' && ranges.iter().any(|(lo, hi)| *lo <= c && c <= *hi) != *negated
            }
        }
    }
}

#[derive(Debug, Default, Clone)]
struct State {
    moves: Vec<(Test, usize)>,
    eps: Vec<usize>,
}

/// A nondeterministic automaton for one or more globs (a union).
#[derive(Debug, Clone)]
pub struct Scope {
    states: Vec<State>,
    starts: Vec<usize>,
    accepting: HashSet<usize>,
    /// Characters that bound the alphabet's equivalence classes.
    points: BTreeSet<u32>,
}

impl Scope {
    /// Compile a list of globs into one automaton accepting any path that one of them matches.
    pub fn new<S: AsRef<str>>(globs: &[S]) -> Result<Scope, GlobError> {
        let mut scope = Scope {
            states: Vec::new(),
            starts: Vec::new(),
            accepting: HashSet::new(),
            points: BTreeSet::from([0, '/' as u32, '/' as u32 + 1]),
        };
        for glob in globs {
            for alternative in expand_braces(glob.as_ref())? {
                scope.add(&alternative, glob.as_ref())?;
            }
        }
        Ok(scope)
    }

    fn push(&mut self) -> usize {
        self.states.push(State::default());
        self.states.len() - 1
    }

    fn add(&mut self, glob: &str, original: &str) -> Result<(), GlobError> {
        let invalid = |problem: &str| GlobError::Invalid {
            glob: original.to_string(),
            problem: problem.to_string(),
        };
        let mut pattern = glob.trim().trim_start_matches("./").to_string();
        if pattern.is_empty() {
            return Err(invalid("is empty"));
        }
        if pattern.ends_with('/') {
            pattern.push_str("**");
        }
        let chars: Vec<char> = pattern.chars().collect();
        let start = self.push();
        self.starts.push(start);
        let mut cur = start;
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            let segment_start = i == 0 || chars[i - 1] == '/';
            match c {
                '*' if chars.get(i + 1) == Some(&'*') => {
                    let segment_end = i + 2 == chars.len() || chars[i + 2] == '/';
                    if segment_start && segment_end {
                        if i + 2 == chars.len() {
                            // Trailing `**`: anything, including nothing.
                            self.states[cur].moves.push((Test::Any, cur));
                            i += 2;
                        } else {
                            // `**/`: nothing, or any text ending in `/`.
                            let after = self.push();
                            let inside = self.push();
                            self.states[cur].eps.push(after);
                            self.states[cur].moves.push((Test::Any, inside));
                            self.states[inside].moves.push((Test::Any, inside));
                            self.states[inside].moves.push((Test::Lit('/'), after));
                            self.states[cur].moves.push((Test::Lit('/'), after));
                            cur = after;
                            i += 3;
                        }
                    } else {
                        self.states[cur].moves.push((Test::AnyNonSlash, cur));
                        i += 2;
                    }
                }
                '*' => {
                    self.states[cur].moves.push((Test::AnyNonSlash, cur));
                    i += 1;
                }
                '?' => {
                    let next = self.push();
                    self.states[cur].moves.push((Test::AnyNonSlash, next));
                    cur = next;
                    i += 1;
                }
                '[' => {
                    let close = chars[i + 1..]
                        .iter()
                        .enumerate()
                        .skip(1)
                        .find(|(_, c)| **c == ']')
                        .map(|(j, _)| i + 1 + j)
                        .ok_or_else(|| invalid("`[` has no closing `]`"))?;
                    let mut body = &chars[i + 1..close];
                    let negated = matches!(body.first(), Some('!') | Some('^'));
                    if negated {
                        body = &body[1..];
                    }
                    let mut ranges = Vec::new();
                    let mut k = 0;
                    while k < body.len() {
                        if k + 2 < body.len() && body[k + 1] == '-' {
                            let (lo, hi) = (body[k], body[k + 2]);
                            if lo > hi {
                                return Err(invalid("a class range runs backwards"));
                            }
                            ranges.push((lo, hi));
                            k += 3;
                        } else {
                            ranges.push((body[k], body[k]));
                            k += 1;
                        }
                    }
                    for (lo, hi) in &ranges {
                        self.points.insert(*lo as u32);
                        self.points.insert(*hi as u32 + 1);
                    }
                    let next = self.push();
                    self.states[cur]
                        .moves
                        .push((Test::Class { ranges, negated }, next));
                    cur = next;
                    i = close + 1;
                }
                '\\' if i + 1 < chars.len() => {
                    cur = self.literal(cur, chars[i + 1]);
                    i += 2;
                }
                _ => {
                    cur = self.literal(cur, c);
                    i += 1;
                }
            }
            let _ = segment_start;
        }
        self.accepting.insert(cur);
        Ok(())
    }

    fn literal(&mut self, from: usize, c: char) -> usize {
        self.points.insert(c as u32);
        self.points.insert(c as u32 + 1);
        let next = self.push();
        self.states[from].moves.push((Test::Lit(c), next));
        next
    }

    fn closure(&self, set: &mut BTreeSet<usize>) {
        let mut stack: Vec<usize> = set.iter().copied().collect();
        while let Some(s) = stack.pop() {
            for &e in &self.states[s].eps {
                if set.insert(e) {
                    stack.push(e);
                }
            }
        }
    }

    fn start_set(&self) -> BTreeSet<usize> {
        let mut set: BTreeSet<usize> = self.starts.iter().copied().collect();
        self.closure(&mut set);
        set
    }

    fn step(&self, set: &BTreeSet<usize>, c: char) -> BTreeSet<usize> {
        let mut next = BTreeSet::new();
        for &s in set {
            for (test, to) in &self.states[s].moves {
                if test.accepts(c) {
                    next.insert(*to);
                }
            }
        }
        self.closure(&mut next);
        next
    }

    fn accepts_set(&self, set: &BTreeSet<usize>) -> bool {
        set.iter().any(|s| self.accepting.contains(s))
    }

    /// Whether `path` matches.
    pub fn matches(&self, path: &str) -> bool {
        let mut set = self.start_set();
        for c in path.chars() {
            set = self.step(&set, c);
            if set.is_empty() {
                return false;
            }
        }
        self.accepts_set(&set)
    }
}

/// One representative character per class of characters that every test treats alike.
fn alphabet(a: &Scope, b: &Scope) -> Vec<char> {
    let points: BTreeSet<u32> = a.points.union(&b.points).copied().collect();
    let mut reps = Vec::new();
    for p in points {
        // The first valid, printable-enough character at or after the boundary.
        let mut v = p.max(0x20);
        while v < 0x11_0000 {
            if let Some(c) = char::from_u32(v) {
                reps.push(c);
                break;
            }
            v += 1;
        }
    }
    if !reps.contains(&'x') {
        reps.push('x');
    }
    // Letters and digits first, so witness paths read like file names.
    reps.sort_unstable_by_key(|c| (*c != 'x', !c.is_ascii_alphanumeric(), *c));
    reps.dedup();
    reps
}

/// Breadth-first search over pairs of subset states; `goal` says when a pair is a witness.
/// The root (the empty path) is no file, so it is never a witness and never marked visited:
/// a non-empty path that returns to the start pair is still explored.
fn search(
    a: &Scope,
    b: &Scope,
    goal: impl Fn(&BTreeSet<usize>, &BTreeSet<usize>) -> bool,
) -> Option<String> {
    type Pair = (BTreeSet<usize>, BTreeSet<usize>);
    let chars = alphabet(a, b);
    // Nodes: (pair, parent index, character that led here); node 0 is the root.
    let mut nodes: Vec<(Pair, usize, char)> = vec![((a.start_set(), b.start_set()), 0, '\0')];
    let mut seen: HashMap<Pair, usize> = HashMap::new();
    let mut queue = VecDeque::from([0usize]);
    while let Some(index) = queue.pop_front() {
        let pair = nodes[index].0.clone();
        if index != 0 && goal(&pair.0, &pair.1) {
            let mut path = Vec::new();
            let mut at = index;
            while at != 0 {
                path.push(nodes[at].2);
                at = nodes[at].1;
            }
            path.reverse();
            return Some(path.into_iter().collect());
        }
        for &c in &chars {
            let next = (a.step(&pair.0, c), b.step(&pair.1, c));
            if next.0.is_empty() || seen.contains_key(&next) {
                continue;
            }
            nodes.push((next.clone(), index, c));
            seen.insert(next, nodes.len() - 1);
            queue.push_back(nodes.len() - 1);
        }
        if nodes.len() > 200_000 {
            break;
        }
    }
    None
}

/// The fixed text a glob starts with, up to its first wildcard.
pub fn literal_prefix(glob: &str) -> &str {
    let g = glob.trim().trim_start_matches("./");
    let end = g.find(['*', '?', '[', '{', '\\']).unwrap_or(g.len());
    &g[..end]
}

/// Cheap test that rules out an overlap: two globs whose fixed prefixes diverge cannot match
/// the same path. `true` means "might overlap"; the automata decide.
pub fn may_overlap(a: &str, b: &str) -> bool {
    let (pa, pb) = (literal_prefix(a), literal_prefix(b));
    pa.starts_with(pb) || pb.starts_with(pa)
}

/// A path matched by both scopes, if any.
pub fn overlap(a: &Scope, b: &Scope) -> Option<String> {
    search(a, b, |x, y| a.accepts_set(x) && b.accepts_set(y))
}

/// A path matched by `inner` but not by `outer`, if any: `None` means `inner` lies inside.
pub fn escapes(inner: &Scope, outer: &Scope) -> Option<String> {
    search(inner, outer, |x, y| {
        inner.accepts_set(x) && !outer.accepts_set(y)
    })
}

/// Expand `{a,b}` alternatives (nested allowed).
fn expand_braces(glob: &str) -> Result<Vec<String>, GlobError> {
    let Some(open) = glob.find('{') else {
        return Ok(vec![glob.to_string()]);
    };
    let mut depth = 0;
    let mut close = None;
    let mut splits = Vec::new();
    for (i, c) in glob[open..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    close = Some(open + i);
                    break;
                }
            }
            ',' if depth == 1 => splits.push(open + i),
            _ => {}
        }
    }
    let close = close.ok_or_else(|| GlobError::Invalid {
        glob: glob.to_string(),
        problem: "`{` has no closing `}`".into(),
    })?;
    let mut parts = Vec::new();
    let mut from = open + 1;
    for s in splits.iter().copied().chain(std::iter::once(close)) {
        parts.push(&glob[from..s]);
        from = s + 1;
    }
    let (prefix, suffix) = (&glob[..open], &glob[close + 1..]);
    let mut out = Vec::new();
    for part in parts {
        for expanded in expand_braces(&format!("{prefix}{part}{suffix}"))? {
            out.push(expanded);
            if out.len() > MAX_EXPANSIONS {
                return Err(GlobError::Invalid {
                    glob: glob.to_string(),
                    problem: format!("expands to more than {MAX_EXPANSIONS} alternatives"),
                });
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn scope(g: &[&str]) -> Scope {
        Scope::new(g).unwrap()
    }

    #[test]
    fn matching_follows_path_glob_rules() {
        let s = scope(&["src/*.ts"]);
        assert!(s.matches("src/a.ts"));
        assert!(!s.matches("src/a/b.ts"));
        let s = scope(&["src/**/*.ts"]);
        assert!(s.matches("src/a.ts") && s.matches("src/a/b/c.ts"));
        assert!(scope(&["src/routes/"]).matches("src/routes/a/b.ts"));
        assert!(!scope(&["src/routes"]).matches("src/routes/a.ts"));
        assert!(scope(&["src/{a,b}/x.rs"]).matches("src/b/x.rs"));
        assert!(scope(&["f[0-9].txt"]).matches("f7.txt"));
        assert!(!scope(&["f[!0-9].txt"]).matches("f7.txt"));
        assert!(scope(&["**"]).matches("any/thing"));
    }

    #[test]
    fn overlap_finds_a_shared_path() {
        let w = overlap(&scope(&["src/**/*.ts"]), &scope(&["src/models/*"])).unwrap();
        assert!(w.starts_with("src/models/") && w.ends_with(".ts"), "{w}");
        assert!(
            overlap(
                &scope(&["src/models/user.ts"]),
                &scope(&["src/services/token.ts"])
            )
            .is_none()
        );
        assert!(overlap(&scope(&["src/*.rs"]), &scope(&["src/a/*.rs"])).is_none());
        assert!(overlap(&scope(&["src/a?.rs"]), &scope(&["src/[x-z]b.rs"])).is_none());
        assert_eq!(
            overlap(&scope(&["src/a?.rs"]), &scope(&["src/[x-z]?.rs"])),
            None
        );
        assert!(overlap(&scope(&["src/?b.rs"]), &scope(&["src/[x-z]?.rs"])).is_some());
        assert!(overlap(&scope(&["docs/"]), &scope(&["docs/**/*.md"])).is_some());
    }

    #[test]
    fn containment_with_counterexample() {
        assert!(escapes(&scope(&["src/api/*.ts"]), &scope(&["src/**"])).is_none());
        assert!(
            escapes(
                &scope(&["src/api/user.ts"]),
                &scope(&["src/api/*.ts", "src/db/"])
            )
            .is_none()
        );
        // A witness whose path returns the automata to their start states.
        assert_eq!(
            escapes(&scope(&["*"]), &scope(&["*b"])).as_deref(),
            Some("x")
        );
        let w = escapes(&scope(&["src/**"]), &scope(&["src/api/*.ts"])).unwrap();
        assert!(!scope(&["src/api/*.ts"]).matches(&w) && scope(&["src/**"]).matches(&w));
    }

    #[test]
    fn prefix_prefilter_is_sound() {
        assert!(!may_overlap("src/a/**", "src/b/**"));
        assert!(may_overlap("src/**", "src/b/x.rs"));
        assert!(may_overlap("**/*.rs", "src/b/x.rs"));
        assert!(may_overlap("src/{a,b}/x", "src/a/x"));
    }

    #[test]
    fn bad_globs_are_errors() {
        assert!(Scope::new(&["src/[a"]).is_err());
        assert!(Scope::new(&["src/{a,b"]).is_err());
        assert!(Scope::new(&[""]).is_err());
        assert!(Scope::new(&["{a,b}{c,d}{e,f}{g,h}{i,j}{k,l}{m,n}{o,p}{q,r}"]).is_err());
    }

    fn glob_strategy() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop::sample::select(vec!["a", "b", "/", "*", "?", "**/", "[ab]", ".rs"]),
            1..6,
        )
        .prop_map(|parts| parts.concat())
    }

    proptest! {
        #[test]
        fn overlap_is_symmetric_and_witnessed(a in glob_strategy(), b in glob_strategy()) {
            let (sa, sb) = (scope(&[a.as_str()]), scope(&[b.as_str()]));
            let ab = overlap(&sa, &sb);
            let ba = overlap(&sb, &sa);
            prop_assert_eq!(ab.is_some(), ba.is_some());
            if let Some(w) = ab {
                prop_assert!(sa.matches(&w) && sb.matches(&w), "witness {} fails", w);
            }
        }

        #[test]
        fn prefilter_never_hides_an_overlap(a in glob_strategy(), b in glob_strategy()) {
            if overlap(&scope(&[a.as_str()]), &scope(&[b.as_str()])).is_some() {
                prop_assert!(may_overlap(&a, &b));
            }
        }

        #[test]
        fn a_shared_concrete_path_means_overlap(a in glob_strategy(), b in glob_strategy(), p in "[ab/]{1,6}(\\.rs)?") {
            let (sa, sb) = (scope(&[a.as_str()]), scope(&[b.as_str()]));
            if sa.matches(&p) && sb.matches(&p) {
                prop_assert!(overlap(&sa, &sb).is_some());
            }
            if sa.matches(&p) && !sb.matches(&p) {
                prop_assert!(escapes(&sa, &sb).is_some());
            }
        }
    }
}
