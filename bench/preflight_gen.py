#!/usr/bin/env python3
"""Write a realistic, deterministic unified diff of about N megabytes to stdout.

Usage: preflight_gen.py MEGABYTES [SEED] [--dense]

Default mode: files cycle through Python, Rust, TypeScript, YAML and lockfile-like content;
hunks mix context, removed and added lines (about 60% added), with the occasional long line, a
sprinkling of keywords that wake the secret rules' prefilter (token, password, key) without
real secrets, and a binary file every 500 files.

--dense: a keyword-dense diff. Most added lines carry provider-token-shaped strings (`ghp_`,
`AKIA`, `sk_live_`, `xoxb-`, `eyJ…`, `glpat-`, `AIza`, `password = "…"`, connection URLs) that
are almost never real matches (wrong length, wrong alphabet, placeholders, words), so the
prefilter activates the rules and their regexes must do the work. It also has long lines
(several KB) and minified JavaScript bundle lines (100 KB and more on one line). About one line
in 5,000 holds a value that does match, so the run reports a bounded number of findings.
"""
import random
import string
import sys

WORDS = ("user account order invoice payment token password key secret client request "
         "response handler service config value items total offset limit cache retry "
         "timeout session query result error status").split()
EXT = ["py", "rs", "ts", "yml", "go", "java"]
ALNUM = string.ascii_letters + string.digits
UPPER32 = string.ascii_uppercase + "234567"


def line(rng, ext):
    w = rng.choice
    kind = rng.random()
    if kind < 0.05:
        return "    " + " ".join(w(WORDS) for _ in range(rng.randint(40, 120)))
    if ext == "py":
        return f"    {w(WORDS)}_{w(WORDS)} = self.{w(WORDS)}.get('{w(WORDS)}', {rng.randint(0, 999)})"
    if ext == "rs":
        return f"    let {w(WORDS)}_{w(WORDS)} = {w(WORDS)}.{w(WORDS)}({rng.randint(0, 999)})?;"
    if ext == "ts":
        return f"  const {w(WORDS)}{w(WORDS).title()} = await {w(WORDS)}.{w(WORDS)}({rng.randint(0, 999)});"
    if ext == "yml":
        return f"  {w(WORDS)}_{w(WORDS)}: \"{w(WORDS)}-{rng.randint(0, 99999)}\""
    if ext == "go":
        return f"\t{w(WORDS)}{w(WORDS).title()}, err := {w(WORDS)}.{w(WORDS).title()}(ctx, {rng.randint(0, 999)})"
    return f"        {w(WORDS)}.{w(WORDS)}({w(WORDS)}, {rng.randint(0, 999)});"


def rand(rng, alphabet, n):
    return "".join(rng.choice(alphabet) for _ in range(n))


def near_miss(rng):
    """A provider-token-shaped string that is not a real match (almost always)."""
    k = rng.randrange(14)
    if k == 0:   # GitHub token one character short
        return "ghp_" + rand(rng, ALNUM, 35)
    if k == 1:   # AWS key id with a lower-case letter / too short
        return "AKIA" + rand(rng, UPPER32, 11) + "x" + rand(rng, UPPER32, 3)
    if k == 2:   # Stripe key too short
        return "sk_live_" + rand(rng, ALNUM, 12)
    if k == 3:   # Slack token without the numeric parts
        return "xoxb-" + rand(rng, string.ascii_lowercase, 14)
    if k == 4:   # JWT-like: two segments only
        return "eyJ" + rand(rng, ALNUM, 24) + ".eyJ" + rand(rng, ALNUM, 30)
    if k == 5:   # GitLab prefix, too short
        return "glpat-" + rand(rng, ALNUM, 12)
    if k == 6:   # Google key prefix, too short
        return "AIza" + rand(rng, ALNUM, 20)
    if k == 7:   # OpenAI-style prefix without the marker
        return "sk-proj-" + rand(rng, ALNUM, 40)
    if k == 8:
        return "npm_" + rand(rng, ALNUM, 20)
    if k == 9:
        return "SG." + rand(rng, ALNUM, 10)
    if k == 10:
        return "hf_" + rand(rng, string.ascii_lowercase, 12)
    if k == 11:
        return "dckr_pat_" + rand(rng, ALNUM, 8)
    if k == 12:
        return "key-" + rand(rng, "0123456789abcdef", 16)
    return "ASIA" + rand(rng, string.ascii_lowercase, 16)


def real_match(rng):
    """A value with the right shape (a finding). Synthetic, never a real credential."""
    k = rng.randrange(3)
    if k == 0:
        return "sk_live_" + rand(rng, ALNUM, 28)
    if k == 1:
        return "xoxb-" + rand(rng, string.digits, 12) + "-" + rand(rng, string.digits, 12) + "-" + rand(rng, ALNUM, 24)
    return "AKIA" + rand(rng, UPPER32, 16)


def dense_line(rng, ext):
    w = rng.choice
    kind = rng.random()
    if kind < 0.0002:
        return f'    {w(WORDS)}_value = "{real_match(rng)}"'
    if kind < 0.04:   # long line: several KB of keyword-dense text
        return "    " + " ".join(
            near_miss(rng) if rng.random() < 0.3 else w(WORDS) for _ in range(rng.randint(150, 600)))
    if kind < 0.30:  # a token-shaped literal under a name that is not a credential's
        name = w(["ref", "label", "marker", "fixture", "sample"])
        return f'    {name}_{rng.randint(0, 999)} = "{near_miss(rng)}"  # {w(WORDS)} {w(WORDS)}'
    if kind < 0.45:  # credential names with references, placeholders and short words
        value = w(['os.environ["DB_PASSWORD"]', 'getenv("PASSWORD")', '"changeme"', '"hunter2"',
                   'vault.read("db/password")', '"${DB_PASSWORD}"', '""'])
        return f'    {w(["password", "db_password", "secret", "api_token"])} = {value}'
    if kind < 0.55:
        return f'    api_key = get_api_key({w(WORDS)}, "{w(WORDS)}_{rng.randint(0, 999)}")'
    if kind < 0.62:
        return (f'    DATABASE_URL = "postgres://{w(WORDS)}:${{DB_PASSWORD}}@{w(WORDS)}.internal:5432/'
                f'{w(WORDS)}"')
    if kind < 0.68:
        return f'    auth = "Bearer " + session.{w(WORDS)}_token  # secret key rotation {w(WORDS)}'
    return line(rng, ext)


def minified_bundle(rng, size):
    """One line of minified JavaScript of about `size` bytes, dense in keywords."""
    parts = []
    n = 0
    while n < size:
        a, b = rand(rng, string.ascii_lowercase, 1), rand(rng, string.ascii_lowercase, 2)
        k = rng.randrange(8)
        if k == 0:
            s = f'var {a}{b}=function(t){{return t.token||t.apiKey||"{near_miss(rng)}"}};'
        elif k == 1:
            s = f'{a}.password=e.secret?{b}.key:"";'
        elif k == 2:
            s = f'{b}["authorization"]="Bearer "+{a}.accessToken;'
        elif k == 3:
            s = f'if({a}.select&&{b}.update){a}.where({b});'
        elif k == 4:
            s = f'{a}.exec({b}.verify,{rng.randint(0, 9999)});'
        elif k == 5:
            s = f'fetch("https://api.example.com/v1/{b}?key="+{a});'
        elif k == 6:
            s = f'{b}.cache[{rng.randint(0, 999)}]={a}.session;'
        else:
            s = f'{a}{b}="{near_miss(rng)}",'
        parts.append(s)
        n += len(s)
    return "".join(parts)


def dense_file(rng, n):
    if n % 40 == 0:  # a minified bundle: one added line of 100-300 KB
        path = f"web/dist/bundle_{n}.js"
        body = "+" + minified_bundle(rng, rng.randint(100_000, 300_000))
        return (f"diff --git a/{path} b/{path}\nnew file mode 100644\nindex 0000000..bf269f4\n"
                f"--- /dev/null\n+++ b/{path}\n@@ -0,0 +1,1 @@\n{body}\n")
    return None


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    dense = "--dense" in sys.argv[1:]
    target = int(float(args[0]) * 1024 * 1024)
    rng = random.Random(int(args[1]) if len(args) > 1 else 42)
    make_line = dense_line if dense else line
    out = sys.stdout
    written = 0
    n = 0
    buf = []
    while written < target:
        n += 1
        ext = EXT[n % len(EXT)]
        path = f"src/module_{n % 97}/{rng.choice(WORDS)}_{n}.{ext}"
        chunk = dense_file(rng, n) if dense else None
        if chunk is not None:
            pass
        elif n % 500 == 0:
            chunk = (f"diff --git a/assets/img_{n}.png b/assets/img_{n}.png\n"
                     f"index 1111111..2222222 100644\n"
                     f"Binary files a/assets/img_{n}.png and b/assets/img_{n}.png differ\n")
        else:
            parts = [f"diff --git a/{path} b/{path}\n", "index 83db48f..bf269f4 100644\n",
                     f"--- a/{path}\n", f"+++ b/{path}\n"]
            start = 1
            for _ in range(rng.randint(1, 6)):
                body = []
                old = new = 0
                for _ in range(rng.randint(5, 60)):
                    r = rng.random()
                    text = make_line(rng, ext)
                    if r < 0.25:
                        body.append(" " + text); old += 1; new += 1
                    elif r < 0.40:
                        body.append("-" + text); old += 1
                    else:
                        body.append("+" + text); new += 1
                parts.append(f"@@ -{start},{old} +{start},{new} @@\n")
                parts.append("\n".join(body) + "\n")
                start += max(old, new) + rng.randint(5, 200)
            chunk = "".join(parts)
        buf.append(chunk)
        written += len(chunk)
        if len(buf) >= 256:
            out.write("".join(buf)); buf = []
    out.write("".join(buf))


if __name__ == "__main__":
    main()
