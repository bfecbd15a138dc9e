//! The words that point to a change class, in families, each term with a weight.
//!
//! A family is one kind of evidence (infrastructure as code, cluster objects, outage wording,
//! behaviour-preserving wording, ...). A term's weight says how much one mention is worth: 3
//! decides a class on its own, 2 nearly so, 1 only with other evidence. Matching is on the
//! lowercased request, on word boundaries. Phrases in [`NEUTRAL`] are removed first: they use a
//! signal word for something else ("regression tests", "an incident report page").
//!
//! To add vocabulary: add the term to the family it belongs to with the weight one mention
//! deserves, add a request that needs it to `evals/intake/requests.jsonl`, and run
//! `factory evals --suite intake` (docs/intake.md#adding-vocabulary).

use std::sync::LazyLock;

use regex::Regex;

/// Which class a family's evidence points to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Points {
    Infra,
    Outage,
    Refactor,
    Feature,
}

/// One family of terms.
pub struct Family {
    /// Its name in rationales and the docs (`iac`, `cluster`, `outage-errors`, ...).
    pub name: &'static str,
    pub points: Points,
    /// `(weight, regex alternatives)`.
    pub terms: &'static [(u32, &'static str)],
}

/// Every family. The eval suite's mutation test removes one at a time and expects the suite to
/// notice.
pub const FAMILIES: &[Family] = &[
    // --- infrastructure -------------------------------------------------------------------
    Family {
        name: "iac",
        points: Points::Infra,
        terms: &[
            (
                3,
                r"terraform|terragrunt|opentofu|tfstate|tfvars|pulumi|cloudformation|cfn stacks?|cdk (?:stacks?|app)|aws cdk",
            ),
            (
                3,
                r"helm(?:\s+(?:charts?|releases?|values|upgrade|rollback))?|helmfile|ansible|playbooks?|kustomiz\w*|crossplane|bicep|arm templates?",
            ),
            (
                2,
                r"infrastructure[- ]as[- ]code|\biac\b|infra (?:repo|code|modules?)|(?:tf|terraform) modules?|(?:aws|google|azurerm) provider",
            ),
        ],
    },
    Family {
        name: "cluster",
        points: Points::Infra,
        terms: &[
            (
                3,
                r"kubernetes|k8s|kubectl|\beks\b|\bgke\b|\baks\b|openshift|nomad jobs?|ecs (?:services?|tasks?|clusters?)|fargate",
            ),
            (
                3,
                r"node ?(?:pools?|groups?)|node drains?|(?:cluster|pod|horizontal pod) ?autoscal\w*|horizontalpodautoscalers?|\bhpas?\b|karpenter|spot instances?",
            ),
            (
                3,
                r"statefulsets?|daemonsets?|configmaps?|poddisruptionbudgets?|pod disruption budgets?|network ?polic(?:y|ies)|(?:liveness|readiness|startup) probes?|init containers?",
            ),
            (
                3,
                r"ingress(?:es)?(?:[- ]nginx| controllers?| rules?)?|service mesh|istio|linkerd|envoy|(?:memory|cpu) limits?|resource (?:limits|quotas?|requests)|(?:kubernetes|k8s|cluster) namespaces?",
            ),
            (
                2,
                r"autoscal\w*|(?:replica|instance|pod) counts?|replicas|cluster (?:upgrade|version|nodes?)|\bnodes?\b (?:pool|count|size)|deployment (?:manifests?|yaml|spec)",
            ),
            (1, r"pods?|sidecars?|clusters?|namespaces?"),
        ],
    },
    Family {
        name: "network",
        points: Points::Infra,
        terms: &[
            (
                3,
                r"\bvpcs?\b|subnets?|security groups?|firewall(?:s| rules?| allow ?list)?|nat gateways?|vpn(?: tunnels?)?|(?:vpc )?peering|transit gateways?|private (?:link|endpoints?|ip)|public ip|authorized networks",
            ),
            (
                3,
                r"route ?53|dns (?:records?|zones?|entries|provider|failover|ttl)|cname|a records?|nameservers?|hosted zones?|mx records?|spf|dkim|dmarc",
            ),
            (
                3,
                r"(?:tls|ssl|https|wildcard) cert\w*|certificates? (?:expir\w*|renew\w*|rotation)|cert-manager|let'?s ?encrypt|acm cert\w*|cert (?:expir\w*|renew\w*)|expired cert\w*",
            ),
            (
                3,
                r"\bwaf\b|web application firewall|ddos protection|egress (?:rules?|traffic|ips?)|ip (?:allow|block|deny) ?lists?|allowlist(?:ed)? ips?|ip ranges?",
            ),
            (
                2,
                r"\bcdn\b|cloudfront|fastly|akamai|cloudflare|load ?balancers?|\b(?:alb|elb|nlb)s?\b|target groups?|listener rules?|\bcerts?\b",
            ),
            (1, r"\bdns\b|domains?|ports? \d+|networking|\bips?\b"),
        ],
    },
    Family {
        name: "identity-and-secrets",
        points: Points::Infra,
        terms: &[
            (
                3,
                r"\biam\b|assume ?role|irsa|workload identity|oidc (?:trust|provider|federation)|instance profiles?|service principals?",
            ),
            (
                3,
                r"vault|secrets? manager|\bkms\b|key ?vault|parameter store|ssm parameters?|sealed secrets?|external secrets?",
            ),
            (
                3,
                r"rotat\w+ (?:the |all |our )?(?:\w+ )?(?:credentials|secrets?|keys|passwords|tokens|certificates)|credential rotation|key rotation",
            ),
            (
                2,
                r"service accounts?|(?:access|deploy) keys?|least privilege|permission boundar\w+|role ?bindings?|\brbac\b",
            ),
            (1, r"credentials|secrets?"),
        ],
    },
    Family {
        name: "data-topology",
        points: Points::Infra,
        terms: &[
            (
                3,
                r"geo-?redundan\w+|cross-region|multi-region|read replicas?|replica sets?|(?:logical |streaming )?replication|shard\w*|failover|multi-az|point[- ]in[- ]time|\bpitr\b|pg_upgrade|cutover",
            ),
            (
                3,
                r"(?:database|db|postgres\w*|mysql|rds|aurora|mongo\w*|redis|elasticsearch|opensearch|kafka) (?:major )?(?:version )?upgrade|(?:postgres\w*|mysql|mongo\w*|redis) \d+(?:\.\d+)? (?:→|->|to) \d+",
            ),
            (
                3,
                r"upgrade (?:the )?(?:database|db|postgres\w*|mysql|rds|aurora|redis|kafka|elasticsearch)(?: cluster)?(?: to)?",
            ),
            (
                3,
                r"backups? (?:retention|policy|schedule|jobs?|buckets?|restore)|retention (?:policy|period)|(?:restore|recover) from (?:a )?backups?|disaster recovery|\brpo\b|\brto\b",
            ),
            (
                3,
                r"drop (?:the )?(?:\S+ ){0,3}(?:tables?|columns?|indexes|databases?|schemas?)|truncate (?:the )?\w+ tables?|rewrite (?:all |every |the )?(?:\w+ )?rows|backfill\w*",
            ),
            (
                3,
                r"kafka (?:partitions?|brokers?|clusters?)|partitions on the|(?:primary|main|production|prod) (?:database|db|cluster)|db\.[a-z0-9]+\.\w+|instance class|maintenance window",
            ),
            (
                2,
                r"\brds\b|aurora|dynamodb|cloud sql|storage (?:autoscaling|is full|full)|disk (?:is )?full|iops|provisioned (?:capacity|throughput)|retention|connection pool(?:er|ing)? (?:size|limits?)|pgbouncer|kafka topics?|cosmos ?db",
            ),
            (
                2,
                r"(?:production|prod) (?:migrations?|databases?|data)|migrat\w+ (?:the )?(?:production|prod) (?:database|data)|change (?:the )?column types?",
            ),
            (1, r"backups?|snapshots?|replicas?|migrations?|databases?"),
        ],
    },
    Family {
        name: "ci-cd",
        points: Points::Infra,
        terms: &[
            (
                3,
                r"github actions?|\.github/workflows|gitlab[- ]ci|circleci|jenkins(?:file)?|buildkite|argo ?cd|argo workflows|spinnaker|tekton|flux(?:cd)?",
            ),
            (
                3,
                r"(?:ci|cd|ci/cd|build|release|deploy(?:ment)?) pipelines?|ci (?:jobs?|config|workflows?|runners?)|(?:self-hosted |github |gitlab |ci )+runners?|build agents?",
            ),
            (
                2,
                r"blue[- ]green|canary (?:deploy\w*|releases?|rollouts?)|rollout strateg\w+|deploy (?:jobs?|steps?|scripts?|keys?)|release (?:workflow|jobs?)",
            ),
            (1, r"deploy\w*|rollouts?|runners?"),
        ],
    },
    Family {
        name: "containers",
        points: Points::Infra,
        terms: &[
            (
                3,
                r"base images?|dockerfiles?|containerfiles?|distroless|container images?|docker images?",
            ),
            (
                2,
                r"\becr\b|\bgcr\b|artifact registry|container registry|image (?:tags?|digests?|pull)|imagepullbackoff|docker ?compose",
            ),
            (1, r"docker|containers?"),
        ],
    },
    Family {
        name: "cloud",
        points: Points::Infra,
        terms: &[
            (
                3,
                r"lifecycle (?:rules?|polic\w+)|bucket polic\w+|s3 (?:buckets?|lifecycle)|glacier|ec2 instances?|instance types?|auto ?scaling groups?|\basg\b",
            ),
            (
                2,
                r"(?:aws|gcp|azure|google cloud) (?:accounts?|projects?|subscriptions?|regions?|providers?|resources?|infra\w*|organi[sz]ations?)|cloud (?:resources?|infra\w*|accounts?)|(?:another|second|new) (?:region|zone|availability zone)",
            ),
            (
                2,
                r"lambda (?:functions? )?(?:timeout|memory|concurrency|runtime|roles?)|cloud run (?:services?|revisions?)|cloud functions? (?:runtime|memory)|(?:logs?|assets?|uploads?|backups?|static|data|storage) buckets?",
            ),
            (
                1,
                r"\baws\b|\bgcp\b|azure|\bs3\b|lambda|ec2|cloud|regions?|zones?|buckets?",
            ),
        ],
    },
    Family {
        name: "platform",
        points: Points::Infra,
        terms: &[
            (
                3,
                r"(?:nginx|apache|haproxy|caddy|traefik|envoy) (?:config\w*|conf|vhosts?|upstreams?)|systemd units?|bastion(?: hosts?)?|reverse prox(?:y|ies)",
            ),
            (
                2,
                r"infrastructure|\binfra\b|(?:bigger|larger|smaller) (?:instances?|machines?|nodes?)|\bvms?\b|virtual machines?|sftp server|(?:edge|app|web|build|ingest|reporting|worker) (?:boxes|hosts|servers|nodes|vms|machines)|worker sizes?",
            ),
            (
                2,
                r"(?:production|prod|staging) (?:environment|cluster|servers?|infra\w*|config(?:uration)?|hosts?)|environment variables? in (?:prod|production)",
            ),
            (
                1,
                r"servers?|hosts?|monitoring (?:stack|agents?)|prometheus|grafana|datadog agents?|alertmanager|log shipping|fluent ?bit|otel collector|resize",
            ),
        ],
    },
    // --- outage -----------------------------------------------------------------------------
    Family {
        name: "outage-errors",
        points: Points::Outage,
        terms: &[
            (
                3,
                r"(?:http |status |errors? |returns? |returning |returned |got |gets? |getting |throws? |throwing |with )5(?:00|02|03|04)|5(?:00|02|03|04)s? (?:errors?|responses?|status|internal|bad gateway|service unavailable|gateway time-?out)|\b5xx\b",
            ),
            (
                3,
                r"internal server errors?|bad gateway|service unavailable|gateway time-?outs?|error rates?|spikes? (?:of|in) errors|errors? spik\w+",
            ),
            (
                2,
                r"4(?:01|03|04|09|13|22|29) (?:errors?|responses?)?(?: for| on| when| since| after| to)|(?:throws?|returns?|returning|getting|get|got|gets) (?:a |an )?4(?:01|03|29)",
            ),
            (
                2,
                r"tracebacks?|stack ?traces?|panicked at|segfault\w*|sigsegv|sigkill|division by zero|undefined method|nil pointer|null pointer|cannot read propert\w+|is not a function|race condition|uncaught|unhandled",
            ),
            (1, r"\w+(?:exception|error)s?\b|exceptions?"),
        ],
    },
    Family {
        name: "outage-failure",
        points: Points::Outage,
        terms: &[
            (
                3,
                r"outages?|(?:is|are|was|were|went|goes|going|gone|been|being) (?:completely |totally |still |all )?down|down (?:since|again|in prod\w*|for (?:all|every|some|users|customers))",
            ),
            (
                3,
                r"crash(?:es|ed|ing)?|crash-?loop\w*|oom ?kill\w*|\booms?\b|out of memory|memory leaks?|leaks memory|deadlocks?|\bhangs?\b|hanging",
            ),
            (
                3,
                r"stopped (?:working|loading|sending|processing|syncing|running)|(?:no longer|doesn'?t|does not|don'?t|do not|isn'?t|is not|aren'?t|won'?t|will not|cannot|can'?t|can not|unable to|couldn'?t) (?:work\w*|log ?in|sign ?in|log into|sign into|get in|check ?out|pay|access|open|start|connect|send|receive|save|submit|upload|download|register|complete|reset|be (?:reached|accessed))",
            ),
            (
                3,
                r"(?:login|log ?in|checkout|check ?out|signup|sign ?up|payments?|search|site|app|api|page|dashboard|website|service|server|endpoint|jobs?|workers?|builds?) (?:is|are|was|were|has been|keeps?) (?:broken|down|failing|crashing|dead)|locked out|(?:nobody|no one|none of (?:the|our) \w+) can|everyone (?:is|gets|behind)|for everyone",
            ),
            (
                3,
                r"(?:double|twice|duplicate)[- ]charg\w*|charged twice|data (?:loss|corruption)|losing (?:\w+ )?(?:data|orders|events|messages|items|money|\d+%)|lost (?:their |all |the )?(?:\w+ )?(?:orders|payments|data|events|profiles?|items|work|money)|corrupt\w*|(?:invoices?|orders?|payments?|charges?|emails?|numbers?|records?|rows?|messages?|notifications?) (?:are |were |get |got |being )?duplicated|duplicate (?:charges|orders|payments|invoices|emails)|(?:ran|runs|charged|sent|credited|applied) twice|at (?:\d+x|100x|0) the price|(?:deletes|deleted|wipes|wiped) (?:the )?(?:user'?s |users'? |their )?\w+",
            ),
            (
                3,
                r"(?:we'?re|we are|they'?re|they are|users are|customers are|merchants are|we'?ve been|we have been) losing|(?:users?|customers?|people|brokers|agents|drivers|players|clients|merchants|patients|staff|restaurants|tenants|everyone|nobody|no one) (?:\S+ ){0,2}(?:can'?t|cannot|can not|are unable to|couldn'?t|aren'?t able to)|(?:can'?t|cannot|unable to|couldn'?t|won'?t|don'?t|doesn'?t|isn'?t|aren'?t) (?:\S+ ){0,3}(?:anymore|at all)|(?:don'?t|doesn'?t|do not|does not|won'?t|isn'?t|aren'?t) (?:show(?:ing)? up|load|appear|arrive|scan|render|match)",
            ),
            (
                3,
                r"exploit\w*|abus(?:e|es|ed|ing) (?:it|this|the)|harvest\w*|hammering|scraping (?:our|the)|enumerat\w+ (?:users|emails|accounts)|brute[- ]forc\w+|credential stuffing|breach\w*|being attacked|being used (?:by|to|in)|leak(?:s|ed|ing) (?:\w+ )?(?:data|emails|tokens|pii|secrets)|account takeover|steal\w*|\bxss\b|sql injection|hackerone|security hole",
            ),
            (
                2,
                r"\bbroken\b|\bbroke\b|fail(?:s|ing|ed|ures?)|unresponsive|unreachable|unavailable|blank (?:page|screen)|white screen|rejected|declined|infinite (?:loop|redirect)|redirect loop|(?:app|ui|screen|page|game|browser|tab|client) (?:freezes|is frozen|hangs|locks up)|not (?:working|loading|sent|delivered|saving|getting)|aren'?t (?:saving|getting|being)|isn'?t (?:saving|getting|being)|stuck|drops?|dropping|dropped",
            ),
        ],
    },
    Family {
        name: "outage-context",
        points: Points::Outage,
        terms: &[
            (
                2,
                r"since (?:\w+ ){0,3}(?:deploy\w*|release|update|upgrade|merge|merged|rollout|push|migration|bump|change|pr|v?\d+(?:\.\d+)+|shipped|monday|tuesday|wednesday|thursday|friday|saturday|sunday|yesterday|this morning|last night|\d+ ?(?:am|pm))|after (?:\w+ ){0,3}(?:deploy\w*|release|update|rollout|upgrade|bump)|(?:started|began) (?:\w+ ){0,3}(?:ago|today|this morning|yesterday|with the|after)",
            ),
            (
                2,
                r"regress(?:ion|ed|es)\b|used to work|worked (?:fine |yesterday|before)|started (?:failing|happening|erroring|throwing|returning)|all of a sudden|suddenly|still going|is still happening",
            ),
            (
                2,
                r"in (?:production|prod)\b|on prod\b|\bprod is\b|live site|in live|(?:users|customers|clients|merchants|players|patients|traders|people|drivers|teams?) (?:are |keep |have |already )?(?:report\w*|complain\w*|seeing|getting|hitting|can'?t|cannot|unable|locked|waiting|furious|angry|already)|a customer (?:noticed|reported|complained)|support tickets?|\d+ (?:tickets|complaints|customers|users|merchants|accounts)|call center|queue is piling up|piling up|on twitter|(?:is|are) affected",
            ),
            (
                3,
                r"\bp[01]\b|\bsev ?[012]\b|sev-[012]|hotfix(?:es)?|on[- ]call|\bpaged\b|pagerduty|showstopper|emergency|as we speak",
            ),
            (
                2,
                r"\burgent(?:ly)?\b|\basap\b|(?:fix|stop|patch) (?:it |this |that )?(?:now|today|immediately|quickly|asap)|(?:now|today) please|immediately|priority:? (?:highest|critical|blocker|p[01])|critical (?:bug|issue|error)|blocker|\bincidents?\b|out today|before (?:tonight|the next)|(?:next one|batch) (?:is scheduled|runs) in",
            ),
            (
                2,
                r"(?:are|were|is|keep|keeps) missing (?:\S+ ){0,2}(?:orders|payments|records|data|events|messages|invoices)|(?:went|goes|go) live|since (?:\S+ ){0,3}(?:went live|launched|go-live|shipped)|\d+(?:\.\d+)? ?(?:%|x) (?:of|normal|more)|anymore",
            ),
            (
                1,
                r"\bbug\b|\bfix\b|errors?|\bwrong\b|instead of|right now|\btoday\b|tonight|timeouts?|time(?:s|d)? ?out|timing out",
            ),
        ],
    },
    // --- refactor ---------------------------------------------------------------------------
    Family {
        name: "behaviour-preserving",
        points: Points::Refactor,
        terms: &[
            (
                3,
                r"no (?:functional|behaviou?r(?:al)?|user[- ]facing|visible|logic|runtime|api|output) changes?|without (?:changing|altering|affecting) (?:the |any )?(?:behaviou?r|functionality|output|api|ui|logic|results?)|behaviou?r[- ]preserving|pure refactor\w*|(?:behaviou?r|output|api|ui|results?|functionality) (?:unchanged|identical|stays? the same|must not change)",
            ),
            (
                3,
                r"(?:same|identical|unchanged) (?:behaviou?r|output|api|ui|results?|functionality|signatures?|queries|responses?|values|flags|defaults|event names|payloads|ordering|state shape|help text|errors?|transactions?|outcome|strings|names|interfaces?)|byte[- ]for[- ]byte|byte[- ]identical|(?:visual|behaviou?ral|feature) parity|(?:must|should) (?:not change|stay the same|behave the same|look and act the same|pass without)|stay(?:s)? (?:exactly )?the same|exactly the same|(?:behave|act|work) (?:exactly )?the same|as (?:it does )?today|just moves?|moves? \+ import|nothing else|no new features?|keeps? (?:its |their |the )?(?:same|current|behaviou?r|public api|interface)|without changing (?:what|how) (?:it|they|this) (?:do|does|work)|(?:must|should|will) (?:be|stay|remain) (?:\S+ )?(?:identical|the same|unchanged)|pixel[- ](?:identical|perfect)|no (?:ux|ui|visual) changes?|(?:\S+ ){0,3}(?:don'?t|doesn'?t|won'?t|do not|does not|will not) change\b|same (?:\S+ )(?:behaviou?r|output|api|ui|results?|responses?|values|payloads|errors?|strings|names)",
            ),
            (
                2,
                r"tech(?:nical)? debt|code smells?|readabilit\w+|maintainabilit\w+|easier to (?:read|test|maintain|follow|understand|reason)|more readable|cleaner|messy|spaghetti|god (?:class|object)|junk drawer|has grown to|too (?:long|big|large)|\d+k?[- ]line|(?:\d|,)+ lines|indirection|backwards|two copies|copy-?pasted?|duplicat(?:ed|ion)|characteri[sz]ation tests|golden files|so (?:we|they) can (?:unit )?test",
            ),
        ],
    },
    Family {
        name: "restructure",
        points: Points::Refactor,
        terms: &[
            (
                3,
                r"refactor\w*|restructur\w+|reorgani[sz]\w+|re-?architect\w*|untangl\w+|de-?duplicat\w+|\bdedupe\b|decoupl\w+|modulari[sz]\w+",
            ),
            (
                2,
                r"clean(?:ed|ing)?[- ]?up|tidy(?:ing)?(?: up)?|renam(?:e|es|ed|ing)|extract(?:s|ed|ing)?|split(?:ting)?|break(?:ing)? (?:up|apart)|pull (?:\S+ ){0,4}(?:out|into)|flatten\w*|centrali[sz]e\w*|consolidat\w+|inlin(?:e|es|ed|ing)|simplif\w+|invert\w*|wrap (?:\S+ ){0,3}in|get rid of|rewrite (?:\S+ ){0,4}(?:with|in|as|using|to)|replace (?:\S+ ){0,5}with|convert (?:\S+ ){0,5}(?:to|into)|mov(?:e|es|ed|ing) (?:\S+ ){0,6}(?:into|to|out of)|port(?:ing)? (?:\S+ ){0,5}to|unify|merge (?:\S+ ){0,3}into one",
            ),
            (
                2,
                r"dead code|unused (?:code|imports|functions)|async/await|composition api|class components?|f-strings|magic numbers|named constants|callback[- ]style|promise chains|inheritance hierarchy|lookup table|nested (?:ifs|ternaries|conditionals)|global functions",
            ),
            (
                1,
                r"helpers?|utils?|abstractions?|interfaces?|boilerplate|modules?|layer",
            ),
        ],
    },
    // --- feature ----------------------------------------------------------------------------
    Family {
        name: "new-capability",
        points: Points::Feature,
        terms: &[
            (
                1,
                r"\badd(?:s|ed|ing)?\b|\bnew\b|support (?:for )?|implement\w*|introduc\w+|allow\w*|enabl\w+|let (?:users|admins|customers|people)|ability to|would like|we need (?:a|an|to be able)|as a (?:user|customer|admin)|expose|integrat\w+ with|build (?:a|an)|create (?:a|an)|show (?:a|an|the)|feature request|(?:should|to) be able to|want(?:s)? to|would be (?:nice|great|useful)|can we (?:add|have|get|show|support|offer)|up to \d+",
            ),
            (
                1,
                r"improv\w+|optimi[sz]\w+|speed up|faster|update the (?:copy|text|docs?|readme)|document\w*|tests? for|coverage",
            ),
        ],
    },
];

/// Phrases that use a signal word for something else, or deny it; removed before matching.
pub const NEUTRAL: &[&str] = &[
    r"regression (?:tests?|suites?|testing|coverage)",
    r"non-regression",
    r"(?:crash|incident|bug|error) (?:reports?|reporting|management|response (?:page|docs?|runbook)|templates?|pages?|dashboards?|forms?|trackers?|history|timeline)",
    r"past incidents",
    r"crash course",
    r"crash-free",
    r"broken links?",
    r"error[- ](?:messages?|handling|boundar(?:y|ies)|states?|pages?|codes? (?:table|list|docs?))",
    r"(?:404|500|not found) pages?",
    r"load tests?|load testing",
    r"health ?checks? endpoint|/health\w*|/ready\w*|/live\w*",
    r"failing tests?|flaky tests?",
    r"time ?out (?:setting|option|parameter|config\w*)|configurable time ?outs?",
    r"not (?:at all )?(?:urgent|broken|an? (?:outage|incident|emergency|bug))(?: at all)?",
    r"nothing (?:is )?(?:broken|down|failing)",
    r"(?:doesn'?t|does not|never) (?:time ?out|crash|fail)",
    r"no (?:rush|outage|incident|backfill|downtime|migration)(?: needed| required)?",
    r"instead of failing",
];

/// A compiled family term.
pub struct Term {
    pub family: &'static str,
    pub points: Points,
    pub weight: u32,
    pub regex: Regex,
}

static COMPILED: LazyLock<Vec<Term>> = LazyLock::new(|| compile(FAMILIES));

static URL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b[a-z][a-z0-9+.-]*://\S+").expect("valid regex"));

static SPACES: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\s+").expect("valid regex"));

/// The neutral phrases as one regex, each bounded where it starts or ends with a word
/// character (`/healthz` starts with none).
static NEUTRAL_RE: LazyLock<Regex> = LazyLock::new(|| {
    let bounded: Vec<String> = NEUTRAL
        .iter()
        .map(|p| {
            let start = if p.starts_with('/') { "" } else { r"\b" };
            format!("{start}(?:{p})\\b")
        })
        .collect();
    Regex::new(&bounded.join("|")).expect("valid neutral phrases")
});

/// Compile `families` (the mutation test compiles a set with one family left out).
pub fn compile(families: &[Family]) -> Vec<Term> {
    families
        .iter()
        .flat_map(|f| {
            f.terms.iter().map(move |(weight, alternatives)| Term {
                family: f.name,
                points: f.points,
                weight: *weight,
                // ASCII word classes compile an order of magnitude faster and the vocabulary
                // is ASCII; `\S` (any word of a gap) stays Unicode so text in any language
                // still splits into words.
                regex: Regex::new(&format!(
                    r"(?-u)\b(?:{})\b",
                    alternatives.replace(r"\S", r"(?u:\S)")
                ))
                .unwrap_or_else(|e| panic!("family {}: {e}", f.name)),
            })
        })
        .collect()
}

/// The bundled vocabulary, compiled once.
pub fn terms() -> &'static [Term] {
    &COMPILED
}

/// One match: the term's family, its weight and the words matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub family: &'static str,
    pub points: Points,
    pub weight: u32,
    pub text: String,
}

/// Every distinct match of `terms` in `request`: lowercased, neutral phrases blanked, hyphenated
/// compounds that mean something else (`crash-free`) are among the neutral phrases; URLs and
/// code quoting are left out. The heaviest term of a family counts
/// once per distinct text.
pub fn hits(terms: &[Term], request: &str) -> Vec<Hit> {
    let lowered = URL
        .replace_all(&request.to_lowercase(), " ")
        .replace(['`', '"', '*', '_'], " ");
    let lowered = SPACES.replace_all(&lowered, " ");
    let text = NEUTRAL_RE.replace_all(&lowered, |c: &regex::Captures<'_>| " ".repeat(c[0].len()));
    let mut out: Vec<Hit> = Vec::new();
    let mut taken: Vec<(usize, usize)> = Vec::new();
    // Heavier terms first, so a strong phrase is not also counted as its weak words.
    let mut order: Vec<&Term> = terms.iter().collect();
    order.sort_by_key(|t| std::cmp::Reverse(t.weight));
    for term in order {
        for m in term.regex.find_iter(&text) {
            if taken.iter().any(|&(s, e)| m.start() < e && s < m.end()) {
                continue;
            }
            taken.push((m.start(), m.end()));
            let words = m.as_str().split_whitespace().collect::<Vec<_>>().join(" ");
            if !out
                .iter()
                .any(|h| h.family == term.family && h.text == words)
            {
                out.push(Hit {
                    family: term.family,
                    points: term.points,
                    weight: term.weight,
                    text: words,
                });
            }
        }
    }
    // In the order they appear, for a rationale that reads like the request.
    out.sort_by_key(|h| text.find(&h.text).unwrap_or(usize::MAX));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_compiles_and_has_terms() {
        assert!(terms().len() >= FAMILIES.len());
        for f in FAMILIES {
            assert!(!f.terms.is_empty(), "{}", f.name);
        }
        let names: std::collections::BTreeSet<&str> = FAMILIES.iter().map(|f| f.name).collect();
        assert_eq!(names.len(), FAMILIES.len(), "family names are unique");
    }

    #[test]
    fn neutral_phrases_do_not_count() {
        let h = hits(terms(), "Add regression tests and an incident report page");
        assert!(h.iter().all(|h| h.points != Points::Outage), "{h:?}");
        let h = hits(
            terms(),
            "Regression since the 2.3 release: totals are wrong",
        );
        assert!(h.iter().any(|h| h.family == "outage-context"), "{h:?}");
    }

    #[test]
    fn a_strong_phrase_is_not_counted_again_as_its_weak_words() {
        let h = hits(
            terms(),
            "Rotate the database credentials in AWS Secrets Manager",
        );
        let texts: Vec<&str> = h.iter().map(|h| h.text.as_str()).collect();
        assert!(texts.contains(&"secrets manager"), "{texts:?}");
        assert!(!texts.contains(&"secrets"), "{texts:?}");
    }
}
