//! Provider token formats: one table entry per provider, each with its prefilter keywords,
//! pattern, severity and documented examples. The examples are synthetic values that satisfy
//! the format (and its checksum, where it has one); none is a real credential.

use std::sync::LazyLock;

use regex::Regex;

use crate::findings::{Category, Finding, Severity};
use crate::preflight::diff::FileDiff;
use crate::preflight::rules::lead::Lead;
use crate::preflight::rules::{Rule, RuleMeta};

use super::allowlist::is_placeholder;
use super::checksum::crc32_base62_valid;
use super::{decode, report};

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
    lead: LazyLock<Option<Lead>>,
}

impl Rule for TokenRule {
    fn meta(&self) -> &RuleMeta {
        &self.meta
    }

    fn keywords(&self) -> &[&'static str] {
        self.keywords
    }

    fn reads_decoded(&self) -> bool {
        true
    }

    fn lead(&self) -> Option<&Lead> {
        self.lead.as_ref()
    }

    fn check(&self, file: &FileDiff, out: &mut Vec<Finding>) {
        decode::judge_added_lines(file, |lines| self.check_lines(file, lines, out));
    }

    /// Line by line: every match contains one of the keywords (`datadog-api-key` has `ddapi`
    /// for `DDAPIKEY`).
    fn check_lines(&self, file: &FileDiff, lines: &[(u32, &str)], out: &mut Vec<Finding>) {
        let _ = self.pattern;
        for &(n, text) in lines {
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
                    description: concat!($description, "\n\nLines are read with same-line literal concatenation joined (`'sk_live_' + '…'`, `\"AKIA\" \"…\"`, `[…].join('')`) and JSON escapes (`\\/`, `\\u002f`) undone. When another secret rule reports the same value on the same line, only this more specific finding is kept.\n\nFix: revoke the credential at the provider (it is exposed as soon as it is pushed), then load it at run time from the environment or a secret store."),
                    fails: $fails,
                    passes: $passes,
                    example_path: $path,
                },
                keywords: &[$($kw),*],
                pattern: $pattern,
                check: Check::$check,
                regex: LazyLock::new(|| Regex::new($pattern).expect("built-in pattern compiles")),
                lead: LazyLock::new(|| Lead::of($pattern)),
            })),*]
        }

        /// Every provider token rule's id and pattern.
        #[cfg(test)]
        fn patterns() -> Vec<(&'static str, &'static str)> {
            vec![$(($id, $pattern)),*]
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
        r"The 40-character secret half of an AWS access key, assigned to a variable or key named like `aws_secret_access_key`. AWS's documented example secret `wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY` is ignored.";
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
        r"A Stripe live secret key (`sk_live_`) or restricted key (`rk_live_`): it moves real money. Test-mode keys are not reported, nor is Stripe's documented test key `sk_test_4eC39HqLyjWDarjtT1zdp7dc`.";
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
        r"An Azure storage account key inside a connection string: full access to the account's blobs, queues and tables. The storage emulator's (Azurite's) published account key `Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==` is not reported.";
    "gitlab-runner-token", "GitLab runner authentication token", Critical, ["glrt-"], r#"\b(glrt-[A-Za-z0-9_-]{20,})"#, None,
        r#"token = "glrt-u8jzPde0IgxLd6GncfBA""#,
        r#"token = "${RUNNER_TOKEN}""#,
        "runner/config.toml",
        r"A GitLab runner authentication token (`glrt-`): it registers runners that receive CI jobs and their secrets.";
    "gitlab-pipeline-trigger-token", "GitLab pipeline trigger token", Critical, ["glptt-"], r#"\b(glptt-[a-f0-9]{40})\b"#, None,
        r"TRIGGER=glptt-272d1371c17149d439536b3216fdaeeb975729fa",
        r"TRIGGER=$CI_JOB_TOKEN",
        "scripts/trigger.sh",
        r"A GitLab pipeline trigger token (`glptt-`).";
    "bitbucket-app-password", "Bitbucket API token", Critical, ["atbb"], r#"\b(ATBB[A-Za-z0-9_=.-]{32,})"#, None,
        r"BITBUCKET_TOKEN=ATBBUCsMehGAkWvj7FAc9QeWJKY40uvSwMFL",
        r"BITBUCKET_TOKEN=${BITBUCKET_TOKEN}",
        ".env",
        r"A Bitbucket app password or API token (`ATBB…`).";
    "atlassian-api-token", "Atlassian API token", Critical, ["atatt3"], r#"\b(ATATT3[A-Za-z0-9_=-]{150,})"#, None,
        r#"JIRA_TOKEN = "ATATT36ilI8ihN5KXSc7Tvo-hBKqFYY-kv5ZJr3J1TWDtkwtDDb_xHKas1VOqg6YYZYn9ZhyiA4uoRgnatmUdjAWtGSU8po_799NksnRH9ucAUsdMlHUvTCQCyEZDz-TddJ8HyS5SUkCnD8zRA9a9SkpXz9w3QlY7Zkuvqdt7s8Stqcbnr3yBdGBLE""#,
        r#"JIRA_TOKEN = os.environ["JIRA_TOKEN"]"#,
        "tools/jira.py",
        r"An Atlassian (Jira, Confluence) API token (`ATATT3…`).";
    "heroku-api-key", "Heroku API key", Critical, ["hrku-"], r#"\b(HRKU-[A-Za-z0-9_-]{60})"#, None,
        r"HEROKU_API_KEY=HRKU-PH1qhT61qtc4xatws8phP9nhFyJfm5di4PzJ59FHz5r1pY4OjE2jBMptUsGr",
        r"HEROKU_API_KEY=${HEROKU_API_KEY}",
        ".env",
        r"A Heroku platform API key (`HRKU-`).";
    "mailchimp-api-key", "Mailchimp API key", Important, ["-us"], r#"\b([0-9a-f]{32}-us[0-9]{1,2})\b"#, None,
        r#"MAILCHIMP_KEY = "e73cf575dcad6ba2b0aee0ca92373288-us21""#,
        r"MAILCHIMP_KEY = settings.MAILCHIMP_KEY",
        "newsletter/client.py",
        r"A Mailchimp marketing API key (32 hex digits and a data-centre suffix such as `-us21`).";
    "mailgun-api-key", "Mailgun API key", Important, ["key-"], r#"\b(key-[0-9a-f]{32})\b"#, None,
        r#"MAILGUN_KEY = "key-1584d8c4fa2815d2802827283e0ad841""#,
        r#"MAILGUN_KEY = "key-<your key>""#,
        "mail/mailgun.py",
        r"A Mailgun private API key (`key-` and 32 hex digits).";
    "postman-api-key", "Postman API key", Critical, ["pmak-"], r#"\b(PMAK-[a-f0-9]{24}-[a-f0-9]{34})\b"#, None,
        r"POSTMAN_API_KEY=PMAK-73581569969e58b081006f7e-3dfc967a64cb14028d512c9791e558e08b",
        r"POSTMAN_API_KEY=${POSTMAN_API_KEY}",
        ".env",
        r"A Postman API key (`PMAK-`).";
    "doppler-token", "Doppler token", Critical, ["dp."], r#"\b(dp\.(?:st|sa|ct|pt|scim|audit)\.[A-Za-z0-9_.-]{40,})"#, None,
        r"DOPPLER_TOKEN=dp.st.prd.9vJupc94tnwlavyfErGPmpGXafq0fjzLczbttOofL9H",
        r"DOPPLER_TOKEN=$(doppler configure get token --plain)",
        "scripts/env.sh",
        r"A Doppler service, service-account, CLI or personal token.";
    "terraform-cloud-token", "Terraform Cloud / HCP Terraform token", Critical, ["atlasv1"], r#"\b([A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=-]{60,})"#, None,
        r#"token = "2WjQ5TY4MyWuUF.atlasv1.tKsf2rcDkdfrUnW5gcF_Ha6ili8GjHEAD6-Wj9KfzjsQGMrb9h_ImB_LK777pzNk8cL""#,
        r"token = var.tfc_token",
        "infra/backend.tf",
        r"A Terraform Cloud (HCP Terraform) API token (`….atlasv1.…`).";
    "notion-token", "Notion integration token", Critical, ["secret_", "ntn_"], r#"\b((?:secret_[A-Za-z0-9]{43}|ntn_[0-9]{11}[A-Za-z0-9]{35}))\b"#, None,
        r#"NOTION_TOKEN = "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""#,
        r#"NOTION_TOKEN = os.getenv("NOTION_TOKEN")"#,
        "sync/notion.py",
        r"A Notion internal integration token (`ntn_…`, formerly `secret_…`).";
    "new-relic-user-key", "New Relic user API key", Critical, ["nrak-"], r#"\b(NRAK-[A-Z0-9]{27})\b"#, None,
        r"NEW_RELIC_API_KEY=NRAK-YUHVAUVZHMASQXEZYEX1RDRGDSJ",
        r"NEW_RELIC_API_KEY=${NEW_RELIC_API_KEY}",
        ".env",
        r"A New Relic user API key (`NRAK-`).";
    "groq-api-key", "Groq API key", Critical, ["gsk_"], r#"\b(gsk_[A-Za-z0-9]{52})\b"#, None,
        r#"GROQ_API_KEY = "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""#,
        r#"GROQ_API_KEY = os.environ["GROQ_API_KEY"]"#,
        "agents/groq.py",
        r"A Groq API key (`gsk_`).";
    "rubygems-api-key", "RubyGems API key", Critical, ["rubygems_"], r#"\b(rubygems_[a-f0-9]{48})\b"#, None,
        r":rubygems_api_key: rubygems_8c79fc35526f7eaed46725a2a7b860dcd6c8a1f8b46287cc",
        r#":rubygems_api_key: <%= ENV["GEM_HOST_API_KEY"] %>"#,
        ".gem/credentials",
        r"A RubyGems.org API key (`rubygems_`).";
    "nuget-api-key", "NuGet API key", Important, ["oy2"], r#"\b(oy2[a-z0-9]{43})\b"#, None,
        r"dotnet nuget push pkg.nupkg --api-key oy221tbic145aez732pgojj7g3f9caioctiq71hget7myq",
        r#"dotnet nuget push pkg.nupkg --api-key "$NUGET_API_KEY""#,
        "scripts/publish.sh",
        r"A NuGet.org API key (`oy2…`).";
    "crates-io-token", "crates.io API token", Important, ["cio"], r#"\b(cio[a-zA-Z0-9]{32})\b"#, None,
        r"CARGO_REGISTRY_TOKEN=ciooYMaaItDr9uP14pEHpJpb9ATPtdbmF4R",
        r"CARGO_REGISTRY_TOKEN=${{ secrets.CARGO_REGISTRY_TOKEN }}",
        ".env.release",
        r"A crates.io API token (`cio…`).";
    "alibaba-access-key-id", "Alibaba Cloud AccessKey ID", Important, ["ltai"], r#"\b(LTAI[A-Za-z0-9]{20})\b"#, None,
        r#"access_key_id = "LTAIPAfqoQB7xoFcSvTAxRzm""#,
        r#"access_key_id = os.environ["ALIBABA_CLOUD_ACCESS_KEY_ID"]"#,
        "deploy/oss.py",
        r"An Alibaba Cloud AccessKey ID (`LTAI…`); its secret usually sits next to it.";
    "datadog-api-key", "Datadog API key", Critical, ["datadog", "dd_api", "ddapi"], r#"(?i)(?:datadog|dd)_?api_?key["']?\s*[:=]\s*["']?([a-f0-9]{32})\b"#, None,
        r"DD_API_KEY=0926f6967e7893f57fd14c1604d115ce",
        r"DD_API_KEY=${DD_API_KEY}",
        "deploy/datadog.env",
        r"A Datadog API key (32 hex digits assigned to `DD_API_KEY` or `datadog_api_key`).";
    "azure-ad-client-secret", "Microsoft Entra ID client secret", Critical, ["q~"], r#"\b([A-Za-z0-9_~.-]{3}[0-9]Q~[A-Za-z0-9_~.-]{31,34})(?:[^A-Za-z0-9_~.-]|$)"#, None,
        r#""ClientSecret": "5T48Q~OokvQyx7eNWVQ4vnakJkS1pAWTN3lg8zV5""#,
        r#""ClientSecret": "@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/app)""#,
        "appsettings.json",
        r"A Microsoft Entra ID (Azure AD) application client secret (the `…Q~…` format).";
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preflight::rules::patterns::test_support::{generated_texts, run};

    fn rule(id: &str) -> Box<dyn Rule> {
        rules().into_iter().find(|r| r.meta().id == id).unwrap()
    }

    /// Every match of every token pattern starts where the pattern's lead admits one, on
    /// thousands of texts cut from the rules' own examples, their lower-cased forms and bytes
    /// of every class the patterns use. The engine skips lines the lead turns away, so a lead
    /// that turned away a match would lose a finding.
    #[test]
    fn every_match_starts_where_the_lead_admits_one() {
        let mut with_lead = 0;
        for (id, pattern) in patterns() {
            let Some(lead) = Lead::of(pattern) else {
                continue;
            };
            with_lead += 1;
            let regex = Regex::new(pattern).unwrap();
            let fails = rule(id).meta().fails;
            let value = regex
                .find(fails)
                .expect("the failing example matches")
                .as_str();
            let lower = value.to_ascii_lowercase();
            let mut pieces: Vec<&str> = vec![
                value, value, &lower, "\"", " ", " ", "=", "-", "_", ".", "/", "~", ":", "a", "Z",
                "7", "f",
            ];
            let cuts: Vec<&str> = (1..value.len())
                .step_by(5)
                .flat_map(|i| [&value[..i], &value[i..]])
                .collect();
            pieces.extend(cuts);
            let mut matched = 0;
            for text in generated_texts(&pieces, 6, 4000) {
                for m in regex.find_iter(&text) {
                    matched += 1;
                    assert!(
                        lead.admits_any(text.as_bytes(), m.start()),
                        "{id}: {text:?} at {}",
                        m.start()
                    );
                }
            }
            assert!(matched > 50, "{id}: {matched}");
        }
        assert!(with_lead >= 40, "{with_lead}");
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
