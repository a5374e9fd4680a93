// dark-feedback support page: live alert feed + customer page. Vanilla JS, no build step.
// Every customer-provided string is inserted as text (textContent), never parsed as HTML.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  let I18N = {}, lang = localStorage.getItem("df-lang") || (navigator.language || "es").slice(0, 2);
  if (lang !== "es" && lang !== "en") lang = "es";
  let lastEventId = null, streamAbort = null;
  const alerts = new Map();

  const t = (k) => (I18N[lang] && I18N[lang][k]) || k;
  const key = () => sessionStorage.getItem("df-key") || "";
  const el = (tag, attrs, ...kids) => {
    const n = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") n.className = v; else if (k.startsWith("on")) n.addEventListener(k.slice(2), v); else n.setAttribute(k, v);
    }
    for (const c of kids) if (c !== null && c !== undefined) n.append(c instanceof Node ? c : String(c));
    return n;
  };
  const say = (text) => { $("msg").textContent = text || ""; };

  async function api(path, opts) {
    const o = Object.assign({ headers: {} }, opts || {});
    o.headers["X-API-Key"] = key();
    if (o.body && typeof o.body !== "string") { o.body = JSON.stringify(o.body); o.headers["Content-Type"] = "application/json"; }
    const r = await fetch(path, o);
    if (!r.ok) {
      let m = r.status + "";
      try { m = (await r.json()).error.message; } catch (e) { /* not JSON */ }
      throw new Error(m);
    }
    return r.status === 204 ? null : r.json();
  }

  function applyI18n() {
    document.documentElement.lang = lang;
    document.querySelectorAll("[data-i18n]").forEach((n) => { n.textContent = t(n.dataset.i18n); });
    $("lang").value = lang;
  }

  function alertItem(a, withLink) {
    const just = lang === "es" ? a.justification_es : a.justification_en;
    const li = el("li", { class: "sev-" + a.severity + " status-" + a.status, "data-alert": a.alert_id });
    const who = withLink ? el("a", { href: "#/c/" + encodeURIComponent(a.customer_id) }, a.customer_id) : a.customer_id;
    li.append(el("div", {}, el("strong", {}, t(a.action)), " · ", t("customer"), " ", who,
      " · ", t("risk"), " ", Math.round(a.risk * 100) + "%", " · ", t(a.severity)));
    li.append(el("div", {}, just));
    li.append(el("div", { class: "meta" }, t("status") + ": " + t(a.status) + " · " + new Date(a.alerted_at).toLocaleString(lang)));
    if (a.status === "open" || a.status === "acknowledged") li.append(actionButtons(a));
    return li;
  }

  function actionButtons(a) {
    const box = el("div", { class: "actions" });
    const note = el("textarea", { rows: "2", placeholder: t("note"), maxlength: "2000" });
    const useful = el("select", {}, el("option", { value: "" }, t("useful")), el("option", { value: "true" }, t("yes")),
      el("option", { value: "false" }, t("no")));
    const act = (verb) => async () => {
      const body = { note: note.value || null };
      if (useful.value) body.useful = useful.value === "true";
      try { upsert(await api("/v1/alerts/" + a.alert_id + "/" + verb, { method: "POST", body })); say(""); if (location.hash.startsWith("#/c/")) route(); }
      catch (e) { say(t("error") + ": " + e.message); }
    };
    if (a.status === "open") box.append(el("button", { onclick: act("acknowledge") }, t("acknowledge")));
    box.append(el("button", { onclick: act("resolve") }, t("resolve")), el("button", { onclick: act("dismiss") }, t("dismiss")), useful, note);
    return box;
  }

  function upsert(a) { alerts.set(a.alert_id, a); renderFeed(); }

  function renderFeed() {
    const rank = { critical: 4, high: 3, medium: 2, low: 1, info: 0 };
    const list = [...alerts.values()].sort((x, y) => (rank[y.severity] - rank[x.severity]) || (y.alerted_at > x.alerted_at ? 1 : -1));
    $("feed").replaceChildren(...(list.length ? list.map((a) => alertItem(a, true)) : [el("li", {}, t("no_alerts"))]));
  }

  async function loadFeed() {
    if (!key()) { say(t("need_key")); return; }
    try {
      const page = await api("/v1/alerts?status=open&status=acknowledged&limit=200&lang=" + lang);
      alerts.clear(); page.items.forEach((a) => alerts.set(a.alert_id, a)); renderFeed(); say("");
      stream();
    } catch (e) { say(t("error") + ": " + e.message); }
  }

  // SSE over fetch (EventSource cannot send the API key header; a key in the URL would be logged).
  async function stream() {
    if (streamAbort) streamAbort.abort();
    const ctl = new AbortController(); streamAbort = ctl;
    const headers = { "X-API-Key": key() };
    if (lastEventId) headers["Last-Event-ID"] = lastEventId;
    try {
      const r = await fetch("/v1/alerts/stream", { headers, signal: ctl.signal });
      if (!r.ok) throw new Error(r.status);
      $("conn").className = "conn on"; $("conn").title = t("connected");
      const reader = r.body.getReader(), dec = new TextDecoder();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += dec.decode(value, { stream: true });
        let i;
        while ((i = buf.indexOf("\n\n")) >= 0) { handle(buf.slice(0, i)); buf = buf.slice(i + 2); }
      }
    } catch (e) { if (ctl.signal.aborted) return; }
    $("conn").className = "conn off"; $("conn").title = t("disconnected");
    setTimeout(() => { if (streamAbort === ctl) stream(); }, 3000);
  }

  function handle(block) {
    let id = null, data = "";
    for (const line of block.split("\n")) {
      if (line.startsWith("id: ")) id = line.slice(4);
      else if (line.startsWith("data: ")) data += line.slice(6);
    }
    if (id) lastEventId = id;
    if (!data) return;
    const ev = JSON.parse(data);
    upsert(ev.alert);
  }

  function chart(series) {
    const svg = $("chart"), W = 600, H = 200, P = 24, NS = "http://www.w3.org/2000/svg";
    svg.replaceChildren();
    const mk = (tag, attrs) => { const n = document.createElementNS(NS, tag); for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v); return n; };
    svg.append(mk("line", { x1: P, x2: W - P, y1: H / 2, y2: H / 2, stroke: "#d0d7de" }));
    if (!series.length) return;
    const ts = series.map((p) => Date.parse(p.timestamp)), t0 = Math.min(...ts), t1 = Math.max(...ts);
    const x = (v) => P + (t1 === t0 ? (W - 2 * P) / 2 : ((v - t0) / (t1 - t0)) * (W - 2 * P));
    const y = (s) => H / 2 - s * (H / 2 - P);
    const pts = series.map((p, i) => x(ts[i]) + "," + y(p.sentiment_score)).join(" ");
    svg.append(mk("polyline", { points: pts, fill: "none", stroke: "#0969da", "stroke-width": 2 }));
    series.forEach((p, i) => {
      const c = mk("circle", { cx: x(ts[i]), cy: y(p.sentiment_score), r: 4, fill: p.sentiment_score < 0 ? "#cf222e" : "#2da44e" });
      const tip = document.createElementNS(NS, "title"); tip.textContent = new Date(p.timestamp).toLocaleString(lang) + ": " + p.sentiment_score.toFixed(2);
      c.append(tip); svg.append(c);
    });
  }

  async function showCustomer(id) {
    $("feed-view").hidden = true; $("customer-view").hidden = false;
    try {
      const v = await api("/v1/customers/" + encodeURIComponent(id) + "?lang=" + lang);
      const c = v.customer;
      $("c-id").textContent = c.customer_id;
      $("c-summary").textContent = c.opt_out ? t("opted_out") :
        t("risk") + ": " + (c.risk === null ? "—" : Math.round(c.risk * 100) + "%") + " · " + t("severity") + ": " + t(c.severity || "—");
      chart(v.sentiment_series);
      $("c-reasons").replaceChildren(...v.explanation.map((r) =>
        el("li", {}, lang === "es" ? r.text_es : r.text_en, el("span", { class: "meta" }, " (" + (r.contribution > 0 ? "+" : "") + r.contribution.toFixed(2) + ")"))));
      $("c-alerts").replaceChildren(...(v.recent_alerts.length ? v.recent_alerts.map((a) => alertItem(a, false)) : [el("li", {}, t("no_alerts"))]));
      $("c-timeline").replaceChildren(...v.timeline.slice().reverse().map((it) => {
        const when = new Date(it.timestamp).toLocaleString(lang);
        if (it.kind === "event") return el("li", { class: "meta" }, when + " · " + t("event") + ": " + it.type + " (" + it.channel + ")");
        const cls = it.sentiment_score === null ? "" : it.sentiment_score < -0.2 ? "neg" : it.sentiment_score > 0.2 ? "pos" : "";
        const li = el("li", {}, el("span", { class: "meta" }, when + " · " + it.channel + " "), el("span", { class: cls }, it.text_redacted || "—"));
        for (const ev of it.theme_evidence || []) li.append(el("div", { class: "meta" }, t("evidence") + " [" + ev.theme + "]: ", el("mark", {}, ev.evidence)));
        return li;
      }));
      say("");
    } catch (e) { say(t("error") + ": " + e.message); }
  }

  function route() {
    const m = location.hash.match(/^#\/c\/(.+)$/);
    if (m) showCustomer(decodeURIComponent(m[1]));
    else { $("feed-view").hidden = false; $("customer-view").hidden = true; renderFeed(); }
  }

  $("keyform").addEventListener("submit", (e) => { e.preventDefault(); sessionStorage.setItem("df-key", $("apikey").value.trim()); $("apikey").value = ""; loadFeed(); route(); });
  $("lang").addEventListener("change", () => { lang = $("lang").value; localStorage.setItem("df-lang", lang); applyI18n(); route(); });
  window.addEventListener("hashchange", route);
  fetch("/ui/i18n.json").then((r) => r.json()).then((s) => { I18N = s; applyI18n(); loadFeed(); route(); });
})();
