//! `eval-injection`: code evaluated from a string that is not a constant.

use std::sync::LazyLock;

use regex::Regex;

use crate::findings::{Category, Finding, Severity};
use crate::preflight::diff::FileDiff;
use crate::preflight::rules::{Rule, RuleMeta};

use super::lang::Lang;
use super::literals::is_code;
use super::report;
use super::words::{Before, Words};

pub(crate) struct EvalInjection;

static META: RuleMeta = RuleMeta {
    id: "eval-injection",
    title: "Code evaluated from data",
    category: Category::Pattern,
    severity: Severity::Critical,
    description: "Catches `eval`/`exec` (Python, JavaScript, PHP, Ruby, shell), `new Function`, \
`setTimeout`/`setInterval` with a built string, `vm.runIn*Context`, PHP `assert` of a string \
and `create_function`, Ruby `instance_eval`/`class_eval` of a string, when the evaluated text \
is not a constant literal. Evaluating data hands the caller a code-execution primitive.\n\n\
Fix: parse data with a parser (`json.loads`, `ast.literal_eval`, `JSON.parse`), dispatch \
through a lookup table of allowed operations, or pass functions instead of code strings.",
    fails: "const result = eval(req.query.expr);",
    passes: "const result = JSON.parse(req.query.expr);",
    example_path: "src/calc.js",
};

/// `eval(` and friends, not as a method of another object (`model.eval()` is PyTorch).
static CALL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|[^.\w$])(?:eval|exec|execfile|assert|create_function|instance_eval|class_eval|module_eval)\s*\(|\bnew\s+Function\s*\(|\bvm\.(?:runInNewContext|runInThisContext|runInContext|compileFunction)\s*\(|(?:^|[^.\w])(?:setTimeout|setInterval)\s*\(")
        .expect("compiles")
});
/// The names every [`CALL`] match holds, with what the pattern allows right before them.
/// Checked first: most names on a line are methods (`re.exec(`, `model.eval()`), and the
/// pattern, which starts with a character class, would read the whole line to find none.
static CALL_NAMES: LazyLock<Words> = LazyLock::new(|| {
    const NOT_METHOD: Before = Before::NotWordOr(b".$");
    Words::new(&[
        ("eval", NOT_METHOD),
        ("exec", NOT_METHOD),
        ("assert", NOT_METHOD),
        ("create_function", NOT_METHOD),
        ("instance_eval", NOT_METHOD),
        ("class_eval", NOT_METHOD),
        ("module_eval", NOT_METHOD),
        ("Function", Before::NotWordOr(b"")),
        ("vm.runIn", Before::NotWordOr(b"")),
        ("vm.compileFunction", Before::NotWordOr(b"")),
        ("setTimeout", Before::NotWordOr(b".")),
        ("setInterval", Before::NotWordOr(b".")),
    ])
});

/// Whether [`CALL`] can match `code`: one of its names stands where the pattern allows it.
fn may_call(code: &str) -> bool {
    CALL_NAMES.stand_in(code)
}

static SHELL_EVAL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"(?:^|[;&|]\s*|\s)eval\s+["']?\$"#).expect("compiles"));

impl Rule for EvalInjection {
    fn meta(&self) -> &RuleMeta {
        &META
    }

    fn keywords(&self) -> &[&'static str] {
        &[
            "eval",
            "exec",
            "assert",
            "create_function",
            "new function",
            "runin",
            "compilefunction",
            "settimeout",
            "setinterval",
        ]
    }

    fn check(&self, file: &FileDiff, out: &mut Vec<Finding>) {
        let lang = Lang::of(file);
        for (n, text) in file.added_lines() {
            let hit = match lang {
                Lang::Shell | Lang::Docker => SHELL_EVAL.is_match(text),
                Lang::Python | Lang::JavaScript | Lang::Php | Lang::Ruby => {
                    evaluates_non_constant(text, lang)
                }
                _ => false,
            };
            if hit {
                report(
                    &META,
                    file,
                    n,
                    text,
                    "code is evaluated from a non-constant string".into(),
                    out,
                );
            }
        }
    }
}

fn evaluates_non_constant(text: &str, lang: Lang) -> bool {
    let code = strip_line_comment(text, lang);
    if !may_call(code) {
        return false;
    }
    for m in CALL.find_iter(code) {
        let name = m.as_str();
        let name_at = m.start() + name.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(0);
        if !is_code(code, name_at, lang) {
            // `'javascript:eval(1)'` names a call inside a string: data, not a call.
            continue;
        }
        let rest = &code[m.end()..];
        let args = if name.contains("Function") {
            arguments(rest, false)
        } else {
            arguments(rest, true)
        };
        let trimmed = args.trim();
        if trimmed.is_empty() {
            continue;
        }
        let timer = name.contains("setTimeout") || name.contains("setInterval");
        let is_assert = name
            .trim_start_matches(|c: char| !c.is_ascii_alphabetic())
            .starts_with("assert");
        if is_assert && lang != Lang::Php {
            continue;
        }
        if (name.contains("exec") && lang == Lang::JavaScript)
            || (name.contains("exec") && lang == Lang::Php)
        {
            // `exec` is a shell call there, judged by shell-injection.
            continue;
        }
        if is_constant_literal(trimmed) {
            continue;
        }
        if timer
            || is_assert
            || name.contains("class_eval")
            || name.contains("instance_eval")
            || name.contains("module_eval")
        {
            // Only strings are code here; functions and blocks are fine.
            if starts_with_quote(trimmed) {
                return true;
            }
            continue;
        }
        if name.contains("Function") {
            // new Function("a", "b", "return a + b") with literals only is constant.
            if trimmed.split(',').all(|p| is_constant_literal(p.trim())) {
                continue;
            }
            return true;
        }
        return true;
    }
    false
}

fn strip_line_comment(text: &str, lang: Lang) -> &str {
    let marker = match lang {
        Lang::Python | Lang::Ruby | Lang::Shell => "#",
        _ => "//",
    };
    let trimmed = text.trim_start();
    if trimmed.starts_with(marker) || trimmed.starts_with('*') {
        return "";
    }
    text
}

/// The argument text up to the matching `)`; with `first_only`, up to a top-level `,` too.
fn arguments(rest: &str, first_only: bool) -> &str {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    for (i, c) in rest.char_indices() {
        match quote {
            Some(q) => {
                if c == q {
                    quote = None;
                }
            }
            None => match c {
                '"' | '\'' | '`' => quote = Some(c),
                '(' | '[' | '{' => depth += 1,
                ')' | ']' | '}' if depth == 0 => return &rest[..i],
                ')' | ']' | '}' => depth -= 1,
                ',' if depth == 0 && first_only => return &rest[..i],
                _ => {}
            },
        }
    }
    rest
}

fn starts_with_quote(s: &str) -> bool {
    s.starts_with(['"', '\'', '`'])
}

/// A single string or number literal with no interpolation.
fn is_constant_literal(s: &str) -> bool {
    if s.parse::<f64>().is_ok() {
        return true;
    }
    let mut chars = s.chars();
    let Some(open) = chars.next() else {
        return true;
    };
    if !matches!(open, '"' | '\'' | '`') || s.len() < 2 || !s.ends_with(open) {
        return false;
    }
    let inner = &s[1..s.len() - 1];
    !inner.contains(open) && !inner.contains("${") && !inner.contains("#{")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preflight::rules::patterns::test_support::run;

    fn fires(path: &str, text: &str) -> bool {
        !run(&EvalInjection, path, text).is_empty()
    }

    /// The name check before the pattern never turns away text the pattern matches: every
    /// call form after every kind of byte, at the start and inside a line.
    #[test]
    fn the_name_check_passes_everything_the_call_pattern_matches() {
        let calls = [
            "eval(",
            "exec (",
            "execfile(",
            "assert(",
            "create_function(",
            "instance_eval(",
            "class_eval (",
            "module_eval(",
            "new Function(",
            "new  Function (",
            "vm.runInNewContext(",
            "vm.compileFunction(",
            "setTimeout(",
            "setInterval (",
        ];
        let mut checked = 0;
        for call in calls {
            for before in ["", " ", ".", "$", "_", "x", "9", "(", "é", "\t", "=", "Ж"] {
                for after in ["", "x)", " 'a' )"] {
                    let text = format!("{before}{call}{after}");
                    if CALL.is_match(&text) {
                        assert!(may_call(&text), "{text}");
                        checked += 1;
                    }
                    let inside = format!("let a = 1; {text}");
                    assert!(!CALL.is_match(&inside) || may_call(&inside), "{inside}");
                }
            }
        }
        assert!(checked > 100, "{checked}");
        assert!(!may_call(
            "re.exec(x); model.eval(); $eval(1); obj.setTimeout(f); vm.key = new Date()",
        ));
    }

    #[test]
    fn catches_evaluation_of_data() {
        assert!(fires("a.py", "result = eval(expr)"));
        assert!(fires("a.py", "exec(request.form['code'])"));
        assert!(fires("a.js", "const f = new Function('x', body);"));
        assert!(fires("a.js", "setTimeout('refresh(' + id + ')', 100);"));
        assert!(fires("a.js", "vm.runInNewContext(userCode, sandbox);"));
        assert!(fires("a.php", "eval($_POST['code']);"));
        assert!(fires("a.rb", "instance_eval(\"@#{name}\")"));
        assert!(fires("a.sh", "eval \"$USER_CMD\""));
    }

    #[test]
    fn constants_functions_and_methods_pass() {
        assert!(!fires("a.py", "model.eval()"));
        assert!(!fires("a.py", "x = ast.literal_eval(text)"));
        assert!(!fires("a.py", "eval('1 + 1')"));
        assert!(!fires("a.js", "setTimeout(refresh, 100);"));
        assert!(!fires("a.js", "setTimeout(() => refresh(id), 100);"));
        assert!(!fires("a.js", "const m = re.exec(line);"));
        assert!(!fires("a.py", "# never eval(user_input)"));
        assert!(!fires("a.py", "assert isinstance(x, int)"));
        assert!(!fires("a.js", "var xss = 'javascript:eval(alert(1))';"));
        assert!(!fires(
            "a.rb",
            "  \"<img src=x onerror=eval('alert(1)')>\","
        ));
    }
}
