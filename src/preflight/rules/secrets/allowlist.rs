//! Values that look like secrets but are not: documented examples, placeholders, references
//! to environment variables or secret stores, and the exact values vendors and standards
//! publish as examples or test vectors (matched by SHA-256, never by a looser pattern, so a
//! real key of the same shape is still reported).

use sha2::{Digest, Sha256};

/// SHA-256 (hex) of every published example value; each rule's description names the ones
/// that concern it.
const PUBLISHED: &[&str] = &[
    // the jwt.io default token (HS256, `your-256-bit-secret`)
    "7f75367e7881255134e1375e723d1dea8ad5f6a4fdb79d938df1f1754a830606",
    // the jwt.io default token with `admin: true`
    "c794fa6d20c64efb9adf980ae93af472a1679775862d421ffe55d4a57fad5b3e",
    // RFC 7519 section 3.1 example JWT
    "8d4ef6536dc8895f256c1e0d95dcd19763036732d64a095e44a90ed444267ad3",
    // Stripe documented test secret key
    "2cafc0970149a84f3b9e62eaf169f36f59907a3b3e31f7b82e68c69cd27f7326",
    // Stripe documented test publishable key
    "b1471f544ceeea31333bde7e1ecbaad6eac0d4a749412ad29bd66ef895b81c6b",
    // AWS documented example access key ID
    "1a5d44a2dca19669d72edf4c4f1c27c4c1ca4b4408fbb17f6ce4ad452d78ddb3",
    // AWS documented example secret access key
    "78314b11be2e581549ac1c4f616563fad3fdf0c3b71678f6e2299182080e0598",
    // RFC 4231 test case 1 HMAC key
    "72c105da87780f44ec8bea3fc4ed55ec71facb87807c1041facedc2e9db9a169",
    // RFC 4231 test case 3 HMAC key
    "e33cdf9c7f7120b98e8c78408953e07f2ecd183006b5606df349b4c212acf43e",
    // RFC 4231 test case 4 HMAC key
    "1d00002f7ff7e586c175dc0a79788fc83e54d20ae90d4a0c974ea4a0d702e722",
    // RFC 4231 test case 5 HMAC key
    "c469ea9405cdafd5ae0b6163cdac6a11eab27c311af6252e9eb862f849398df5",
    // RFC 4231 test cases 6 and 7 HMAC key
    "f140924ca547fa4ae9fad67c2da1971f74c86e190bbcc9ebfe3f7cdc2f00cabe",
    // NIST SP 800-38A AES-128 key
    "2ef2503d964e9668092e6878d3c390ca7909bbbffabd781857115e3be4bb3e5a",
    // NIST SP 800-38A AES-192 key
    "c12ce25303a023aa1317614428c0ac8ef707c5a370d7c766353c66df5d2cb46f",
    // NIST SP 800-38A AES-256 key
    "837e8e636d452b6133d5a5c56de1eb57c08a94bbe632804fa621a49014c5c034",
    // FIPS-197 appendix C AES-128 key
    "d65df89f702eec58ca3c7bf2001c9ffc7cd80553ae01d42a799ba26756142d96",
    // FIPS-197 appendix C AES-256 key
    "6c86c6aac5fb24bcf5d9939cb7d7d5645ce39418f449e03b262dd4fa14b4b92b",
    // Azurite / Azure Storage Emulator account key
    "0011cc25eb4320717494d2703e8cba85743e71b500283c21c8b88147992f9059",
];

/// Whether `value` is exactly one of the published example values.
pub(crate) fn is_published_example(value: &str) -> bool {
    if value.len() < 16 {
        return false;
    }
    let digest = Sha256::digest(value.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    PUBLISHED.contains(&hex.as_str())
}

/// Whether `value` is a known example or a placeholder rather than a credential.
pub(crate) fn is_placeholder(value: &str) -> bool {
    let v = value.trim_matches(|c| matches!(c, '"' | '\'' | '`'));
    let lower = v.to_ascii_lowercase();
    if v.is_empty() || lower.ends_with("example") || lower.contains("examplekey") {
        return true;
    }
    if v.starts_with("${")
        || v.starts_with("$(")
        || v.starts_with('$')
            && v[1..]
                .chars()
                .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit())
    {
        return true;
    }
    if v.starts_with('<') && v.ends_with('>')
        || v.contains("{{")
        || v.starts_with('%') && v.ends_with('%')
    {
        return true;
    }
    const WORDS: &[&str] = &[
        "changeme",
        "change_me",
        "password",
        "passwd",
        "secret",
        "dummy",
        "example",
        "sample",
        "placeholder",
        "your_",
        "your-",
        "yourkey",
        "redacted",
        "xxxx",
        "****",
        "....",
        "fake",
        "test123",
        "notreal",
        "replace",
        "insert",
        "change-me",
        "your unique phrase",
    ];
    if WORDS.iter().any(|w| lower.contains(w)) {
        return true;
    }
    // One repeated character, or a plain ascending run.
    let bytes = v.as_bytes();
    if bytes.len() >= 8 && bytes.iter().all(|b| *b == bytes[0]) {
        return true;
    }
    let ascending = bytes
        .windows(2)
        .filter(|w| w[1] == w[0].wrapping_add(1))
        .count();
    bytes.len() >= 8 && ascending * 10 >= (bytes.len() - 1) * 8
}

#[cfg(test)]
mod tests {
    use super::is_placeholder;

    #[test]
    fn placeholders_and_real_looking_values() {
        for p in [
            "AKIAIOSFODNN7EXAMPLE",
            "${DB_PASSWORD}",
            "$DB_PASSWORD",
            "<your-key>",
            "{{ secrets.TOKEN }}",
            "changeme",
            "xxxxxxxxxxxx",
            "abcdefghijklmnop",
            "aaaaaaaaaaaa",
        ] {
            assert!(is_placeholder(p), "{p}");
        }
        for real in ["hQ7vR2mX9kLp4sTz", "s3cr3tP4ssw0rdQ9"] {
            assert!(!is_placeholder(real), "{real}");
        }
    }

    #[test]
    fn published_examples_match_exactly() {
        use super::is_published_example;
        assert!(is_published_example("2b7e151628aed2a6abf7158809cf4f3c"));
        assert!(is_published_example("sk_test_4eC39HqLyjWDarjtT1zdp7dc"));
        assert!(!is_published_example("2b7e151628aed2a6abf7158809cf4f3d"));
    }
}
