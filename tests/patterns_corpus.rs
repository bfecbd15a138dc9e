//! Labelled corpus for the dangerous-pattern rules, generated deterministically.
//!
//! Every case is one added file labelled with the rule that must fire on it, or with none
//! (a hard negative). All pattern rules run on every case behind the keyword prefilter, as the
//! engine runs them, so the keywords are tested too. The test fails when recall or precision
//! of the category falls below 0.95 or any rule falls below 0.90.
//!
//! `UPDATE_ACCURACY=1 cargo test --test patterns_corpus` rewrites the "Patterns" section of
//! docs/accuracy.md with the figures.

mod support;

use std::collections::BTreeMap;

use factory::preflight::diff::FileDiff;
use factory::preflight::rules::{Rule, patterns};

use support::corpus::{Rng, Tally, fires, update_accuracy_doc};

const VARS: &[&str] = &[
    "user_id", "name", "email", "term", "slug", "order_id", "q", "account", "host", "path",
];
const TABLES: &[&str] = &[
    "users",
    "orders",
    "accounts",
    "invoices",
    "sessions",
    "audit_log",
];
const COLS: &[&str] = &["id", "name", "email", "status", "owner_id", "created_at"];
const INDENTS: &[&str] = &["", "    ", "        ", "\t", "  "];

/// Fill `{v}`, `{t}`, `{c}` placeholders and indent.
fn fill(rng: &mut Rng, template: &str) -> String {
    let indent = rng.pick(INDENTS);
    let text = template
        .replace("{v}", rng.pick(VARS))
        .replace("{t}", rng.pick(TABLES))
        .replace("{c}", rng.pick(COLS));
    text.lines()
        .map(|l| format!("{indent}{l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// (label, file name, templates). Label `None` marks hard negatives.
fn templates() -> Vec<(Option<&'static str>, &'static str, Vec<&'static str>)> {
    vec![
        (
            Some("sql-injection"),
            "app/db.py",
            vec![
                "cursor.execute(f\"SELECT * FROM {t} WHERE {c} = '{{v}}'\")",
                "cur.execute(\"DELETE FROM {t} WHERE {c} = %s\" % {v})",
                "cur.execute(\"SELECT {c} FROM {t} WHERE id = {}\".format({v}))",
                "query = f\"UPDATE {t} SET {c} = '{{v}}' WHERE id = 1\"\ndb.execute(query)",
                "sql = \"SELECT * FROM {t} WHERE {c} = '\" + {v} + \"'\"\nconn.execute(sql)",
            ],
        ),
        (
            Some("sql-injection"),
            "src/repo.ts",
            vec![
                "const rows = await db.query(`SELECT * FROM {t} WHERE {c} = '${{v}}'`);",
                "await pool.query('SELECT * FROM {t} WHERE {c} = ' + {v});",
                "const sql = `DELETE FROM {t} WHERE {c} = ${{v}}`;\nawait knex.raw(sql);",
            ],
        ),
        (
            Some("sql-injection"),
            "store/repo.go",
            vec![
                "rows, err := db.Query(fmt.Sprintf(\"SELECT {c} FROM {t} WHERE id = %s\", {v}))",
                "q := \"SELECT * FROM {t} WHERE {c} = '\" + {v} + \"'\"\nrows, err := db.QueryContext(ctx, q)",
            ],
        ),
        (
            Some("sql-injection"),
            "src/Repo.java",
            vec![
                "ResultSet rs = stmt.executeQuery(\"SELECT * FROM {t} WHERE {c} = '\" + {v} + \"'\");",
                "em.createQuery(String.format(\"SELECT u FROM {t} u WHERE u.{c} = '%s'\", {v}));",
            ],
        ),
        (
            Some("sql-injection"),
            "app/models/user.rb",
            vec![
                "User.find_by_sql(\"SELECT * FROM {t} WHERE {c} = '#{{v}}'\")",
                "Account.where(\"{c} = '#{params[:{v}]}'\")",
                "@rows = Order.order(\"#{params[:sort]} ASC\")",
            ],
        ),
        (
            Some("sql-injection"),
            "src/db.php",
            vec![
                "$r = mysqli_query($conn, \"SELECT * FROM {t} WHERE {c} = '$id'\");",
                "$stmt = $pdo->query(\"SELECT * FROM {t} WHERE {c} = \" . $_GET['{v}']);",
            ],
        ),
        (
            Some("sql-injection"),
            "src/db.rs",
            vec![
                "let rows = sqlx::query(&format!(\"SELECT * FROM {t} WHERE {c} = '{}'\", {v}))",
                "conn.execute(&format!(\"DELETE FROM {t} WHERE {c} = {}\", {v}), [])?;",
            ],
        ),
        (
            None,
            "app/db.py",
            vec![
                "cursor.execute(\"SELECT * FROM {t} WHERE {c} = %s\", ({v},))",
                "cur.execute(\"SELECT {c} FROM {t} WHERE id = :id\", {\"id\": {v}})",
                "log.info(f\"select a {c} from the {t} list: {{v}}\")",
                "query = f\"SELECT * FROM {t} WHERE {c} = '{{v}}'\"\nprint(query)",
                "cursor.execute(\"SELECT count(*) FROM {t}\")",
                "message = f\"Please select one item from {t}\"",
            ],
        ),
        (
            None,
            "src/repo.ts",
            vec![
                "const rows = await db.query('SELECT * FROM {t} WHERE {c} = $1', [{v}]);",
                "const rows = await db.query(`SELECT * FROM {t} WHERE active = true`);",
                "const label = `Select a ${{v}} from the list`;",
                "const rows = await prisma.{t}.findMany({ where: { {c}: {v} } });",
            ],
        ),
        (
            None,
            "store/repo.go",
            vec![
                "rows, err := db.Query(\"SELECT {c} FROM {t} WHERE id = $1\", {v})",
                "msg := fmt.Sprintf(\"updated %d rows\", n)",
            ],
        ),
        (
            Some("shell-injection"),
            "tools/run.py",
            vec![
                "os.system(f\"tar -xzf {{v}} -C /tmp\")",
                "subprocess.run(f\"git log {{v}}\", shell=True)",
                "subprocess.check_output(\"ping -c 1 \" + {v}, shell=True)",
                "os.popen(\"nslookup \" + {v}).read()",
                "cmd = f\"convert {{v}} out.png\"\nsubprocess.call(cmd, shell=True)",
            ],
        ),
        (
            Some("shell-injection"),
            "src/run.js",
            vec![
                "child_process.exec(`convert ${{v}} out.png`);",
                "execSync('rm -rf ' + {v});",
                "exec(`git clone ${{v}}`, cb);",
            ],
        ),
        (
            Some("shell-injection"),
            "cmd/run.go",
            vec![
                "out, err := exec.Command(\"sh\", \"-c\", \"ls \"+{v}).Output()",
                "exec.Command(\"bash\", \"-c\", fmt.Sprintf(\"tar xf %s\", {v})).Run()",
            ],
        ),
        (
            Some("shell-injection"),
            "lib/run.rb",
            vec![
                "out = `git show #{{v}}`",
                "system(\"convert #{{v}} out.png\")",
            ],
        ),
        (
            Some("shell-injection"),
            "src/Run.java",
            vec!["Runtime.getRuntime().exec(\"ping \" + {v});"],
        ),
        (
            Some("shell-injection"),
            "web/run.php",
            vec![
                "$out = shell_exec(\"ls \" . $dir);",
                "passthru(\"convert $file out.png\");",
            ],
        ),
        (
            None,
            "tools/run.py",
            vec![
                "subprocess.run([\"git\", \"log\", {v}], check=True)",
                "os.system(\"make clean\")",
                "subprocess.run(f\"git log {{v}}\".split())",
                "cmd = [\"tar\", \"-xzf\", {v}]\nsubprocess.run(cmd)",
                "print(f\"running {{v}} in a shell\")",
            ],
        ),
        (
            None,
            "src/run.js",
            vec![
                "execFile('git', ['log', {v}], cb);",
                "const m = pattern.exec(`${{v}}-suffix`);",
                "spawn('convert', [{v}, 'out.png']);",
            ],
        ),
        (
            None,
            "cmd/run.go",
            vec!["exec.Command(\"git\", \"log\", {v}).Run()"],
        ),
        (
            Some("unsafe-deserialization"),
            "app/load.py",
            vec![
                "data = pickle.loads(request.data)",
                "obj = pickle.load(open({v}, \"rb\"))",
                "cfg = yaml.load(stream)",
                "cfg = yaml.unsafe_load(body)",
                "obj = marshal.loads(blob)",
            ],
        ),
        (
            Some("unsafe-deserialization"),
            "src/Load.java",
            vec![
                "ObjectInputStream in = new ObjectInputStream(request.getInputStream());",
                "Object o = new XMLDecoder(input).readObject();",
            ],
        ),
        (
            Some("unsafe-deserialization"),
            "web/load.php",
            vec!["$u = unserialize($_COOKIE['{v}']);"],
        ),
        (
            Some("unsafe-deserialization"),
            "src/Load.cs",
            vec![
                "var formatter = new BinaryFormatter();",
                "TypeNameHandling = TypeNameHandling.Auto,",
            ],
        ),
        (
            Some("unsafe-deserialization"),
            "lib/load.rb",
            vec!["obj = Marshal.load(payload)"],
        ),
        (
            None,
            "app/load.py",
            vec![
                "cfg = yaml.safe_load(stream)",
                "cfg = yaml.load(stream, Loader=yaml.SafeLoader)",
                "data = json.loads(request.data)",
                "# pickle.loads is not allowed here",
            ],
        ),
        (
            None,
            "app/models/user.rb",
            vec![
                "Account.where(\"{c} = ?\", params[:{v}])",
                "Account.where({c}: params[:{v}])",
                "logger.info(\"where did #{name} go\")",
            ],
        ),
        (
            None,
            "web/load.php",
            vec!["$u = unserialize($raw, ['allowed_classes' => false]);"],
        ),
        (
            Some("eval-injection"),
            "app/calc.py",
            vec!["result = eval({v})", "exec(request.form[\"{v}\"])"],
        ),
        (
            Some("eval-injection"),
            "src/calc.js",
            vec![
                "const result = eval(req.query.{v});",
                "const fn = new Function('x', {v});",
                "setTimeout('refresh(' + {v} + ')', 100);",
                "vm.runInNewContext({v}, sandbox);",
            ],
        ),
        (
            Some("eval-injection"),
            "web/calc.php",
            vec!["eval($_POST['{v}']);"],
        ),
        (
            None,
            "app/calc.py",
            vec![
                "model.eval()",
                "value = ast.literal_eval({v})",
                "total = eval(\"1 + 2\")",
            ],
        ),
        (
            None,
            "src/calc.js",
            vec![
                "setTimeout(refresh, 100);",
                "setTimeout(() => refresh({v}), 100);",
                "const m = re.exec({v});",
                "const data = JSON.parse({v});",
            ],
        ),
        (
            Some("tls-verification-disabled"),
            "app/client.py",
            vec![
                "resp = requests.get(url, verify=False)",
                "ctx = ssl._create_unverified_context()",
                "ctx.verify_mode = ssl.CERT_NONE",
            ],
        ),
        (
            Some("tls-verification-disabled"),
            "src/client.ts",
            vec![
                "const agent = new https.Agent({ rejectUnauthorized: false });",
                "process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';",
            ],
        ),
        (
            Some("tls-verification-disabled"),
            "net/client.go",
            vec!["TLSClientConfig: &tls.Config{InsecureSkipVerify: true},"],
        ),
        (
            Some("tls-verification-disabled"),
            "scripts/fetch.sh",
            vec![
                "curl -k https://{t}.internal/api",
                "curl -sSLk https://{t}.internal/install | sh",
                "wget --no-check-certificate https://{t}.internal/pkg.tgz",
            ],
        ),
        (
            Some("tls-verification-disabled"),
            "src/client.rs",
            vec![
                "let client = reqwest::Client::builder().danger_accept_invalid_certs(true).build()?;",
            ],
        ),
        (
            None,
            "app/client.py",
            vec![
                "resp = requests.get(url, verify=True)",
                "resp = requests.get(url, verify=\"/etc/ssl/ca.pem\")",
            ],
        ),
        (
            None,
            "src/client.ts",
            vec!["const agent = new https.Agent({ rejectUnauthorized: true, ca });"],
        ),
        (
            None,
            "scripts/fetch.sh",
            vec![
                "curl -sSL --cacert ca.pem https://{t}.internal/api",
                "curl -fsSL https://{t}.example/install.sh -o install.sh",
            ],
        ),
        (
            Some("weak-password-hash"),
            "app/auth.py",
            vec![
                "hashed = hashlib.md5(password.encode()).hexdigest()",
                "digest = hashlib.sha256(user.password.encode()).hexdigest()",
                "salt = bcrypt.gensalt(rounds=6)",
            ],
        ),
        (
            Some("weak-password-hash"),
            "src/auth.js",
            vec![
                "const h = crypto.createHash('sha1').update(password).digest('hex');",
                "const h = await bcrypt.hash(password, 8);",
            ],
        ),
        (
            Some("weak-password-hash"),
            "web/auth.php",
            vec!["$hash = md5($password);"],
        ),
        (
            None,
            "app/auth.py",
            vec![
                "digest = hashlib.sha256(file_bytes).hexdigest()",
                "hashed = argon2.PasswordHasher().hash(password)",
                "salt = bcrypt.gensalt(rounds=12)",
            ],
        ),
        (
            None,
            "src/auth.js",
            vec![
                "const etag = crypto.createHash('md5').update(body).digest('hex');",
                "const h = await bcrypt.hash(password, 12);",
            ],
        ),
        (
            Some("actions-script-injection"),
            ".github/workflows/triage.yml",
            vec![
                "steps:\n  - run: echo \"${{ github.event.issue.title }}\"",
                "steps:\n  - name: greet\n    run: |\n      echo \"Thanks for ${{ github.event.pull_request.title }}\"",
                "steps:\n  - run: git switch ${{ github.head_ref }}",
                "steps:\n  - uses: actions/github-script@v7\n    with:\n      script: |\n        console.log(\"${{ github.event.comment.body }}\")",
            ],
        ),
        (
            None,
            ".github/workflows/triage.yml",
            vec![
                "steps:\n  - env:\n      TITLE: ${{ github.event.issue.title }}\n    run: echo \"$TITLE\"",
                "steps:\n  - run: echo ${{ github.sha }} ${{ github.run_id }}",
                "steps:\n  - with:\n      title: ${{ github.event.issue.title }}\n    uses: some/action@0123456789abcdef0123456789abcdef01234567",
                "steps:\n  - run: echo \"${{ inputs.environment }}\"",
            ],
        ),
        (
            Some("actions-pr-target-checkout"),
            ".github/workflows/ci.yml",
            vec![
                "on: pull_request_target\njobs:\n  t:\n    steps:\n      - uses: actions/checkout@v4\n        with:\n          ref: ${{ github.event.pull_request.head.sha }}",
                "on:\n  pull_request_target:\n    types: [opened]\njobs:\n  t:\n    steps:\n      - uses: actions/checkout@v4\n        with:\n          ref: ${{ github.head_ref }}",
            ],
        ),
        (
            None,
            ".github/workflows/ci.yml",
            vec![
                "on: pull_request\njobs:\n  t:\n    steps:\n      - uses: actions/checkout@0123456789abcdef0123456789abcdef01234567\n        with:\n          ref: ${{ github.event.pull_request.head.sha }}",
                "on: pull_request_target\njobs:\n  label:\n    steps:\n      - uses: actions/labeler@0123456789abcdef0123456789abcdef01234567",
            ],
        ),
    ]
}

#[test]
fn pattern_rules_meet_recall_and_precision_targets() {
    // The unpinned-action rule is advisory and judged by its own tests: the corpus uses
    // tags in workflows on purpose.
    let rules: Vec<Box<dyn Rule>> = patterns::rules()
        .into_iter()
        .filter(|r| r.meta().id != "actions-unpinned-action")
        .collect();
    let mut rng = Rng(0x5EED_F00D);
    let mut tallies: BTreeMap<&str, Tally> = rules
        .iter()
        .map(|r| (r.meta().id, Tally::default()))
        .collect();
    let mut misses: Vec<String> = Vec::new();
    let mut cases = 0;
    for (label, path, group) in templates() {
        for template in group {
            for _ in 0..25 {
                let text = fill(&mut rng, template);
                let file = FileDiff::new_file(path, &text);
                let lowered = text.to_ascii_lowercase();
                cases += 1;
                for rule in &rules {
                    let id = rule.meta().id;
                    let fired = fires(rule.as_ref(), &file, &lowered);
                    let expected = label == Some(id);
                    let t = tallies.get_mut(id).expect("rule tallied");
                    match (expected, fired) {
                        (true, true) => t.tp += 1,
                        (true, false) => {
                            t.fn_ += 1;
                            misses.push(format!("missed {id} in {path}: {text}"));
                        }
                        (false, true) => {
                            t.fp += 1;
                            misses.push(format!("false {id} in {path}: {text}"));
                        }
                        (false, false) => {}
                    }
                }
            }
        }
    }
    let mut total = Tally::default();
    let mut table = String::from(
        "| rule | true positives | false positives | false negatives | recall | precision |\n|---|---:|---:|---:|---:|---:|\n",
    );
    for (id, t) in &tallies {
        total.tp += t.tp;
        total.fp += t.fp;
        total.fn_ += t.fn_;
        table.push_str(&format!(
            "| `{id}` | {} | {} | {} | {:.3} | {:.3} |\n",
            t.tp,
            t.fp,
            t.fn_,
            t.recall(),
            t.precision()
        ));
    }
    table.push_str(&format!(
        "| **all patterns** | {} | {} | {} | **{:.3}** | **{:.3}** |\n",
        total.tp,
        total.fp,
        total.fn_,
        total.recall(),
        total.precision()
    ));
    println!("{cases} cases\n{table}");
    misses.dedup();
    for m in misses.iter().take(20) {
        println!("{m}");
    }
    if std::env::var_os("UPDATE_ACCURACY").is_some() {
        update_doc(cases, &table);
    }
    assert!(
        total.recall() >= 0.95,
        "pattern recall {:.3} below 0.95",
        total.recall()
    );
    assert!(
        total.precision() >= 0.95,
        "pattern precision {:.3} below 0.95",
        total.precision()
    );
    for (id, t) in &tallies {
        assert!(
            t.recall() >= 0.90,
            "{id}: recall {:.3} below 0.90",
            t.recall()
        );
        assert!(
            t.precision() >= 0.90,
            "{id}: precision {:.3} below 0.90",
            t.precision()
        );
    }
}

fn update_doc(cases: usize, table: &str) {
    let section = format!(
        "## Patterns\n\nGenerated by `tests/patterns_corpus.rs` ({cases} cases: positives in Python, JavaScript/TypeScript, Go, Java, Ruby, PHP, C#, Rust, shell and workflow YAML, and hard negatives such as parameterised queries, argument-list process calls, safe loaders and `env:` indirection). Regenerate with `UPDATE_ACCURACY=1 cargo test --test patterns_corpus`.\n\nThe corpus is written alongside the rules, so these figures say the known shapes are caught and the known look-alikes are not; they are not a measurement on arbitrary code. A miss or false alarm reported from real use becomes a new template here before the rule changes.\n\n{table}"
    );
    update_accuracy_doc("Patterns", &section, None);
}
