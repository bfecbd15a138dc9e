#!/usr/bin/env python3
"""Write a realistic, deterministic unified diff of about N megabytes to stdout.

Usage: preflight_gen.py MEGABYTES [SEED]

Files cycle through Python, Rust, TypeScript, YAML and lockfile-like content; hunks mix
context, removed and added lines (about 60% added), with the occasional long line, a
sprinkling of keywords that wake the secret rules' prefilter (token, password, key) without
real secrets, and a binary file every 500 files.
"""
import random
import sys

WORDS = ("user account order invoice payment token password key secret client request "
         "response handler service config value items total offset limit cache retry "
         "timeout session query result error status").split()
EXT = ["py", "rs", "ts", "yml", "go", "java"]


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


def main():
    target = int(float(sys.argv[1]) * 1024 * 1024)
    rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 42)
    out = sys.stdout
    written = 0
    n = 0
    buf = []
    while written < target:
        n += 1
        ext = EXT[n % len(EXT)]
        path = f"src/module_{n % 97}/{rng.choice(WORDS)}_{n}.{ext}"
        if n % 500 == 0:
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
                    text = line(rng, ext)
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
