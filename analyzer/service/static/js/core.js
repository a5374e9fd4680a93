// dark-feedback workspace: shared helpers (DOM, API, languages, formats, live feed). Vanilla JS, no build step.
// Every customer-provided string is inserted as text (textContent), never parsed as HTML.
"use strict";
window.DF = (function () {
  const $ = (id) => document.getElementById(id);
  const DF = { pages: {}, $, me: null };
  let I18N = {};
  let lang = localStorage.getItem("df-lang") || (navigator.language || "es").slice(0, 2);
  if (lang !== "es" && lang !== "en") lang = "es";

  DF.lang = () => lang;
  DF.setLang = (l) => { lang = l; localStorage.setItem("df-lang", l); };
  DF.loadStrings = async () => { I18N = await (await fetch("/ui/i18n.json")).json(); };
  DF.t = (k) => (I18N[lang] && I18N[lang][k]) || k;
  // A code in plain words; a code the product does not know (a rule a user added) is humanised, never shown raw.
  DF.label = (group, code) => {
    if (code === null || code === undefined || code === "") return "—";
    const codes = (I18N[lang] && I18N[lang]._codes) || {};
    const known = codes[group] && codes[group][code];
    if (known) return known;
    if (group === "cause") {
      if (code.startsWith("opportunity:")) return DF.t("opportunity") + ": " + DF.label("rule", code.slice(12));
      for (const g of ["urgent", "reason", "rule", "action"]) if (codes[g] && codes[g][code]) return codes[g][code];
    }
    const words = String(code).replace(/[_:]+/g, " ").trim();
    return words.charAt(0).toUpperCase() + words.slice(1);
  };
  DF.codes = (group) => Object.keys(((I18N[lang] || {})._codes || {})[group] || {});
  DF.key = () => sessionStorage.getItem("df-key") || "";

  DF.el = (tag, attrs, ...kids) => {
    const n = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") n.className = v;
      else if (k.startsWith("on")) n.addEventListener(k.slice(2), v);
      else if (k === "text") n.textContent = v;
      else n.setAttribute(k, v === true ? "" : v);
    }
    for (const c of kids.flat()) if (c !== null && c !== undefined && c !== false) n.append(c instanceof Node ? c : String(c));
    return n;
  };
  DF.say = (text) => { $("msg").textContent = text || ""; };
  DF.announce = (text) => { $("announce").textContent = text; };
  DF.fail = (e) => DF.say(DF.t("error") + ": " + e.message);

  DF.api = async (path, opts) => {
    const o = Object.assign({ headers: {} }, opts || {});
    o.headers["X-API-Key"] = DF.key();
    if (o.body && typeof o.body !== "string" && !(o.body instanceof FormData)) {
      o.body = JSON.stringify(o.body); o.headers["Content-Type"] = "application/json";
    }
    const r = await fetch(path, o);
    if (!r.ok) {
      let m = r.status + "";
      try { m = (await r.json()).error.message; } catch (e) { /* not JSON */ }
      const err = new Error(m); err.status = r.status; throw err;
    }
    return r.status === 204 ? null : r.json();
  };
  DF.query = (params) => {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) {
      if (Array.isArray(v)) v.forEach((x) => q.append(k, x));
      else if (v !== null && v !== undefined && v !== "") q.append(k, v);
    }
    return q.toString();
  };

  // -- formats -----------------------------------------------------------------------------
  DF.pct = (x) => (x === null || x === undefined) ? "—" :
    new Intl.NumberFormat(lang, { style: "percent", maximumFractionDigits: x < 0.1 && x > 0 ? 1 : 0 }).format(x);
  DF.num = (x, digits) => (x === null || x === undefined) ? "—" :
    new Intl.NumberFormat(lang, { maximumFractionDigits: digits === undefined ? 0 : digits }).format(x);
  DF.date = (ts) => new Date(ts).toLocaleDateString(lang, { year: "numeric", month: "short", day: "numeric" });
  DF.when = (ts) => new Date(ts).toLocaleString(lang, { dateStyle: "medium", timeStyle: "short" });
  DF.points = (x) => (x === null || x === undefined) ? "—" :
    (x > 0 ? "+" : "") + new Intl.NumberFormat(lang, { maximumFractionDigits: 0 }).format(x * 100) + " " + DF.t("points");
  DF.change = (x) => (x === null || x === undefined) ? DF.t("new_this_period") :
    (x > 0 ? "▲ +" : x < 0 ? "▼ " : "= ") + DF.pct(x);
  DF.badge = (severity) => DF.el("span", { class: "badge sev-" + severity }, DF.label("severity", severity));

  // -- the live feed (SSE over fetch: EventSource cannot send the key header; a key in a URL is logged) -----
  let lastEventId = null, streamAbort = null;
  DF.stream = async function stream() {
    if (streamAbort) streamAbort.abort();
    if (!DF.key()) return;
    const ctl = new AbortController(); streamAbort = ctl;
    const headers = { "X-API-Key": DF.key() };
    if (lastEventId) headers["Last-Event-ID"] = lastEventId;
    try {
      const r = await fetch("/v1/alerts/stream?lang=" + lang, { headers, signal: ctl.signal });
      if (!r.ok) throw new Error(r.status);
      $("conn").className = "conn on"; $("conn").setAttribute("aria-label", DF.t("connected"));
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
    $("conn").className = "conn off"; $("conn").setAttribute("aria-label", DF.t("disconnected"));
    setTimeout(() => { if (streamAbort === ctl) stream(); }, 3000);
  };
  function handle(block) {
    let id = null, data = "";
    for (const line of block.split("\n")) {
      if (line.startsWith("id: ")) id = line.slice(4);
      else if (line.startsWith("data: ")) data += line.slice(6);
    }
    if (id) lastEventId = id;
    if (!data) return;
    const ev = JSON.parse(data);
    window.dispatchEvent(new CustomEvent("df-alert", { detail: ev }));
  }
  DF.stopStream = () => { if (streamAbort) streamAbort.abort(); streamAbort = null; };

  DF.page = (name, spec) => { DF.pages[name] = spec; };
  DF.heading = (key, extra) => DF.el("h1", {}, DF.t(key), extra ? " " : null, extra || null);
  return DF;
})();
