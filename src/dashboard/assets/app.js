// The dashboard's views, rendered from the JSON of /api/snapshot (live) or from the snapshot
// embedded by `factory report --html` (window.FACTORY_SNAPSHOT). Text is always set with
// textContent: nothing from the state directory is parsed as HTML.
"use strict";
(function () {
  var VIEWS = ["session", "timeline", "kanban", "reviews", "scorecards", "lessons", "decisions"];
  var embedded = window.FACTORY_SNAPSHOT || null;
  var params = new URLSearchParams(window.location.search);
  var selected = params.get("session") || "";
  var data = null;

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        if (k === "text") node.textContent = attrs[k];
        else if (k === "cls") node.className = attrs[k];
        else node.setAttribute(k, attrs[k]);
      });
    }
    (children || []).forEach(function (c) {
      if (c === null || c === undefined) return;
      node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return node;
  }
  function txt(v) { return v === null || v === undefined ? "" : String(v); }
  function badge(word) { return el("span", { cls: "badge s-" + txt(word), text: txt(word) }); }
  function ms(v) {
    if (v === null || v === undefined) return "";
    if (v < 1000) return v + " ms";
    var s = v / 1000;
    if (s < 120) return s.toFixed(1) + " s";
    var m = s / 60;
    if (m < 120) return m.toFixed(1) + " min";
    return (m / 60).toFixed(1) + " h";
  }
  function table(headers, rows) {
    var head = el("tr", null, headers.map(function (h) { return el("th", { text: h }); }));
    var body = el("tbody", null, rows);
    return el("table", null, [el("thead", null, [head]), body]);
  }
  function cell(v, cls) { return el("td", cls ? { cls: cls } : null, [v instanceof Node ? v : txt(v)]); }
  function empty(text) { return el("p", { cls: "muted", text: text }); }
  function section(name) { return document.getElementById("view-" + name); }
  function fill(name, nodes) {
    var s = section(name);
    s.replaceChildren.apply(s, nodes);
  }

  function renderSession(d) {
    var nodes = [el("h2", { text: "Session" })];
    if (!d.present) {
      nodes.push(empty(d.error || d.message || "no session"));
      return fill("session", nodes);
    }
    nodes.push(el("div", { cls: "next", id: "next-step" }, [el("strong", { text: "Next step: " }), txt(d.next_step)]));
    var kv = el("dl", { cls: "kv" });
    [["id", d.id], ["request", d.request], ["class", d.change_class], ["trigger", d.trigger],
     ["state", d.state], ["current phase", d.current_phase || "—"], ["started", d.created_at],
     ["updated", d.updated_at], ["review cycles", d.counters.review_cycles],
     ["impl. retries", d.counters.implementation_retries], ["planning retries", d.counters.planning_retries],
     ["recurrence", d.counters.recurrence], ["agent calls", d.agent_calls], ["tokens", d.tokens],
     ["cost", "$" + Number(d.cost_usd || 0).toFixed(2)]].forEach(function (p) {
      kv.appendChild(el("dt", { text: p[0] }));
      kv.appendChild(el("dd", { text: txt(p[1]) }));
    });
    if (d.escalation) {
      kv.appendChild(el("dt", { text: "escalation" }));
      kv.appendChild(el("dd", null, [badge("escalated"), " " + txt(d.escalation.reason) + " in " + txt(d.escalation.phase) + ": " + txt(d.escalation.detail)]));
    }
    nodes.push(kv);
    nodes.push(table(["#", "phase", "status", "attempts", "duration", "artifact"], d.phases.map(function (p) {
      return el("tr", { "data-phase": p.name }, [cell(p.number, "num"), cell(p.name), cell(badge(p.status)),
        cell(p.attempts, "num"), cell(ms(p.duration_ms), "num"), cell(p.artifact)]);
    })));
    fill("session", nodes);
  }

  function timelineRow(e) {
    if (e.malformed) {
      return el("tr", { cls: "malformed" }, [cell(e.line, "num"),
        el("td", { colspan: "6", text: "malformed line skipped: " + txt(e.text) + " (" + txt(e.error) + ")" })]);
    }
    var tail = [txt(e.detail)];
    if (e.decision) tail.push("decision: " + e.decision);
    return el("tr", null, [cell(e.line, "num"), cell(txt(e.ts).replace("T", " ")), cell(e.phase),
      cell(e.action), cell(badge(e.status)), cell(e.duration_ms !== undefined ? ms(e.duration_ms) : (e.gap_ms !== undefined ? "+" + ms(e.gap_ms) : ""), "num"),
      cell(tail.filter(Boolean).join("  "))]);
  }
  function renderTimeline(d) {
    var nodes = [el("h2", { text: "Timeline" }),
      el("p", { cls: "muted", id: "timeline-count", text: d.shown + " of " + d.total + " entries" + (d.malformed ? ", " + d.malformed + " malformed line(s) skipped" : "") })];
    if (!d.entries.length) nodes.push(empty("no events yet"));
    var t = table(["line", "time", "phase", "action", "status", "duration", "detail"], d.entries.map(timelineRow));
    t.id = "timeline-table";
    nodes.push(t);
    fill("timeline", nodes);
  }

  function renderKanban(d) {
    var cols = d.columns.map(function (c) {
      return el("div", { cls: "column", "data-column": c.name }, [el("h3", { text: c.title + " (" + c.cards.length + ")" })].concat(
        c.cards.map(function (k) {
          return el("div", { cls: "card" }, [
            el("div", null, [el("strong", { text: k.issue ? "#" + k.issue : "no issue" }), " " + txt(k.task_id) + (k.wave ? " · wave " + k.wave : "")]),
            el("div", { cls: "meta", text: (k.branch ? k.branch + " " : "") + (k.pull_requests.length ? "PR " + k.pull_requests.map(function (n) { return "#" + n; }).join(", ") : "no PR yet") })]);
        })));
    });
    var waves = (d.waves || []).map(function (w) {
      return "wave " + w.wave + ": " + w.status + " (" + w.issues.map(function (n) { return "#" + n; }).join(", ") + ")";
    });
    var head = [el("h2", { text: "Kanban" })];
    if (waves.length) { head.push(el("p", { cls: "meta", id: "kanban-waves", text: waves.join(" → ") })); }
    fill("kanban", head.concat([el("div", { cls: "columns" }, cols)]));
  }

  function renderReviews(d) {
    var nodes = [el("h2", { text: "Reviews" })];
    if (!d.reviews.length) nodes.push(empty("no reviews yet"));
    d.reviews.forEach(function (r) {
      if (r.error) { nodes.push(el("p", { cls: "error", text: r.error })); return; }
      var rows = r.findings.map(function (f) {
        return el("tr", null, [cell(badge(f.severity)), cell(f.category), cell(el("span", { cls: "mono", text: txt(f.file) + (f.line ? ":" + f.line : "") })),
          cell(f.description), cell(f.recommendation)]);
      });
      nodes.push(el("div", { cls: "review" }, [
        el("h3", null, ["PR #" + txt(r.pr) + (r.cycle ? ", cycle " + r.cycle : "") + " ", badge(r.verdict)]),
        el("p", { cls: "muted", text: r.counts.critical + " critical, " + r.counts.important + " important, " + r.counts.advisory + " advisory" + (r.summary ? " · " + r.summary : "") }),
        rows.length ? table(["severity", "category", "location", "finding", "recommendation"], rows) : empty("no findings")]));
    });
    fill("reviews", nodes);
  }

  function chart(cards) {
    var NS = "http://www.w3.org/2000/svg";
    var W = 800, H = 220, L = 36, R = 12, T = 12, B = 24;
    var svg = document.createElementNS(NS, "svg");
    svg.setAttribute("class", "chart");
    svg.setAttribute("viewBox", "0 0 " + W + " " + H);
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", "score per session, oldest first");
    function add(tag, attrs, text) {
      var n = document.createElementNS(NS, tag);
      Object.keys(attrs).forEach(function (k) { n.setAttribute(k, attrs[k]); });
      if (text !== undefined) n.textContent = text;
      svg.appendChild(n);
      return n;
    }
    [0, 40, 60, 75, 90, 100].forEach(function (v) {
      var y = T + (H - T - B) * (1 - v / 100);
      add("line", { x1: L, x2: W - R, y1: y, y2: y, stroke: "#e4e7ec" });
      add("text", { x: 4, y: y + 4 }, String(v));
    });
    var n = cards.length;
    var pts = cards.map(function (c, i) {
      var x = n === 1 ? (L + W - R) / 2 : L + (W - L - R) * i / (n - 1);
      var y = T + (H - T - B) * (1 - Number(c.score || 0) / 100);
      return [x, y, c];
    });
    add("polyline", { points: pts.map(function (p) { return p[0] + "," + p[1]; }).join(" "), fill: "none", stroke: "#2c5fb8", "stroke-width": 2 });
    pts.forEach(function (p) {
      var dot = add("circle", { cx: p[0], cy: p[1], r: 4, fill: "#2c5fb8", "data-score": txt(p[2].score) });
      var tip = document.createElementNS(NS, "title");
      tip.textContent = txt(p[2].session_id) + ": " + txt(p[2].score) + " (" + txt(p[2].band) + ")";
      dot.appendChild(tip);
    });
    return svg;
  }
  function renderScorecards(d) {
    var nodes = [el("h2", { text: "Scorecards" })];
    if (d.error) nodes.push(el("p", { cls: "error", text: d.error }));
    if (!d.scorecards.length) nodes.push(empty("no scorecards yet: `factory complete` writes one per session"));
    else {
      nodes.push(chart(d.scorecards));
      nodes.push(table(["completed", "session", "title", "class", "score", "band", "review cycles avg", "retries", "cost", "lessons"],
        d.scorecards.slice().reverse().map(function (c) {
          return el("tr", null, [cell(c.completed_at), cell(c.session_id), cell(c.feature_title), cell(c.change_class),
            cell(c.score, "num"), cell(badge(c.band)), cell(c.review_cycles_avg, "num"), cell(c.retries, "num"),
            cell(c.cost_usd === null || c.cost_usd === undefined ? "" : "$" + Number(c.cost_usd).toFixed(2), "num"), cell(c.lessons_generated, "num")]);
        })));
    }
    fill("scorecards", nodes);
  }

  function renderLessons(d) {
    var nodes = [el("h2", { text: "Lessons" })];
    if (d.error) nodes.push(el("p", { cls: "error", text: d.error }));
    if (!d.lessons.length) nodes.push(empty("no lessons yet"));
    else nodes.push(table(["rank", "id", "kind", "pattern", "preventive rule", "hits", "last seen", "state"], d.lessons.map(function (l) {
      return el("tr", null, [cell(l.rank, "num"), cell(l.id), cell(l.kind), cell(l.pattern), cell(l.preventive_rule),
        cell(l.hits, "num"), cell(l.last_seen), cell(badge(l.active ? "active" : "retired"))]);
    })));
    fill("lessons", nodes);
  }

  function decisionRow(x) {
    return el("tr", null, [cell(txt(x.ts).replace("T", " ")), cell(x.phase), cell(x.action), cell(x.decision), cell(x.detail)]);
  }
  function renderDecisions(d) {
    var nodes = [el("h2", { text: "Decisions" })];
    if (!d.decisions.length) nodes.push(empty("no decisions recorded yet"));
    var t = table(["time", "phase", "action", "decision", "rationale / detail"], d.decisions.map(decisionRow));
    t.id = "decisions-table";
    nodes.push(t);
    fill("decisions", nodes);
  }

  function render(snap) {
    data = snap;
    renderSession(snap.session);
    renderTimeline(snap.timeline);
    renderKanban(snap.kanban);
    renderReviews(snap.reviews);
    renderScorecards(snap.scorecards);
    renderLessons(snap.lessons);
    renderDecisions(snap.decisions);
    renderSessions(snap.sessions, snap.session);
    document.body.setAttribute("data-loaded", "true");
  }

  function renderSessions(s, current) {
    var select = document.getElementById("session-select");
    var opts = [];
    if (s.current) opts.push(el("option", { value: "", text: s.current + " (current)" }));
    s.archived.forEach(function (id) { opts.push(el("option", { value: id, text: id })); });
    if (!opts.length) opts.push(el("option", { value: "", text: "none" }));
    select.replaceChildren.apply(select, opts);
    select.value = selected;
    select.disabled = !!embedded;
  }

  function show() {
    var name = (window.location.hash || "#session").slice(1);
    if (VIEWS.indexOf(name) < 0) name = "session";
    VIEWS.forEach(function (v) {
      section(v).classList.toggle("active", v === name);
      document.querySelector('nav a[data-view="' + v + '"]').classList.toggle("active", v === name);
    });
  }

  function fail(text) {
    var e = document.getElementById("error");
    e.textContent = text;
    e.hidden = false;
  }

  function load() {
    var url = "api/snapshot" + (selected ? "?session=" + encodeURIComponent(selected) : "");
    return fetch(url).then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) throw new Error(body.error || r.statusText);
        document.getElementById("error").hidden = true;
        render(body);
      });
    }).catch(function (e) { fail("cannot load " + url + ": " + e.message); });
  }

  function appendEntry(entry) {
    if (!data || selected) return;
    var sid = data.session.present ? data.session.id : null;
    if (sid && !entry.malformed && entry.sid !== sid) return;
    var body = document.querySelector("#timeline-table tbody");
    var row = timelineRow(entry);
    row.classList.add("fresh");
    body.appendChild(row);
    data.timeline.entries.push(entry);
    data.timeline.total += 1;
    data.timeline.shown += 1;
    document.getElementById("timeline-count").textContent = data.timeline.shown + " of " + data.timeline.total + " entries";
    if (entry.decision) {
      var d = document.querySelector("#decisions-table tbody");
      d.appendChild(decisionRow(entry));
    }
  }

  function live() {
    if (params.get("live") === "0" || !window.EventSource) return;
    var badgeEl = document.getElementById("live");
    var es = new EventSource("api/events");
    var timer = null;
    es.addEventListener("open", function () { badgeEl.textContent = "live"; badgeEl.className = "live on"; });
    es.addEventListener("error", function () { badgeEl.textContent = "reconnecting"; badgeEl.className = "live off"; });
    es.addEventListener("log", function (m) { appendEntry(JSON.parse(m.data)); });
    es.addEventListener("state", function () {
      // Several files often change together: reload once they settle.
      clearTimeout(timer);
      timer = setTimeout(load, 150);
    });
  }

  document.getElementById("session-select").addEventListener("change", function (ev) {
    selected = ev.target.value;
    var q = new URLSearchParams(window.location.search);
    if (selected) q.set("session", selected); else q.delete("session");
    history.replaceState(null, "", "?" + q.toString() + window.location.hash);
    load();
  });
  window.addEventListener("hashchange", show);
  show();
  if (embedded) {
    document.getElementById("mode").textContent = "report generated " + txt(embedded.generated_at);
    render(embedded);
  } else {
    document.getElementById("mode").textContent = "dashboard";
    load().then(live);
  }
})();
