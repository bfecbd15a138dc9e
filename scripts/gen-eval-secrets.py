#!/usr/bin/env python3
"""Generate the secret-family diffs in evals/diffs/ deterministically.

Every secret rule's documented failing example (docs/rules/<id>.md) is re-drawn with a seeded
generator: after the first eight characters of each token-like run, every character is replaced
by one of the same class (digit, lower, upper) taken from the run itself, so the format stays
valid while the value differs from the documentation. GitHub and npm tokens get their CRC-32
checksum recomputed. None of these values is a real credential.

The secrets are grouped by family, one diff per family; each rule's line lands in its example
file as an added line inside a modification hunk with context. The script prints, per diff,
the expected findings as manifest JSON; evals/diffs/manifest.json holds the reviewed result.

Usage: python3 scripts/gen-eval-secrets.py   (from the repository root; rewrites the diffs)
"""

import json
import re
import subprocess
import zlib

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

FAMILIES = {
    "secrets-cloud": [
        "aws-access-key-id", "aws-secret-access-key", "alibaba-access-key-id",
        "azure-storage-account-key", "azure-ad-client-secret", "google-api-key",
        "digitalocean-token", "terraform-cloud-token", "heroku-api-key",
    ],
    "secrets-source-control-ci": [
        "github-token", "github-fine-grained-pat", "gitlab-token", "gitlab-runner-token",
        "gitlab-pipeline-trigger-token", "bitbucket-app-password", "atlassian-api-token",
        "vault-token", "doppler-token",
    ],
    "secrets-chat": ["slack-token", "slack-webhook", "discord-webhook", "telegram-bot-token"],
    "secrets-saas": [
        "stripe-secret-key", "square-access-token", "shopify-token", "sendgrid-api-key",
        "twilio-api-key", "mailchimp-api-key", "mailgun-api-key", "postman-api-key",
        "notion-token", "linear-api-key",
    ],
    "secrets-observability": [
        "new-relic-user-key", "datadog-api-key", "sentry-auth-token",
        "grafana-service-account-token", "databricks-token",
    ],
    "secrets-ai": ["openai-api-key", "anthropic-api-key", "huggingface-token", "groq-api-key"],
    "secrets-registries": [
        "npm-token", "pypi-token", "docker-hub-token", "rubygems-api-key", "nuget-api-key",
        "crates-io-token",
    ],
    "secrets-keys-and-strings": [
        "private-key", "age-secret-key", "connection-string-password", "jwt",
        "generic-secret-assignment",
    ],
}

# Kept verbatim: formats whose structure a re-draw would break (encoded headers, bech32).
VERBATIM = {"jwt", "private-key", "age-secret-key"}
MARKERS = ["T3BlbkFJ", "atlasv1", "ATATT3", "AKIA", "LTAI", "HRKU", "PMAK", "NRAK"]


class Rng:
    def __init__(self, seed):
        self.state = seed

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
        return z ^ (z >> 31)


def base62(n, width):
    digits = ""
    while n > 0:
        digits = BASE62[n % 62] + digits
        n //= 62
    return digits.rjust(width, "0")


def redraw(rng, text):
    def class_of(c):
        return (c.isdigit(), c.islower())

    def sub(m):
        run = m.group(0)
        if len(run) < 16:
            return run
        keep = set(range(8))
        for marker in MARKERS:
            i = run.find(marker)
            while i >= 0:
                keep.update(range(i, i + len(marker)))
                i = run.find(marker, i + 1)
        pools = {}
        for c in run[8:]:
            pools.setdefault(class_of(c), sorted(set(c2 for c2 in run[8:] if class_of(c2) == class_of(c))))
        out = []
        for i, c in enumerate(run):
            if i in keep:
                out.append(c)
            else:
                pool = pools[class_of(c)]
                out.append(pool[rng.next() % len(pool)])
        return "".join(out)

    return re.sub(r"[A-Za-z0-9]+", sub, text)


def fix_checksum(text):
    def sub(m):
        prefix, body = m.group(1), m.group(2)
        data = body[:-6]
        return prefix + data + base62(zlib.crc32(data.encode()), 6)

    text = re.sub(r"\b(gh[pousr]_)([A-Za-z0-9]{36})\b", sub, text)
    return re.sub(r"\b(npm_)([A-Za-z0-9]{36})\b", sub, text)


def fails_example(rule_id):
    page = open(f"docs/rules/{rule_id}.md").read()
    section = page.split("## Example that fails", 1)[1].split("## Example that passes", 1)[0]
    path = re.search(r"Added to `([^`]+)`", section).group(1)
    block = re.search(r"```+[a-z]*\n(.*?)\n```", section, re.S).group(1)
    return path, block


def main():
    metas = {
        r["id"]: r
        for r in json.loads(
            subprocess.check_output(["cargo", "run", "-q", "--", "rules", "list", "--format", "json"])
        )
    }
    rng = Rng(0x5EED_E7A1)
    for family, ids in FAMILIES.items():
        files = {}
        for rule_id in ids:
            path, block = fails_example(rule_id)
            if rule_id not in VERBATIM:
                block = fix_checksum(redraw(rng, block))
            files.setdefault(path, []).append((rule_id, block))
        diff = []
        expected = []
        for n, (path, entries) in enumerate(files.items()):
            start = 3 + 4 * n
            context_before = [f"# settings for {family} ({n})", ""]
            added = []
            first_lines = []
            for rule_id, block in entries:
                first_lines.append((rule_id, start + len(context_before) + len(added)))
                added.extend(block.split("\n"))
            context_after = ["# end"]
            old_len = len(context_before) + len(context_after)
            new_len = old_len + len(added)
            diff.append(f"diff --git a/{path} b/{path}")
            diff.append("index 1111111..2222222 100644")
            diff.append(f"--- a/{path}")
            diff.append(f"+++ b/{path}")
            diff.append(f"@@ -{start},{old_len} +{start},{new_len} @@")
            diff.extend(" " + l for l in context_before)
            diff.extend("+" + l for l in added)
            diff.extend(" " + l for l in context_after)
            for rule_id, line in first_lines:
                expected.append(
                    {"rule_id": rule_id, "path": path, "line": line, "severity": metas[rule_id]["severity"]}
                )
        with open(f"evals/diffs/{family}.diff", "w") as f:
            f.write("\n".join(diff) + "\n")
        print(json.dumps({"name": family, "diff": f"{family}.diff", "expected": expected}))


if __name__ == "__main__":
    main()
