// Alerts: filters (severity, cause, action, status, owner, segment), search, paging, keyboard use, and new
// alerts arriving live from the feed.
"use strict";
(function (DF) {
  const el = DF.el, t = DF.t;
  const LIMIT = 25;
  const STATUS = { active: ["open", "acknowledged"], open: ["open"], acknowledged: ["acknowledged"], resolved: ["resolved"],
    dismissed: ["dismissed"], withdrawn: ["withdrawn"], all: [] };
  const DEFAULTS = { status: "active", severity: "", cause: "", action: "", owner: "", segment: "", q: "", offset: 0 };
  const f = Object.assign({}, DEFAULTS);
  window.addEventListener("df-agent", () => Object.assign(f, DEFAULTS));  // another agent: their own view
  let items = [], total = 0, root = null, latest = 0;

  function params() {
    const p = { status: STATUS[f.status], severity: f.severity, cause: f.cause, action: f.action, segment: f.segment,
      q: f.q, limit: LIMIT, offset: f.offset, lang: DF.lang() };
    if (f.owner === "-") p.unassigned = "true";
    else if (f.owner === "me" && DF.me) p.assignee = DF.me.name;
    else if (f.owner) p.assignee = f.owner;
    return p;
  }

  function matches(a) {
    const p = params();
    return (!p.status.length || p.status.includes(a.status)) && (!f.severity || a.severity === f.severity) &&
      (!f.cause || a.cause === f.cause) && (!f.action || a.action === f.action) && (!f.segment || a.segment === f.segment) &&
      (!p.unassigned || !a.assignee) && (!p.assignee || a.assignee === p.assignee) &&
      (!f.q || (a.customer_id + " " + a.justification_es + " " + a.justification_en).toLowerCase().includes(f.q.toLowerCase()));
  }

  function select(id, key, options) {
    const s = el("select", { id }, options.map(([v, label]) => el("option", { value: v, selected: f[key] === v }, label)));
    s.addEventListener("change", () => { f[key] = s.value; f.offset = 0; load(); });
    return [el("label", { for: id }, t("f_" + key)), s];
  }

  function text(id, key, type) {
    const i = el("input", { id, type, value: f[key], maxlength: "200" });
    let timer = null;
    i.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(() => { f[key] = i.value.trim(); f.offset = 0; load(); }, 300); });
    return [el("label", { for: id }, t("f_" + key)), i];
  }

  async function filters() {
    const all = ["", t("all")];
    const agents = await DF.agents();
    const causes = [...new Set(DF.codes("urgent").concat(DF.codes("reason")))];
    return el("form", { class: "filters", role: "search", onsubmit: (e) => e.preventDefault() },
      ...select("fa-status", "status", Object.keys(STATUS).map((s) => [s, t("st_" + s)])),
      ...select("fa-severity", "severity", [all].concat(["critical", "high", "medium", "low", "info"].map((s) => [s, DF.label("severity", s)]))),
      ...select("fa-cause", "cause", [all].concat(causes.map((c) => [c, DF.label("cause", c)]))),
      ...select("fa-action", "action", [all].concat(DF.codes("action").map((c) => [c, DF.label("action", c)]))),
      ...select("fa-owner", "owner", [["", t("anyone")], ["me", t("me")], ["-", t("nobody")]].concat(agents.map((g) => [g.name, g.name]))),
      ...text("fa-segment", "segment", "text"), ...text("fa-q", "q", "search"));
  }

  function render() {
    const list = DF.$("alert-list");
    if (!list) return;
    DF.replaceCards(list, items.length ? items.map((a) => DF.alertCard(a, { link: true, onChange: () => load() }))
      : [el("p", { class: "meta" }, t("no_alerts"))]);
    const from = total ? f.offset + 1 : 0, to = Math.min(f.offset + LIMIT, total);
    DF.$("alert-count").textContent = t("showing").replace("{from}", from).replace("{to}", to).replace("{total}", total);
    DF.$("prev").disabled = f.offset === 0;
    DF.$("next").disabled = f.offset + LIMIT >= total;
  }

  // Only the answer to the latest request is shown: an earlier one arriving late must not overwrite it.
  async function load() {
    const mine = ++latest;
    try {
      const page = await DF.api("/v1/alerts?" + DF.query(params()));
      if (mine !== latest) return;
      items = page.items; total = page.total; render(); DF.say("");
    } catch (e) { if (mine === latest) DF.fail(e); }
  }

  function move(delta) {
    const cards = [...document.querySelectorAll("#alert-list article")];
    if (!cards.length) return;
    const i = cards.indexOf(document.activeElement.closest ? document.activeElement.closest("article") : null);
    const next = cards[Math.max(0, Math.min(cards.length - 1, i < 0 ? 0 : i + delta))];
    next.focus();
  }

  const shown = () => root && root.isConnected && !root.closest("section").hidden;

  document.addEventListener("keydown", (e) => {
    if (!shown() || e.ctrlKey || e.metaKey || e.altKey) return;
    const typing = /^(INPUT|TEXTAREA|SELECT)$/.test(e.target.tagName);
    if (e.key === "/" && !typing) { e.preventDefault(); DF.$("fa-q").focus(); return; }
    if (typing) return;
    if (e.key === "j" || e.key === "ArrowDown") { e.preventDefault(); move(1); }
    else if (e.key === "k" || e.key === "ArrowUp") { e.preventDefault(); move(-1); }
    else if (e.key === "Enter" && e.target.matches("article[data-alert]")) {
      const a = items.find((x) => x.alert_id === e.target.dataset.alert);
      if (a) location.hash = "#/c/" + encodeURIComponent(a.customer_id);
    } else if (e.key === "n" && !DF.$("next").disabled) { f.offset += LIMIT; load(); }
    else if (e.key === "p" && !DF.$("prev").disabled) { f.offset = Math.max(0, f.offset - LIMIT); load(); }
  });

  window.addEventListener("df-alert", (ev) => {
    const a = ev.detail.alert;
    if (!a) return;
    const i = items.findIndex((x) => x.alert_id === a.alert_id);
    if (i >= 0) { if (matches(a)) items[i] = a; else { items.splice(i, 1); total -= 1; } }
    else if (ev.detail.kind === "new" && matches(a) && f.offset === 0) {
      items.unshift(a); total += 1;
      if (items.length > LIMIT) items.pop();
      DF.announce(t("new_alert_for") + " " + a.customer_id + ": " + DF.label("action", a.action));
    } else return;
    if (shown()) render();
  });

  DF.page("alerts", {
    async render(section) {
      root = section;
      section.replaceChildren(DF.heading("nav_alerts"), await filters(),
        el("p", { class: "meta keys" }, t("keys_help")),
        el("p", { id: "alert-count", class: "count", "aria-live": "polite" }),
        el("div", { id: "alert-list", class: "alerts" }),
        el("nav", { class: "pager", "aria-label": t("pages") },
          el("button", { type: "button", id: "prev", onclick: () => { f.offset = Math.max(0, f.offset - LIMIT); load(); } }, t("previous")),
          el("button", { type: "button", id: "next", onclick: () => { f.offset += LIMIT; load(); } }, t("next"))));
      await load();
    },
  });
})(window.DF);
