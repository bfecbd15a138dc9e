//! `weak-password-hash`: passwords hashed with fast digests or a low bcrypt cost.

use std::sync::LazyLock;

use regex::Regex;

use crate::findings::{Category, Finding, Severity};
use crate::preflight::diff::FileDiff;
use crate::preflight::rules::{Rule, RuleMeta};

use super::report;

pub(crate) struct WeakPasswordHash;

static META: RuleMeta = RuleMeta {
    id: "weak-password-hash",
    title: "Weak password hashing",
    category: Category::Pattern,
    severity: Severity::Important,
    description: "Catches passwords hashed with fast general-purpose digests (MD5, SHA-1, \
SHA-2 used directly: `hashlib.md5(password...)`, `createHash('sha256').update(password)`, \
`DigestUtils.md5Hex(password)`, `MessageDigest.getInstance(\"SHA-1\")` next to a password, \
`md5($password)`, `Digest::SHA256.hexdigest(password)`) and bcrypt with a work factor below \
10. Fast digests let a leaked table be cracked at billions of guesses per second.\n\n\
Fix: use a password hashing function with a tuned cost: Argon2id, scrypt, or bcrypt with \
cost 12 or more (PBKDF2 with a high iteration count where FIPS requires it).",
    fails: "hashed = hashlib.md5(password.encode()).hexdigest()",
    passes: "hashed = argon2.PasswordHasher().hash(password)",
    example_path: "app/auth.py",
};

static PASSWORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)pass(?:word|wd|phrase)?\b|\bpwd\b|\bpw\b|_pass\b|password").expect("compiles")
});
static FAST_HASH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)\bhashlib\.(?:md5|sha1|sha224|sha256|sha384|sha512|new\s*\(\s*['"](?:md5|sha1|sha256)['"])\s*\(|createHash\s*\(\s*['"](?:md5|sha1|sha256|sha512)['"]|\bDigestUtils\.(?:md5|sha1|sha256|sha512)(?:Hex)?\s*\(|MessageDigest\.getInstance\s*\(\s*"(?:MD5|SHA-?1|SHA-?256|SHA-?512)"|\b(?:md5|sha1)\s*\(\s*\$|\bhash\s*\(\s*['"](?:md5|sha1|sha256|sha512)['"]|Digest::(?:MD5|SHA1|SHA256|SHA512)\.(?:hexdigest|digest|base64digest)|\b(?:md5|sha1|sha256|sha512)\.Sum(?:256|512)?\s*\(|\bMd5::digest|\bSha(?:1|256|512)::digest|\bCryptoJS\.(?:MD5|SHA1|SHA256)\s*\("#)
        .expect("compiles")
});
static BCRYPT_COST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:bcrypt\.(?:hash|hashSync|genSalt|genSaltSync|gensalt)\s*\((?:[^,()]+,\s*)?(?:rounds\s*=\s*)?|bcrypt\.GenerateFromPassword\s*\([^,]+,\s*|bcrypt::hash\s*\([^,]+,\s*|BCrypt\.gensalt\s*\(\s*|cost['\x22]?\s*(?:=>|:)\s*)(\d{1,2})\b")
        .expect("compiles")
});

impl Rule for WeakPasswordHash {
    fn meta(&self) -> &RuleMeta {
        &META
    }

    fn keywords(&self) -> &[&'static str] {
        &[
            "md5", "sha1", "sha2", "sha3", "sha5", "sha-", "bcrypt", "cost",
        ]
    }

    fn check(&self, file: &FileDiff, out: &mut Vec<Finding>) {
        let lines: Vec<(u32, &str)> = file.added_lines().collect();
        self.check_lines(file, &lines, out);
    }

    /// Line by line: every digest call and cost setting the rule matches contains a keyword.
    fn check_lines(&self, file: &FileDiff, lines: &[(u32, &str)], out: &mut Vec<Finding>) {
        for &(n, text) in lines {
            if FAST_HASH.is_match(text) && PASSWORD.is_match(text) {
                report(
                    &META,
                    file,
                    n,
                    text,
                    "password hashed with a fast digest: use Argon2id, scrypt or bcrypt".into(),
                    out,
                );
                continue;
            }
            if let Some(cost) = BCRYPT_COST
                .captures(text)
                .and_then(|c| c.get(1))
                .and_then(|m| m.as_str().parse::<u32>().ok())
            {
                let bcrypt_line = text.to_ascii_lowercase().contains("bcrypt")
                    || text.contains("PASSWORD_BCRYPT")
                    || text.contains("PASSWORD_DEFAULT");
                if bcrypt_line && cost < 10 {
                    report(
                        &META,
                        file,
                        n,
                        text,
                        format!("bcrypt work factor {cost} is below 10"),
                        out,
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preflight::rules::patterns::test_support::run;

    fn fires(path: &str, text: &str) -> bool {
        !run(&WeakPasswordHash, path, text).is_empty()
    }

    #[test]
    fn catches_fast_digests_and_low_costs() {
        assert!(fires(
            "a.js",
            "const h = crypto.createHash('sha256').update(password).digest('hex');"
        ));
        assert!(fires(
            "A.java",
            "String h = DigestUtils.md5Hex(user.getPassword());"
        ));
        assert!(fires("a.php", "$hash = md5($password);"));
        assert!(fires(
            "a.rb",
            "self.pw_hash = Digest::SHA256.hexdigest(password)"
        ));
        assert!(fires("a.js", "const h = await bcrypt.hash(password, 8);"));
        assert!(fires("a.py", "salt = bcrypt.gensalt(rounds=4)"));
        assert!(fires(
            "a.go",
            "h, _ := bcrypt.GenerateFromPassword([]byte(pw), 6)"
        ));
        assert!(fires(
            "a.php",
            "password_hash($p, PASSWORD_BCRYPT, ['cost' => 8]);"
        ));
    }

    #[test]
    fn slow_hashes_and_unrelated_digests_pass() {
        assert!(!fires("a.js", "const h = await bcrypt.hash(password, 12);"));
        assert!(!fires(
            "a.py",
            "digest = hashlib.sha256(file_bytes).hexdigest()"
        ));
        assert!(!fires(
            "a.js",
            "const etag = crypto.createHash('md5').update(body).digest('hex');"
        ));
        assert!(!fires("a.py", "h = argon2.hash(password)"));
    }
}
