//! Which language a file is, from its extension or name, so rules only look for the sinks
//! that exist in that language.

use crate::preflight::diff::FileDiff;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lang {
    Python,
    JavaScript,
    Go,
    /// Java, Kotlin, Scala, Groovy: the JVM sinks are shared.
    Jvm,
    Ruby,
    Php,
    CSharp,
    Rust,
    Shell,
    Yaml,
    Docker,
    Other,
}

impl Lang {
    pub(crate) fn of(file: &FileDiff) -> Lang {
        let path = file.path();
        let name = path.rsplit('/').next().unwrap_or(path);
        if name.starts_with("Dockerfile") || name.ends_with(".dockerfile") {
            return Lang::Docker;
        }
        match file.extension().as_deref() {
            Some("py" | "pyw" | "pyi") => Lang::Python,
            Some(
                "js" | "jsx" | "mjs" | "cjs" | "ts" | "tsx" | "mts" | "cts" | "vue" | "svelte",
            ) => Lang::JavaScript,
            Some("go") => Lang::Go,
            Some("java" | "kt" | "kts" | "scala" | "groovy") => Lang::Jvm,
            Some("rb" | "rake" | "erb") => Lang::Ruby,
            Some("php" | "phtml") => Lang::Php,
            Some("cs") => Lang::CSharp,
            Some("rs") => Lang::Rust,
            Some("sh" | "bash" | "zsh" | "ksh") => Lang::Shell,
            Some("yml" | "yaml") => Lang::Yaml,
            _ => Lang::Other,
        }
    }
}
