//! `tls-verification-disabled`: certificate or hostname checks switched off.

use std::sync::LazyLock;

use regex::Regex;

use crate::findings::{Category, Finding, Severity};
use crate::preflight::diff::FileDiff;
use crate::preflight::rules::{Rule, RuleMeta};

use super::lang::Lang;
use super::report;

pub(crate) struct TlsVerificationDisabled;

static META: RuleMeta = RuleMeta {
    id: "tls-verification-disabled",
    title: "TLS verification disabled",
    category: Category::Pattern,
    severity: Severity::Important,
    description: "Catches code and scripts that turn off certificate or hostname verification: \
`verify=False`, `ssl.CERT_NONE`, `_create_unverified_context`, `rejectUnauthorized: false`, \
`NODE_TLS_REJECT_UNAUTHORIZED=0`, Go `InsecureSkipVerify: true`, Rust \
`danger_accept_invalid_certs(true)`, Java trust-all managers and allow-all hostname verifiers, \
.NET validation callbacks that return `true`, PHP `CURLOPT_SSL_VERIFYPEER => false`, Ruby \
`VERIFY_NONE`, `curl -k`/`--insecure`, `wget --no-check-certificate`, `git -c \
http.sslVerify=false`. Anyone on the network path can then read and alter the traffic.\n\n\
Fix: keep verification on; for a private CA, add the CA to the trust store or pass it \
explicitly (`verify=\"/path/ca.pem\"`, `ca:` option, `RootCAs`).",
    fails: "resp = requests.get(url, verify=False, timeout=10)",
    passes: "resp = requests.get(url, verify=\"/etc/ssl/certs/internal-ca.pem\", timeout=10)",
    example_path: "app/client.py",
};

static CODE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?x)
        \bverify\s*=\s*False\b
      | \bssl\.CERT_NONE\b | \bssl\._create_unverified_context\b | \bcheck_hostname\s*=\s*False\b
      | \brejectUnauthorized\s*:\s*false\b | \bstrictSSL\s*:\s*false\b
      | \bNODE_TLS_REJECT_UNAUTHORIZED\b\s*(?:=|:)\s*['"]?0
      | \bInsecureSkipVerify\s*:\s*true\b
      | \bdanger_accept_invalid_(?:certs|hostnames)\s*\(\s*true\s*\)
      | \bNoopHostnameVerifier\b | \bALLOW_ALL_HOSTNAME_VERIFIER\b | \bTrustAllStrategy\b
      | \bsetHostnameVerifier\s*\(\s*\(\s*\w+\s*,\s*\w+\s*\)\s*->\s*true\s*\)
      | \bServerCertificate(?:Custom)?ValidationCallback\s*(?:\+?=)\s*(?:\([^)]*\)|\w+)\s*=>\s*true\b
      | \bDangerousAcceptAnyServerCertificateValidator\b
      | \bCURLOPT_SSL_VERIFY(?:PEER|HOST)\s*(?:,|=>)\s*(?:false|0)\b
      | \bOpenSSL::SSL::VERIFY_NONE\b
      | \bInsecureRequestWarning\b
    "#,
    )
    .expect("compiles")
});

static CLI: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"\bcurl\b[^|;&\n]*\s(?:-k|--insecure)\b|\bcurl\b[^|;&\n]*\s-[a-zA-Z]*k[a-zA-Z]*\s|\bwget\b[^|;&\n]*--no-check-certificate|\bhttp\.sslVerify[\s=]+false\b|\bGIT_SSL_NO_VERIFY\s*[=:]\s*['"]?(?:1|true)|--trusted-host\b|\bPYTHONHTTPSVERIFY\s*=\s*['"]?0"#)
        .expect("compiles")
});

impl Rule for TlsVerificationDisabled {
    fn meta(&self) -> &RuleMeta {
        &META
    }

    fn keywords(&self) -> &[&'static str] {
        &[
            "verify",
            "cert_none",
            "unverified",
            "check_hostname",
            "rejectunauthorized",
            "strictssl",
            "node_tls_reject_unauthorized",
            "insecureskipverify",
            "danger_accept",
            "hostnameverifier",
            "hostname_verifier",
            "trustallstrategy",
            "certificatevalidationcallback",
            "dangerousacceptany",
            "curlopt_ssl",
            "verify_none",
            "insecurerequestwarning",
            "curl",
            "wget",
            "sslverify",
            "git_ssl_no_verify",
            "trusted-host",
            "pythonhttpsverify",
        ]
    }

    fn check(&self, file: &FileDiff, out: &mut Vec<Finding>) {
        let lang = Lang::of(file);
        let cli_context = matches!(lang, Lang::Shell | Lang::Docker | Lang::Yaml | Lang::Other);
        for (n, text) in file.added_lines() {
            let trimmed = text.trim_start();
            if trimmed.starts_with("//") || trimmed.starts_with('#') && !cli_context {
                continue;
            }
            if trimmed.starts_with('#') {
                continue;
            }
            if CODE.is_match(text)
                || (CLI.is_match(text)
                    && (cli_context || text.contains("curl") || text.contains("wget")))
            {
                report(
                    &META,
                    file,
                    n,
                    text,
                    "TLS certificate or hostname verification is disabled".into(),
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
        !run(&TlsVerificationDisabled, path, text).is_empty()
    }

    #[test]
    fn catches_disabled_verification() {
        assert!(fires(
            "a.js",
            "const agent = new https.Agent({ rejectUnauthorized: false });"
        ));
        assert!(fires(
            "a.go",
            "tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}"
        ));
        assert!(fires(
            "a.rs",
            "let c = reqwest::Client::builder().danger_accept_invalid_certs(true).build()?;"
        ));
        assert!(fires("a.sh", "curl -k https://internal/api"));
        assert!(fires("a.sh", "curl -sSLk https://internal/api | sh"));
        assert!(fires(
            "Dockerfile",
            "RUN wget --no-check-certificate https://x/y.tgz"
        ));
        assert!(fires(
            "a.php",
            "curl_setopt($ch, CURLOPT_SSL_VERIFYPEER, false);"
        ));
        assert!(fires(
            "a.cs",
            "handler.ServerCertificateCustomValidationCallback = (m, c, ch, e) => true;"
        ));
        assert!(fires(".env", "NODE_TLS_REJECT_UNAUTHORIZED=0"));
    }

    #[test]
    fn verification_kept_on_passes() {
        assert!(!fires("a.py", "requests.get(url, verify=True)"));
        assert!(!fires(
            "a.js",
            "new https.Agent({ rejectUnauthorized: true })"
        ));
        assert!(!fires("a.go", "InsecureSkipVerify: false,"));
        assert!(!fires(
            "a.sh",
            "curl -sSL --cacert ca.pem https://internal/api"
        ));
        assert!(!fires("a.py", "# verify=False is never acceptable"));
    }
}
