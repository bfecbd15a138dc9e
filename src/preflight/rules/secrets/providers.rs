//! Provider token formats: one table entry per provider, each with its prefilter keywords,
//! pattern, severity and documented examples. The examples are synthetic values that satisfy
//! the format (and its checksum, where it has one); none is a real credential.

use std::sync::LazyLock;

use regex::Regex;

use crate::findings::{Category, Finding, Severity};
use crate::preflight::diff::FileDiff;
use crate::preflight::rules::{Rule, RuleMeta};

use super::allowlist::is_placeholder;
use super::checksum::crc32_base62_valid;
use super::report;

/// How a matched token is confirmed.
#[derive(Clone, Copy)]
enum Check {
    None,
    /// GitHub and npm style: the last six characters are the base62 CRC-32 of the rest of
    /// the body (after the `prefix_` part). Unverified tokens are downgraded, not dropped.
    Crc32Base62,
}

struct TokenRule {
    meta: RuleMeta,
    keywords: &'static [&'static str],
    pattern: &'static str,
    check: Check,
    regex: LazyLock<Regex>,
}

impl Rule for TokenRule {
    fn meta(&self) -> &RuleMeta {
        &self.meta
    }

    fn keywords(&self) -> &[&'static str] {
        self.keywords
    }

    fn check(&self, file: &FileDiff, out: &mut Vec<Finding>) {
        let _ = self.pattern;
        for (n, text) in file.added_lines() {
            for caps in self.regex.captures_iter(text) {
                let Some(secret) = caps.get(1).map(|m| m.as_str()) else {
                    continue;
                };
                if is_placeholder(body_of(secret)) {
                    continue;
                }
                let (severity, note) = match self.check {
                    Check::None => (self.meta.severity, ""),
                    Check::Crc32Base62 => {
                        let body = secret.rsplit('_').next().unwrap_or(secret);
                        if crc32_base62_valid(body) {
                            (self.meta.severity, " (checksum verified)")
                        } else {
                            (
                                Severity::Important,
                                " (checksum does not verify: possibly mistyped, still treat as exposed)",
                            )
                        }
                    }
                };
                report(
                    &self.meta,
                    severity,
                    file,
                    n,
                    secret,
                    format!(
                        "{} committed{note}: revoke it and load it from a secret store",
                        self.meta.title
                    ),
                    out,
                );
            }
        }
    }
}

/// The token without its provider prefix (`ghp_`, `sk-proj-`, `AGE-SECRET-KEY-`): the part a
/// placeholder check should look at, so prefix words do not count as placeholder words.
fn body_of(secret: &str) -> &str {
    let head = &secret[..secret.len().min(16)];
    match head.rfind(['_', '-', '.']) {
        Some(i) => &secret[i + 1..],
        None => secret,
    }
}

macro_rules! token_rules {
    ($($id:literal, $title:literal, $severity:ident, [$($kw:literal),*], $pattern:literal, $check:ident, $fails:literal, $passes:literal, $path:literal, $description:literal;)*) => {
        /// Every provider token rule.
        pub(crate) fn rules() -> Vec<Box<dyn Rule>> {
            vec![$(Box::new(TokenRule {
                meta: RuleMeta {
                    id: $id,
                    title: $title,
                    category: Category::Secret,
                    severity: Severity::$severity,
                    description: concat!($description, "\n\nFix: revoke the credential at the provider (it is exposed as soon as it is pushed), then load it at run time from the environment or a secret store."),
                    fails: $fails,
                    passes: $passes,
                    example_path: $path,
                },
                keywords: &[$($kw),*],
                pattern: $pattern,
                check: Check::$check,
                regex: LazyLock::new(|| Regex::new($pattern).expect("built-in pattern compiles")),
            })),*]
        }
    };
}

token_rules! {
    "aws-access-key-id", "AWS access key ID", Critical, ["akia", "asia", "abia", "acca"], r#"\b((?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})\b"#, None,
        r#"aws_access_key_id = "AKIAAU4PCZL6HT4DTCBS""#,
        r#"aws_access_key_id = "AKIAIOSFODNN7EXAMPLE""#,
        "deploy/settings.py",
        r"An AWS access key ID (`AKIA` long-term, `ASIA` temporary). With its secret key it signs requests for the IAM user or role. AWS's documented example key `AKIAIOSFODNN7EXAMPLE` is ignored.";
    "aws-secret-access-key", "AWS secret access key", Critical, ["aws"], r#"(?i)aws_?secret_?(?:access_?)?key["']?\s*[:=]\s*["']?([A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+]|$)"#, None,
        r"AWS_SECRET_ACCESS_KEY=wkEJ3PEVVIPcP4Y7p4tD14z4gzM/jppZxO4z7Kdc",
        r"AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY}",
        ".env.production",
        r"The 40-character secret half of an AWS access key, assigned to a variable or key named like `aws_secret_access_key`.";
    "github-token", "GitHub token (classic PAT, OAuth, app, refresh)", Critical, ["ghp_", "gho_", "ghu_", "ghs_", "ghr_"], r#"\b(gh[pousr]_[A-Za-z0-9]{36})\b"#, Crc32Base62,
        r#"const token = "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";"#,
        r"const token = process.env.GITHUB_TOKEN;",
        "scripts/release.js",
        r"GitHub classic personal access tokens (`ghp_`), OAuth tokens (`gho_`), GitHub App user and installation tokens (`ghu_`, `ghs_`) and refresh tokens (`ghr_`). The last six characters are a base62 CRC-32 of the thirty before them: a token whose checksum verifies is reported as critical; one whose checksum does not is still reported, as important, because a mistyped or truncated token may still work in part.";
    "github-fine-grained-pat", "GitHub fine-grained personal access token", Critical, ["github_pat_"], r#"\b(github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})\b"#, None,
        r#"GH_TOKEN="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""#,
        r#"GH_TOKEN="${{ secrets.GH_TOKEN }}""#,
        "ci/publish.sh",
        r"A GitHub fine-grained personal access token.";
    "gitlab-token", "GitLab personal, project or group access token", Critical, ["glpat-"], r#"\b(glpat-[A-Za-z0-9_-]{20,})"#, None,
        r"gitlab_token: glpat-2EFAV296DuKOaY15QMhU",
        r"gitlab_token: ${GITLAB_TOKEN}",
        "config/ci.yml",
        r"A GitLab access token (`glpat-`).";
    "slack-token", "Slack token", Critical, ["xoxb-", "xoxp-", "xoxa-", "xoxo-", "xoxr-", "xoxs-"], r#"\b(xox[baposr]-[0-9]{8,13}-[0-9A-Za-z-]{10,})"#, None,
        r#"SLACK_BOT_TOKEN = "xoxb-510590697826-2868459238827-qudVROzLpF0CVYy71uCPLYV9""#,
        r#"SLACK_BOT_TOKEN = os.environ["SLACK_BOT_TOKEN"]"#,
        "bot/config.py",
        r"Slack bot, user, app and refresh tokens (`xoxb-`, `xoxp-`, `xoxa-`, `xoxr-`, …). They act as the workspace's bot or user.";
    "slack-webhook", "Slack incoming webhook URL", Critical, ["hooks.slack.com"], r#"(https://hooks\.slack\.com/(?:services|workflows|triggers)/T[A-Z0-9]{8,}/[A-Z0-9]{8,}/[A-Za-z0-9]{20,})"#, None,
        r#"webhook_url: "https://hooks.slack.com/services/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""#,
        r#"webhook_url: "https://hooks.slack.com/services/<team>/<channel>/<token>""#,
        "alerts/config.yml",
        r"A Slack incoming webhook URL: anyone holding it can post to the channel.";
    "discord-webhook", "Discord webhook URL", Critical, ["discord"], r#"(https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/[0-9]{17,20}/[A-Za-z0-9_-]{60,})"#, None,
        r#"DISCORD_HOOK = "https://discord.com/api/webhooks/186217973612335311/AQ9JoM07UylJRU3tnlgQBbDUhGbNB4-UbuhTmQkfSm2BR7uEXs8CgXTUwh2x_JhGKq9F""#,
        r#"DISCORD_HOOK = os.getenv("DISCORD_HOOK")"#,
        "notify/discord.py",
        r"A Discord webhook URL: anyone holding it can post as the webhook.";
    "telegram-bot-token", "Telegram bot token", Important, [":aa"], r#"\b([0-9]{8,10}:AA[A-Za-z0-9_-]{33})(?:[^A-Za-z0-9_-]|$)"#, None,
        r#"TELEGRAM_TOKEN = "3276743659:AA9obHRp-N9NIbUYN_x7qRdSXvSRvzi1JYY""#,
        r#"TELEGRAM_TOKEN = "123456:ABC-DEF""#,
        "bot/telegram.py",
        r"A Telegram Bot API token (`<bot id>:AA…`).";
    "stripe-secret-key", "Stripe live secret or restricted key", Critical, ["_live_"], r#"\b((?:sk|rk)_live_[A-Za-z0-9]{24,})"#, None,
        r#"stripe.api_key = "sk_live_Cx2NEv3Np3BGthcxOq6csRHpYntCcxkg""#,
        r#"stripe.api_key = "sk_test_placeholder""#,
        "billing/stripe.py",
        r"A Stripe live secret key (`sk_live_`) or restricted key (`rk_live_`): it moves real money. Test-mode keys are not reported.";
    "square-access-token", "Square access token", Critical, ["eaaa"], r#"\b(EAAA[A-Za-z0-9_-]{60})\b"#, None,
        r#"SQUARE_TOKEN="EAAAMBE25UheeiLGsZqGuzN8XTyXZjdURlSDWqbqt0hdhzwP3M79Ntow1Uxd1i_0""#,
        r#"SQUARE_TOKEN="${SQUARE_TOKEN}""#,
        ".env",
        r"A Square production access token.";
    "openai-api-key", "OpenAI API key", Critical, ["sk-"], r#"\b(sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}T3BlbkFJ[A-Za-z0-9_-]{20,})"#, None,
        r#"client = OpenAI(api_key="sk-proj-b9AVWhKHrB7c94qR0D3QwrxmnaqiYb1VOJyTLHM25dPdz51nT3BlbkFJFSEvtLwkqQxFbitWSq8YwrdVQfAmQ9AqGV7RgxErcZooj1dD")"#,
        r#"client = OpenAI(api_key=os.environ["OPENAI_API_KEY"])"#,
        "agents/llm.py",
        r"An OpenAI API key (project, service-account, admin and legacy keys carry the `T3BlbkFJ` marker).";
    "anthropic-api-key", "Anthropic API key", Critical, ["sk-ant-"], r#"\b(sk-ant-(?:api|admin)[0-9]{2}-[A-Za-z0-9_-]{80,})"#, None,
        r"ANTHROPIC_API_KEY=sk-ant-api03-3guwC_pjR9PtoejZHnfaZ5GrHuTE0jd0j8My4oy1OILnCw0Nkr9WoMUssLZ2shr3zJRrsBHX0P_pzr47oGQWeqUcmhwdDAA",
        r"ANTHROPIC_API_KEY=sk-ant-your-key-here",
        ".env.local",
        r"An Anthropic API or admin key (`sk-ant-api03-…`, `sk-ant-admin01-…`).";
    "huggingface-token", "Hugging Face access token", Important, ["hf_"], r#"\b(hf_[A-Za-z]{34})\b"#, None,
        r#"HF_TOKEN = "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""#,
        r#"HF_TOKEN = "hf_xxx""#,
        "ml/download.py",
        r"A Hugging Face user access token.";
    "npm-token", "npm access token", Critical, ["npm_"], r#"\b(npm_[A-Za-z0-9]{36})\b"#, Crc32Base62,
        r"//registry.npmjs.org/:_authToken=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",
        r"//registry.npmjs.org/:_authToken=${NPM_TOKEN}",
        ".npmrc",
        r"An npm access token. Like GitHub tokens, npm tokens end with a base62 CRC-32 checksum: verified tokens are critical, others important.";
    "pypi-token", "PyPI API token", Critical, ["pypi-ageichlwas5vcmc"], r#"\b(pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,})"#, None,
        r"password = pypi-AgEIcHlwaS5vcmc_lJeqDzjqRk6SYf8U96lpx0Y9SyLj3iMQ_Td2MhxSAjyHNaXObwJ6JRBCAYWtdzYdunJWQ",
        r"password = __token__",
        ".pypirc",
        r"A PyPI API token (a macaroon starting `pypi-AgEIcHlwaS5vcmc`).";
    "docker-hub-token", "Docker Hub personal access token", Critical, ["dckr_pat_"], r#"\b(dckr_pat_[A-Za-z0-9_-]{27})(?:[^A-Za-z0-9_-]|$)"#, None,
        r#"echo "dckr_pat_KjB6qQDvwq_c29IUgWoqgifXOBv" | docker login -u ci --password-stdin"#,
        r#"echo "$DOCKER_TOKEN" | docker login -u ci --password-stdin"#,
        "scripts/push.sh",
        r"A Docker Hub personal access token (`dckr_pat_`).";
    "google-api-key", "Google API key", Important, ["aiza"], r#"\b(AIza[0-9A-Za-z_-]{35})(?:[^0-9A-Za-z_-]|$)"#, None,
        r#"const mapsKey = "AIzaVMXFxO5W9rSYzVsBE0lzkiHfvbbb4ZA1lf2";"#,
        r"const mapsKey = import.meta.env.VITE_MAPS_KEY;",
        "web/src/maps.ts",
        r"A Google Cloud API key (`AIza…`). Browser keys are often public by design; restrict them by referrer and API, and never commit server keys.";
    "sendgrid-api-key", "SendGrid API key", Critical, ["sg."], r#"\b(SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43})(?:[^A-Za-z0-9_-]|$)"#, None,
        r#"SENDGRID_API_KEY = "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""#,
        r#"SENDGRID_API_KEY = env("SENDGRID_API_KEY")"#,
        "mail/settings.py",
        r"A SendGrid API key (`SG.<id>.<secret>`).";
    "twilio-api-key", "Twilio API key SID", Important, ["sk"], r#"\b(SK[0-9a-f]{32})\b"#, None,
        r#"TWILIO_API_KEY = "SK247bb8338a3df40853ae7ab39c4b01fa""#,
        r#"TWILIO_API_KEY = "SKxxxxxxxxxxxxxxxx""#,
        "sms/twilio.py",
        r"A Twilio API key SID (`SK` and 32 hex digits); its secret usually sits next to it.";
    "shopify-token", "Shopify access token", Critical, ["shpat_", "shpca_", "shppa_", "shpss_"], r#"\b(shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32})\b"#, None,
        r"SHOPIFY_TOKEN=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",
        r"SHOPIFY_TOKEN=shpat_<token>",
        ".env",
        r"Shopify admin, custom-app, private-app and shared-secret tokens.";
    "digitalocean-token", "DigitalOcean token", Critical, ["dop_v1_", "doo_v1_", "dor_v1_"], r#"\b(do[opr]_v1_[a-f0-9]{64})\b"#, None,
        r#"do_token = "dop_v1_bf8ec8764a715ec107d2a7dde236ce2fa0777b56e8d1883163f1496a54353d35""#,
        r"do_token = var.do_token",
        "infra/main.tf",
        r"A DigitalOcean personal access, OAuth or refresh token.";
    "vault-token", "HashiCorp Vault token", Critical, ["hvs.", "hvb."], r#"\b(hv[sb]\.[A-Za-z0-9_-]{90,})"#, None,
        r"VAULT_TOKEN=hvs.VbrQJYoF7rKjqNA9AlE0_sV762NN1NJ2uTy9cvHEc-yQQJzw8b4_1uAiUC0KufgJbSZmdXDDllIEGEM5rmGoDtcAY62dggp",
        r"VAULT_TOKEN=$(vault print token)",
        "scripts/deploy.sh",
        r"A HashiCorp Vault service or batch token.";
    "sentry-auth-token", "Sentry auth token", Critical, ["sntrys_", "sntryu_"], r#"\b(sntry[su]_[A-Za-z0-9+/=_-]{60,})"#, None,
        r"SENTRY_AUTH_TOKEN=sntrys_KYxoBdPHUn2HKugVK9jWTHFMu8jeykvQiKJ2RfavINiYdI06lc8cLJlLUmonzta3vWClLB",
        r"SENTRY_AUTH_TOKEN=${{ secrets.SENTRY_AUTH_TOKEN }}",
        ".github/env",
        r"A Sentry organization or user auth token.";
    "grafana-service-account-token", "Grafana service account token", Critical, ["glsa_"], r#"\b(glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8})\b"#, None,
        r#"grafana_token = "glsa_SEBKgwmHdba8JJ5E7caiGVNBBxW1GdUa_939f58de""#,
        r"grafana_token = var.grafana_token",
        "monitoring/grafana.tf",
        r"A Grafana service account token.";
    "databricks-token", "Databricks personal access token", Important, ["dapi"], r#"\b(dapi[a-f0-9]{32}(?:-[0-9])?)\b"#, None,
        r#"DATABRICKS_TOKEN="dapi2d54137fcb6229610aa96b0d5fb5a6e0""#,
        r#"DATABRICKS_TOKEN="dapi<token>""#,
        "jobs/run.sh",
        r"A Databricks personal access token.";
    "linear-api-key", "Linear API key", Critical, ["lin_api_"], r#"\b(lin_api_[A-Za-z0-9]{40})\b"#, None,
        r#"LINEAR_KEY = "lin_api_Fg3t76ilNYxYqWDdVHTbecXBpTPxxiIc6iq7vh0P""#,
        r"LINEAR_KEY = process.env.LINEAR_KEY",
        "tools/linear.ts",
        r"A Linear personal API key.";
    "age-secret-key", "age secret key", Critical, ["age-secret-key-1"], r#"\b(AGE-SECRET-KEY-1[0-9A-Z]{58})\b"#, None,
        r"AGE-SECRET-KEY-1ZS37FS8DT8T0RNP2PUMQLXSJWA0FGQUM4JW34C83EAGYUECYC358KKN4FV",
        r"# public key: age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p",
        "keys/backup.txt",
        r"An age encryption secret key: it decrypts every file encrypted to its public key.";
    "azure-storage-account-key", "Azure storage account key", Critical, ["accountkey="], r"AccountKey=([A-Za-z0-9+/]{86}==)", None,
        r#""Storage": "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=cS1c52b30NUgrB9rRWdeMR19YDxs+lH0IGk/rBjP0HONABTrig+Y7lEz1QaO8ltNarNIkv2sEIvHVEMPuWN91q==;EndpointSuffix=core.windows.net""#,
        r#""Storage": "UseDevelopmentStorage=true""#,
        "appsettings.json",
        r"An Azure storage account key inside a connection string: full access to the account's blobs, queues and tables.";
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preflight::rules::patterns::test_support::run;

    fn rule(id: &str) -> Box<dyn Rule> {
        rules().into_iter().find(|r| r.meta().id == id).unwrap()
    }

    #[test]
    fn github_checksum_decides_severity_not_presence() {
        let r = rule("github-token");
        let good = run(r.as_ref(), "a.js", r.meta().fails);
        assert_eq!(good[0].severity, Severity::Critical);
        // Same length, one character of the random part changed: the checksum no longer holds.
        let fails = r.meta().fails;
        let at = fails.find("ghp_").unwrap() + 4;
        let original = fails.as_bytes()[at] as char;
        let replacement = if original == 'Z' { "Y" } else { "Z" };
        let mut tampered = fails.to_string();
        tampered.replace_range(at..at + 1, replacement);
        let weak = run(r.as_ref(), "a.js", &tampered);
        assert_eq!(weak.len(), 1);
        assert_eq!(weak[0].severity, Severity::Important);
    }

    #[test]
    fn documented_examples_and_env_reads_are_ignored() {
        assert!(
            run(
                rule("aws-access-key-id").as_ref(),
                "a.py",
                "key = \"AKIAIOSFODNN7EXAMPLE\""
            )
            .is_empty()
        );
        assert!(
            run(
                rule("stripe-secret-key").as_ref(),
                "a.py",
                "stripe.api_key = \"sk_test_4eC39HqLyjWDarjtT1zdp7dc\""
            )
            .is_empty()
        );
    }
}
