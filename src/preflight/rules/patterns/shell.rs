//! `shell-injection`: a shell command line assembled from data.

use std::sync::LazyLock;

use aho_corasick::AhoCorasick;
use regex::Regex;

use crate::findings::{Category, Finding, Severity};
use crate::preflight::diff::{FileDiff, LineKind};
use crate::preflight::rules::{Rule, RuleMeta};

use super::dynamic::{assigned_variable, builds_string, passes_variable};
use super::lang::Lang;
use super::literals::{is_code, only_safe_parts, statement};
use super::report;
use super::words::{Before, Words};

pub(crate) struct ShellInjection;

static META: RuleMeta = RuleMeta {
    id: "shell-injection",
    title: "Shell command built from data",
    category: Category::Pattern,
    severity: Severity::Critical,
    description: "Catches command lines assembled by interpolation or concatenation and run \
through a shell: `os.system`, `subprocess` with `shell=True` (or `shell=` set from a variable), \
`asyncio.create_subprocess_shell`, `child_process.exec`/`execSync` and promisified `exec` under \
another name, `spawn`/`execFile` of `sh -c` or with `shell: true`, `Runtime.exec`, \
`ProcessBuilder` and Go `exec.Command` of `sh -c`, Rust `Command::new(\"sh\").arg(\"-c\")`, .NET \
`Process.Start`/`ProcessStartInfo` of `cmd.exe /c`, `bash -c` or `powershell -Command`, Ruby \
backticks/`%x`/`system`/`exec`/`IO.popen`/`Open3`, PHP `shell_exec`, `exec`, `system`, \
`passthru`, `popen`, `proc_open` and backticks. The command may span the lines of one call or \
be built in a variable on an earlier added line. A value containing `;`, `|`, `$(...)` or a \
newline runs arbitrary commands with the service's privileges.\n\n\
Not reported: argument lists without a shell, constant commands, calls named inside a string \
literal or a comment, and commands whose every interpolated value is quoted (`shlex.quote`, \
`escapeshellarg`, `Shellwords.escape`) or an upper-case constant.\n\n\
Fix: call the program directly with an argument list (`subprocess.run([\"git\", \"log\", ref])`, \
`execFile`, `exec.Command(\"git\", \"log\", ref)`), never through a shell; if a shell is \
unavoidable, quote with `shlex.quote` / `escapeshellarg`.",
    fails: "os.system(f\"tar -xzf {archive} -C /tmp\")",
    passes: "subprocess.run([\"tar\", \"-xzf\", archive, \"-C\", \"/tmp\"], check=True)",
    example_path: "tools/unpack.py",
};

/// Calls that hand their string to a shell.
static SINK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?x)
        \bos\.(?:system|popen|popen2|popen3)\s*\(
      | \bsubprocess\.(?:call|run|Popen|check_output|check_call|getoutput|getstatusoutput)\s*\(
      | \basyncio\.create_subprocess_shell\s*\(
      | \bcommands\.getoutput\s*\(
      | (?:\bchild_process\.|\bcp\.|\b)(?:exec|execSync|execFile|execFileSync|spawnSync)\s*\(
      | \bRuntime\.getRuntime\(\)\.exec\s*\(
      | \bnew\s+ProcessBuilder\s*\(
      | \bnew\s+ProcessStartInfo\b
      | \bexec\.Command(?:Context)?\s*\(
      | \bCommand::new\s*\(
      | (?:^|[^.\w])(?:system|exec|spawn|IO\.popen|Open3\.\w+|%x)\s*[(\[{]
      | \bKernel\.(?:system|exec|spawn)\s*\(
      | \b(?:shell_exec|passthru|proc_open|popen|pcntl_exec)\s*\(
      | \bProcess\.Start\s*\(
    "#,
    )
    .expect("built-in pattern compiles")
});

/// Words every [`SINK`] match contains: most lines hold none, and finding that out with one
/// automaton is much cheaper than with the sink pattern.
static SINK_WORDS: LazyLock<AhoCorasick> = LazyLock::new(|| {
    AhoCorasick::new([
        "subprocess",
        "commands.",
        "exec",
        "spawn",
        "ProcessBuilder",
        "ProcessStartInfo",
        "Command::new",
        "system",
        "popen",
        "Open3.",
        "%x",
        "passthru",
        "proc_open",
        "Process.Start",
    ])
    .expect("compiles")
});

/// A shell is involved: `shell=True` (or `shell=` from a variable), `sh -c`, `cmd /c`,
/// `powershell -Command`, `{shell: true}`, or an API that always uses one.
static SHELL_INVOLVED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?x)
        shell\s*=\s*(?:True\b|not\b|[a-z_][\w.]*) | shell\s*:\s*true
      | ["'](?:/usr)?(?:/bin/)?(?:ba|z|k|da)?sh["']\s*,\s*\[?\s*\$?@?["']-c\b
      | ["'](?:/usr)?(?:/bin/)?(?:ba|z|k|da)?sh["']\s*\)\s*\.args?\s*\(\s*&?\[?\s*["']-c["']
      | ["']cmd(?:\.exe)?["']\s*,\s*\$?@?["']/c\b
      | ["'](?:powershell|pwsh)(?:\.exe)?["']\s*,\s*\$?@?["']-(?:c|Command)\b
      | \bFileName\s*=\s*["'](?:/usr)?(?:/bin/)?(?:(?:ba|z|k|da)?sh|cmd(?:\.exe)?)["']
      | \bos\.(?:system|popen) | \bsubprocess\.(?:getoutput|getstatusoutput) | \bcommands\.getoutput
      | \basyncio\.create_subprocess_shell
      | (?:^|[^.\w])(?:child_process\.|cp\.)?(?:exec|execSync)\s*\(
      | \bRuntime\.getRuntime\(\)\.exec
      | (?:^|[^.\w])(?:system|IO\.popen|%x)\s*[(\[{] | \bOpen3\. | \bKernel\.(?:system|exec|spawn)
      | \b(?:shell_exec|passthru|proc_open|popen)\s*\(
      | \bProcess\.Start
    "#,
    )
    .expect("built-in pattern compiles")
});

/// Words every [`SHELL_INVOLVED`] match contains, with what the pattern allows right before
/// them. Checked first: on a long statement (a minified bundle is one line) the pattern, which
/// mostly starts with a quote, reads every byte, and most statements hold none of these words
/// where it could use them.
static SHELL_WORDS: LazyLock<Words> = LazyLock::new(|| {
    const ANY: Before = Before::Anything;
    const CALL: Before = Before::NotWordOr(b".");
    // What comes before `sh` in `["'](?:/usr)?(?:/bin/)?(?:ba|z|k|da)?sh["']`.
    const SHELL_NAME_END: Before = Before::OneOf(b"\"'/azk");
    Words::new(&[
        ("shell", ANY),
        // `"sh"`, `'/bin/bash'`, `"zsh'`: keyed on `sh` and a quote, which are rarer than
        // the quote before them.
        ("sh\"", SHELL_NAME_END),
        ("sh'", SHELL_NAME_END),
        ("pwsh", ANY),
        ("cmd\"", ANY),
        ("cmd'", ANY),
        ("cmd.exe", ANY),
        ("os.system", ANY),
        ("os.popen", ANY),
        ("subprocess.get", ANY),
        ("commands.getoutput", ANY),
        ("child_process.exec", ANY),
        ("cp.exec", ANY),
        ("exec", CALL),
        ("Runtime.getRuntime().exec", ANY),
        ("system", CALL),
        ("popen", ANY),
        ("%x", CALL),
        ("Open3.", ANY),
        ("Kernel.system", ANY),
        ("Kernel.exec", ANY),
        ("Kernel.spawn", ANY),
        ("passthru", ANY),
        ("proc_open", ANY),
        ("Process.Start", ANY),
    ])
});

/// Whether [`SHELL_INVOLVED`] can match `text` (it may still not).
fn may_involve_shell(text: &str) -> bool {
    SHELL_WORDS.stand_in(text)
}

/// Whether a shell runs the command: [`SHELL_INVOLVED`], after the cheap word check.
fn shell_involved(text: &str) -> bool {
    may_involve_shell(text) && SHELL_INVOLVED.is_match(text)
}

/// Ruby and PHP backtick command substitution with interpolation.
static BACKTICK_INTERP: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"`[^`]*(?:#\{|\$[A-Za-z_{])[^`]*`").expect("compiles"));

/// `const run = util.promisify(child_process.exec)`: a name for `exec` that returns a promise.
static PROMISIFIED_EXEC: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"\b(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*=\s*[^;=]*?\bpromisify\s*\(\s*(?:require\s*\(\s*["']child_process["']\s*\)\s*\.|child_process\.|cp\.)?exec\s*\)"#)
        .expect("compiles")
});

/// The first match of `pattern` whose call name starts in code, not in a string or comment.
fn in_code(pattern: &Regex, text: &str, lang: Lang) -> bool {
    pattern.find_iter(text).any(|m| {
        let name = m.start()
            + m.as_str()
                .find(|c: char| c.is_ascii_alphabetic() || c == '%' || c == '`')
                .unwrap_or(0);
        if text.as_bytes()[name] == b'`' {
            // The backtick opens the literal: what matters is that it opens in code.
            return name == 0 || is_code(text, name - 1, lang);
        }
        is_code(text, name, lang)
    })
}

/// Whether `text` calls one of the promisified `exec` names.
fn calls_alias(text: &str, aliases: &[String]) -> bool {
    aliases.iter().any(|a| {
        text.match_indices(a.as_str()).any(|(at, _)| {
            let before_ok = text[..at]
                .chars()
                .next_back()
                .is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == '.' || c == '$'));
            before_ok && text[at + a.len()..].trim_start().starts_with('(')
        })
    })
}

impl Rule for ShellInjection {
    fn meta(&self) -> &RuleMeta {
        &META
    }

    fn keywords(&self) -> &[&'static str] {
        &[
            "system",
            "popen",
            "subprocess",
            "exec",
            "spawn",
            "shell",
            "passthru",
            "command",
            "process",
            "open3",
            "%x",
            "`",
        ]
    }

    fn check(&self, file: &FileDiff, out: &mut Vec<Finding>) {
        let lang = Lang::of(file);
        if matches!(lang, Lang::Yaml | Lang::Docker | Lang::Shell | Lang::Other) {
            return;
        }
        let mut tainted: Vec<(String, u32, String)> = Vec::new();
        let mut reported: Vec<u32> = Vec::new();
        let mut aliases: Vec<String> = Vec::new();
        for hunk in &file.hunks {
            for (i, line) in hunk.lines.iter().enumerate() {
                let text = line.text.as_str();
                let Some(new_line) = line.new_line else {
                    continue;
                };
                let added = line.kind == LineKind::Added;
                if lang == Lang::JavaScript
                    && text.contains("promisify")
                    && let Some(c) = PROMISIFIED_EXEC.captures(text)
                {
                    aliases.push(c[1].to_string());
                    continue;
                }
                if added
                    && matches!(lang, Lang::Ruby | Lang::Php)
                    && in_code(&BACKTICK_INTERP, text, lang)
                    && !only_safe_parts(text, lang)
                {
                    report(
                        &META,
                        file,
                        new_line,
                        text,
                        "command substitution interpolates data into a shell command".into(),
                        out,
                    );
                    reported.push(new_line);
                    continue;
                }
                let alias = !aliases.is_empty() && calls_alias(text, &aliases);
                let sink = alias || SINK_WORDS.is_match(text) && in_code(&SINK, text, lang);
                if added && sink {
                    let stmt = statement(&hunk.lines, i, lang);
                    if builds_string(&stmt, lang)
                        && (alias || shell_involved(&stmt))
                        && !only_safe_parts(&stmt, lang)
                    {
                        report(
                            &META,
                            file,
                            new_line,
                            text,
                            "shell command built from data: pass an argument list without a shell"
                                .into(),
                            out,
                        );
                        reported.push(new_line);
                        continue;
                    }
                }
                if added && !sink {
                    if let Some(var) = assigned_variable(text)
                        && looks_like_command_var(var)
                        && builds_string(text, lang)
                        && !only_safe_parts(text, lang)
                    {
                        tainted.push((var.to_string(), new_line, text.to_string()));
                    }
                    continue;
                }
                if !sink || tainted.is_empty() {
                    continue;
                }
                let stmt = statement(&hunk.lines, i, lang);
                if alias || shell_involved(&stmt) {
                    for (var, at, built) in &tainted {
                        if *at < new_line && !reported.contains(at) && passes_variable(&stmt, var) {
                            report(
                                &META,
                                file,
                                *at,
                                built,
                                format!(
                                    "command built from data in `{var}` runs through a shell on line {new_line}"
                                ),
                                out,
                            );
                            reported.push(*at);
                        }
                    }
                }
            }
        }
    }
}

/// Only follow variables whose names say they hold a command line, to keep noise down.
fn looks_like_command_var(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    ["cmd", "command", "shell", "script", "cmdline", "exec"]
        .iter()
        .any(|k| n.contains(k))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preflight::rules::patterns::test_support::run;

    fn fires(path: &str, text: &str) -> bool {
        !run(&ShellInjection, path, text).is_empty()
    }

    /// The word check before [`SHELL_INVOLVED`] never turns away text the pattern matches:
    /// every form it knows, after every kind of byte, alone and inside a statement.
    #[test]
    fn the_word_check_passes_everything_the_shell_pattern_matches() {
        let forms = [
            "shell=True",
            "shell = use_shell",
            "shell: true",
            "'sh', '-c'",
            "\"/bin/bash\", [\"-c\"",
            "\"sh\").arg(\"-c\")",
            "'cmd.exe', '/c'",
            "\"cmd\", \"/c\"",
            "\"pwsh.exe\", \"-Command\"",
            "'powershell', '-c'",
            "FileName = \"/bin/zsh\"",
            "FileName = 'cmd'",
            "os.system",
            "os.popen",
            "subprocess.getoutput",
            "commands.getoutput",
            "asyncio.create_subprocess_shell",
            "exec(",
            "execSync (",
            "child_process.exec(",
            "cp.execSync(",
            "Runtime.getRuntime().exec",
            "system(",
            "IO.popen[",
            "%x{",
            "Open3.capture2",
            "Kernel.spawn",
            "shell_exec(",
            "passthru(",
            "proc_open(",
            "popen(",
            "Process.Start",
            "'/usr/bin/ksh', '-c'",
            "\"dash\", \"-c\"",
            "'sh\", '-c'",
            "FileName = '/bin/sh'",
            "FileName=\"cmd.exe\"",
        ];
        let mut matched = 0;
        for form in forms {
            for before in ["", " ", ".", "$", "_", "x", "(", "é", "=", "\t"] {
                for text in [
                    format!("{before}{form}"),
                    format!("run(a); {before}{form} x"),
                ] {
                    if SHELL_INVOLVED.is_match(&text) {
                        assert!(may_involve_shell(&text), "{text}");
                        matched += 1;
                    }
                }
            }
        }
        assert!(matched > 300, "{matched}");
        assert!(!may_involve_shell(
            "re.exec(q); fs.readFileSync(p); a.system + 1; os.cache[1] = cp.key; \"cmdW\" \"fresh\"",
        ));
    }

    #[test]
    fn catches_shell_commands_built_from_data() {
        assert!(fires(
            "a.py",
            r#"subprocess.run(f"git log {ref}", shell=True)"#
        ));
        assert!(fires("a.py", r#"os.popen("ping -c 1 " + host)"#));
        assert!(fires(
            "a.js",
            "child_process.exec(`convert ${file} out.png`)"
        ));
        assert!(fires("a.js", "execSync('rm -rf ' + dir)"));
        assert!(fires(
            "A.java",
            r#"Runtime.getRuntime().exec("ping " + host);"#
        ));
        assert!(fires("a.go", r#"exec.Command("sh", "-c", "ls "+dir)"#));
        assert!(fires("a.rb", r##"out = `git show #{sha}`"##));
        assert!(fires("a.rb", r##"system("convert #{path} out.png")"##));
        assert!(fires("a.php", r#"$o = shell_exec("ls " . $dir);"#));
        assert!(fires(
            "a.rs",
            r#"Command::new("sh").arg("-c").arg(format!("ls {}", dir))"#
        ));
        assert!(fires(
            "a.py",
            "cmd = f\"tar -xf {name}\"\nsubprocess.call(cmd, shell=True)"
        ));
    }

    #[test]
    fn argument_lists_and_constants_pass() {
        assert!(!fires(
            "a.py",
            r#"subprocess.run(["git", "log", ref], check=True)"#
        ));
        assert!(!fires("a.py", r#"os.system("make clean")"#));
        assert!(!fires("a.js", "execFile('git', ['log', ref])"));
        assert!(!fires("a.go", r#"exec.Command("git", "log", ref)"#));
        assert!(!fires("a.js", "regex.exec(`${prefix}-x`)"));
        assert!(!fires(
            "a.py",
            "cmd = f\"tar -xf {name}\"\nsubprocess.call(cmd.split())"
        ));
    }

    #[test]
    fn catches_shells_behind_other_names_and_over_lines() {
        assert!(fires(
            "a.js",
            "const c = spawn('sh', ['-c', 'ls ' + input]);"
        ));
        assert!(fires(
            "a.js",
            "const execP = util.promisify(exec);\nawait execP(`git log ${r}`);"
        ));
        assert!(fires(
            "a.py",
            "await asyncio.create_subprocess_shell(f\"ffmpeg -i {a} {b}\")"
        ));
        assert!(fires(
            "a.py",
            "subprocess.run(f\"ls {p}\", shell=use_shell)"
        ));
        assert!(fires(
            "a.py",
            "subprocess.run(\n    f\"rsync {a} {b}\",\n    shell=True,\n)"
        ));
        assert!(fires("a.rb", "out = %x(git log #{range})"));
        assert!(fires(
            "a.cs",
            r#"var p = new ProcessStartInfo("/bin/bash", $"-c \"tar -xf {a}\"");"#
        ));
        assert!(fires("a.cs", r#"Process.Start("cmd.exe", "/c " + x);"#));
    }

    #[test]
    fn quoted_values_and_literals_pass() {
        assert!(!fires(
            "a.py",
            r#"subprocess.run(f"rsync {shlex.quote(a)} {shlex.quote(b)}", shell=True)"#
        ));
        assert!(!fires(
            "a.php",
            "$o = shell_exec('ping -c 1 ' . escapeshellarg($host));"
        ));
        assert!(!fires(
            "a.rb",
            "sha = `git rev-parse #{Shellwords.escape(branch)}`.strip"
        ));
        assert!(!fires("a.js", "const bad = \"exec(`rm -rf ${dir}`)\";"));
        assert!(!fires(
            "a.py",
            r#"help = "Never call os.system(f'rm {x}') with user data.""#
        ));
        assert!(!fires("a.rb", r#"Open3.capture2("dig", "+short", host)"#));
    }
}
