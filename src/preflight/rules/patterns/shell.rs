//! `shell-injection`: a shell command line assembled from data.

use std::sync::LazyLock;

use regex::Regex;

use crate::findings::{Category, Finding, Severity};
use crate::preflight::diff::{FileDiff, LineKind};
use crate::preflight::rules::{Rule, RuleMeta};

use super::dynamic::{assigned_variable, builds_string, passes_variable};
use super::lang::Lang;
use super::report;

pub(crate) struct ShellInjection;

static META: RuleMeta = RuleMeta {
    id: "shell-injection",
    title: "Shell command built from data",
    category: Category::Pattern,
    severity: Severity::Critical,
    description: "Catches command lines assembled by interpolation or concatenation and run \
through a shell: `os.system`, `subprocess` with `shell=True`, `child_process.exec`/`execSync`, \
`Runtime.exec`, `sh -c` in Go or Rust, Ruby backticks/`system`/`%x`, PHP `shell_exec`, \
`system`, `passthru`, `proc_open`. A value containing `;`, `|`, `$(...)` or a newline runs \
arbitrary commands with the service's privileges.\n\n\
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
      | \bcommands\.getoutput\s*\(
      | (?:\bchild_process\.|\bcp\.|\b)(?:exec|execSync)\s*\(
      | \bRuntime\.getRuntime\(\)\.exec\s*\(
      | \bnew\s+ProcessBuilder\s*\(
      | \bexec\.Command(?:Context)?\s*\(
      | \bCommand::new\s*\(
      | (?:^|[^.\w])(?:system|exec|spawn|IO\.popen|Open3\.\w+|%x)\s*[(\[{]
      | \b(?:shell_exec|passthru|proc_open|popen|pcntl_exec)\s*\(
      | \bProcess\.Start\s*\(
    "#,
    )
    .expect("built-in pattern compiles")
});

/// A shell is involved: `shell=True`, `sh -c`, `cmd /c`, `{shell: true}`, or an API that
/// always uses one.
static SHELL_INVOLVED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?x)
        shell\s*=\s*True | shell\s*:\s*true
      | ["'](?:/bin/)?(?:ba|z|k|da)?sh["']\s*,\s*["']-c["']
      | ["'](?:/bin/)?(?:ba|z|k|da)?sh["']\s*\)\s*\.arg\s*\(\s*["']-c["']
      | ["']cmd(?:\.exe)?["']\s*,\s*["']/c["']
      | \bos\.(?:system|popen) | \bsubprocess\.(?:getoutput|getstatusoutput) | \bcommands\.getoutput
      | (?:^|[^.\w])(?:child_process\.|cp\.)?(?:exec|execSync)\s*\(
      | \bRuntime\.getRuntime\(\)\.exec
      | (?:^|[^.\w])(?:system|IO\.popen|%x)\s*[(\[{] | \bOpen3\.
      | \b(?:shell_exec|passthru|proc_open|popen)\s*\(
      | \bProcess\.Start
    "#,
    )
    .expect("built-in pattern compiles")
});

/// Ruby and PHP backtick command substitution with interpolation.
static BACKTICK_INTERP: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"`[^`]*(?:#\{|\$[A-Za-z_{])[^`]*`").expect("compiles"));

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
        for hunk in &file.hunks {
            for line in &hunk.lines {
                let text = line.text.as_str();
                let Some(new_line) = line.new_line else {
                    continue;
                };
                let added = line.kind == LineKind::Added;
                if added && matches!(lang, Lang::Ruby | Lang::Php) && BACKTICK_INTERP.is_match(text)
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
                let sink = SINK.is_match(text);
                if added && sink && builds_string(text, lang) && SHELL_INVOLVED.is_match(text) {
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
                if added && !sink {
                    if let Some(var) = assigned_variable(text)
                        && looks_like_command_var(var)
                        && builds_string(text, lang)
                    {
                        tainted.push((var.to_string(), new_line, text.to_string()));
                    }
                    continue;
                }
                if sink && !tainted.is_empty() && SHELL_INVOLVED.is_match(text) {
                    for (var, at, built) in &tainted {
                        if *at < new_line && !reported.contains(at) && passes_variable(text, var) {
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
}
