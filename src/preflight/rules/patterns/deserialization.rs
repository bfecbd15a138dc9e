//! `unsafe-deserialization`: formats whose loaders construct arbitrary objects.

use std::sync::LazyLock;

use regex::Regex;

use crate::findings::{Category, Finding, Severity};
use crate::preflight::diff::FileDiff;
use crate::preflight::rules::{Rule, RuleMeta};

use super::lang::Lang;
use super::report;

pub(crate) struct UnsafeDeserialization;

static META: RuleMeta = RuleMeta {
    id: "unsafe-deserialization",
    title: "Unsafe deserialization",
    category: Category::Pattern,
    severity: Severity::Critical,
    description: "Catches loaders that can instantiate arbitrary types or run code while \
reading: Python `pickle`/`cPickle`/`dill`/`marshal`/`jsonpickle`, `yaml.load` without a safe \
loader, `yaml.unsafe_load`; Java `ObjectInputStream`, `XMLDecoder`, XStream `fromXML`; PHP \
`unserialize` without `allowed_classes => false`; `node-serialize`; .NET `BinaryFormatter`, \
`NetDataContractSerializer`, `LosFormatter`, Json.NET `TypeNameHandling` other than `None`; \
Ruby `Marshal.load` and `YAML.unsafe_load`. Fed with attacker data these give remote code \
execution.\n\n\
Fix: use a data-only format (JSON with a schema, `yaml.safe_load`, \
`unserialize($s, ['allowed_classes' => false])`, `System.Text.Json`) or sign and verify the \
payload before loading it.",
    fails: "profile = pickle.loads(request.data)",
    passes: "profile = json.loads(request.data)",
    example_path: "app/views.py",
};

static PYTHON: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:c?[pP]ickle|dill|marshal|shelve|jsonpickle)\.(?:loads?|Unpickler|decode|open)\s*\(|\byaml\.(?:unsafe_load|unsafe_load_all|full_load)\s*\(|\bpandas\.read_pickle\s*\(|\bpd\.read_pickle\s*\(")
        .expect("compiles")
});
static PY_YAML_LOAD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\byaml\.load(?:_all)?\s*\(").expect("compiles"));
static PY_SAFE_LOADER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"Loader\s*=\s*(?:yaml\.)?C?(?:Safe|Base)Loader").expect("compiles")
});
static JVM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\bnew\s+ObjectInputStream\s*\(|\bnew\s+XMLDecoder\s*\(|\.fromXML\s*\(|\bSerializationUtils\.deserialize\s*\(")
        .expect("compiles")
});
static PHP: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\bunserialize\s*\(\s*\$").expect("compiles"));
static PHP_SAFE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"allowed_classes['\x22]\s*=>\s*false").expect("compiles"));
static JS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"require\s*\(\s*['"](?:node-serialize|funcster|serialize-to-js)['"]\s*\)|\bserialize\.unserialize\s*\(|from\s+['"]node-serialize['"]"#)
        .expect("compiles")
});
static CSHARP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\bnew\s+(?:BinaryFormatter|NetDataContractSerializer|LosFormatter|ObjectStateFormatter|SoapFormatter)\s*\(|TypeNameHandling\s*=\s*TypeNameHandling\.(?:All|Auto|Objects|Arrays)")
        .expect("compiles")
});
static RUBY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\bMarshal\.(?:load|restore)\s*\(|\bYAML\.unsafe_load\s*\(|\bPsych\.unsafe_load\s*\(|\bOj\.load\s*\([^)]*mode:\s*:object")
        .expect("compiles")
});

impl Rule for UnsafeDeserialization {
    fn meta(&self) -> &RuleMeta {
        &META
    }

    fn keywords(&self) -> &[&'static str] {
        &[
            "pickle",
            "dill",
            "marshal",
            "shelve",
            "yaml",
            "objectinputstream",
            "xmldecoder",
            "fromxml",
            "serializationutils",
            "unserialize",
            "serialize",
            "funcster",
            "binaryformatter",
            "netdatacontractserializer",
            "losformatter",
            "objectstateformatter",
            "soapformatter",
            "typenamehandling",
            "psych",
            "oj.load",
        ]
    }

    fn check(&self, file: &FileDiff, out: &mut Vec<Finding>) {
        let lines: Vec<(u32, &str)> = file.added_lines().collect();
        self.check_lines(file, &lines, out);
    }

    /// Line by line: every deserializer the rule names contains a keyword.
    fn check_lines(&self, file: &FileDiff, lines: &[(u32, &str)], out: &mut Vec<Finding>) {
        let lang = Lang::of(file);
        for &(n, text) in lines {
            let hit = match lang {
                Lang::Python => {
                    PYTHON.is_match(text)
                        || (PY_YAML_LOAD.is_match(text) && !PY_SAFE_LOADER.is_match(text))
                }
                Lang::Jvm => JVM.is_match(text),
                Lang::Php => PHP.is_match(text) && !PHP_SAFE.is_match(text),
                Lang::JavaScript => JS.is_match(text),
                Lang::CSharp => CSHARP.is_match(text),
                Lang::Ruby => RUBY.is_match(text),
                _ => false,
            };
            if hit {
                report(
                    &META,
                    file,
                    n,
                    text,
                    "deserializer can construct arbitrary objects from its input: use a data-only format".into(),
                    out,
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preflight::rules::patterns::test_support::run;

    fn fires(path: &str, text: &str) -> bool {
        !run(&UnsafeDeserialization, path, text).is_empty()
    }

    #[test]
    fn catches_object_deserializers() {
        assert!(fires("a.py", "data = pickle.load(f)"));
        assert!(fires("a.py", "cfg = yaml.load(stream)"));
        assert!(fires("a.py", "cfg = yaml.load(stream, Loader=yaml.Loader)"));
        assert!(fires(
            "A.java",
            "ObjectInputStream in = new ObjectInputStream(socket.getInputStream());"
        ));
        assert!(fires("a.php", "$u = unserialize($_COOKIE['user']);"));
        assert!(fires(
            "a.js",
            "const serialize = require('node-serialize');"
        ));
        assert!(fires("a.cs", "var f = new BinaryFormatter();"));
        assert!(fires("a.cs", "TypeNameHandling = TypeNameHandling.All,"));
        assert!(fires("a.rb", "obj = Marshal.load(payload)"));
    }

    #[test]
    fn safe_loaders_pass() {
        assert!(!fires("a.py", "cfg = yaml.safe_load(stream)"));
        assert!(!fires(
            "a.py",
            "cfg = yaml.load(stream, Loader=yaml.SafeLoader)"
        ));
        assert!(!fires(
            "a.php",
            "$u = unserialize($raw, ['allowed_classes' => false]);"
        ));
        assert!(!fires("a.cs", "TypeNameHandling = TypeNameHandling.None,"));
        assert!(!fires("a.rb", "cfg = YAML.safe_load(text)"));
        assert!(!fires(
            "README.md",
            "never call pickle.loads on untrusted data"
        ));
    }
}
