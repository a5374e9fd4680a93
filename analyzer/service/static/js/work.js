// Working an alert (shared by the Alerts and Customer pages): owner, acknowledge, the action taken, its
// outcome, dismiss, and the alert's history (who did what). Everything is recorded under the caller's key.
"use strict";
(function (DF) {
  const el = DF.el, t = DF.t;
  let agentsCache = null;
  DF.agents = async (refresh) => {
    if (!agentsCache || refresh) {
      try { agentsCache = await DF.api("/v1/agents"); } catch (e) { agentsCache = []; }
    }
    return agentsCache;
  };

  // The card of one alert. opts: {link: show the customer link, level: heading level (2), open: controls shown
  // (else folded under "Work on it", with "Take it" at hand), onChange(alert): after a change}.
  DF.alertCard = function (a, opts) {
    const o = opts || {};
    const card = el("article", { class: "alert sev-" + a.severity + " status-" + a.status, "data-alert": a.alert_id,
      tabindex: "-1", "aria-label": DF.label("action", a.action) + " · " + a.customer_id });
    const who = o.link ? el("a", { href: "#/c/" + encodeURIComponent(a.customer_id) }, a.customer_id) : a.customer_id;
    card.append(el("h" + (o.level || 2), { class: "alert-title" }, DF.badge(a.severity), " ", DF.label("action", a.action), " · ", who));
    card.append(el("p", { class: "just" }, DF.lang() === "es" ? a.justification_es : a.justification_en));
    card.append(el("p", { class: "meta" },
      t("cause") + ": " + DF.label("cause", a.cause) + " · " + t("risk") + " " + DF.pct(a.risk) + " · " +
      t("status") + ": " + DF.label("status", a.status) + " · " + t("owner") + ": " + (a.assignee || t("nobody")) +
      " · " + DF.when(a.alerted_at)));
    if (a.status === "open" || a.status === "acknowledged") {
      const work = controls(a, o);
      if (o.open) card.append(work);
      else {
        const take = work.querySelector("button.take");
        if (take) card.append(el("div", { class: "work" }, take));
        card.append(el("details", { class: "work-more" }, el("summary", {}, t("work_on_it")), work));
      }
    }
    card.append(history(a));
    return card;
  };

  // Re-render a list of alert cards without losing what an agent is doing in one of them: a live alert or a
  // reload must not fold an open "Work on it" panel, drop a half-typed note or move the focus. A card whose own
  // change caused the reload (marked by `done`) starts afresh.
  const fresh = new Set();
  DF.replaceCards = function (list, cards) {
    const kept = new Map();
    list.querySelectorAll("article[data-alert]").forEach((c) => {
      if (fresh.delete(c.dataset.alert)) return;
      const values = {};
      c.querySelectorAll("select[id], input[id]").forEach((x) => { values[x.id] = x.value; });
      const active = c.contains(document.activeElement) ? document.activeElement.id : null;
      kept.set(c.dataset.alert, { work: !!c.querySelector("details.work-more[open]"), values, active });
    });
    list.replaceChildren(...cards);
    cards.forEach((c) => {
      const k = c.dataset && kept.get(c.dataset.alert);
      if (!k) return;
      const more = c.querySelector("details.work-more");
      if (more && k.work) more.open = true;
      Object.entries(k.values).forEach(([id, v]) => {
        const x = c.querySelector("#" + CSS.escape(id));
        if (x && [...(x.options || [{ value: v }])].some((opt) => opt.value === v)) x.value = v;
      });
      if (k.active) { const x = c.querySelector("#" + CSS.escape(k.active)); if (x) x.focus(); }
    });
  };

  function controls(a, o) {
    const box = el("div", { class: "work" });
    const done = async (promise) => {
      fresh.add(a.alert_id);  // its next rendering starts afresh (folded, empty note), whichever answer comes first
      try { const updated = await promise; DF.say(""); if (o.onChange) o.onChange(updated); }
      catch (e) { fresh.delete(a.alert_id); DF.fail(e); }
    };
    const refetch = () => DF.api("/v1/alerts/" + a.alert_id + "?lang=" + DF.lang());
    if (DF.me && a.assignee !== DF.me.name) {
      box.append(el("button", { type: "button", class: "take", onclick: () => done(DF.api("/v1/alerts/" + a.alert_id +
        "/assign", { method: "POST", body: { agent: DF.me.name } })) }, t("take_it")));
    }
    const assignSel = el("select", { "aria-label": t("assign_to") }, el("option", { value: "" }, t("assign_to")));
    DF.agents().then((list) => list.forEach((g) => assignSel.append(el("option", { value: g.name }, g.name))));
    assignSel.addEventListener("change", () => {
      if (assignSel.value) done(DF.api("/v1/alerts/" + a.alert_id + "/assign", { method: "POST", body: { agent: assignSel.value } }));
    });
    box.append(assignSel);
    if (a.status === "open") {
      box.append(el("button", { type: "button", onclick: () => done(DF.api("/v1/alerts/" + a.alert_id + "/acknowledge",
        { method: "POST", body: {} })) }, t("acknowledge")));
    }
    // The action taken, then (later) its outcome.
    const actionId = "act-" + a.alert_id, noteId = "note-" + a.alert_id, outId = "out-" + a.alert_id;
    const action = el("select", { id: actionId },
      DF.codes("action").concat(["other"]).map((c) => el("option", { value: c, selected: c === a.action }, c === "other" ? t("other_action") : DF.label("action", c))));
    const note = el("input", { id: noteId, type: "text", maxlength: "2000" });
    const taken = el("fieldset", { class: "row" }, el("legend", {}, t("record_action")),
      el("label", { for: actionId }, t("action_taken")), action, el("label", { for: noteId }, t("note")), note,
      el("button", { type: "button", onclick: () => done(DF.api("/v1/alerts/" + a.alert_id + "/actions",
        { method: "POST", body: { action: action.value, note: note.value || null } }).then(refetch)) }, t("save_action")));
    const outcome = el("select", { id: outId }, ["retained", "churned", "unknown"].map((c) => el("option", { value: c }, DF.label("outcome", c))));
    const result = el("fieldset", { class: "row" }, el("legend", {}, t("record_outcome")),
      el("label", { for: outId }, t("outcome")), outcome,
      el("button", { type: "button", onclick: () => done(DF.api("/v1/alerts/" + a.alert_id + "/outcome",
        { method: "POST", body: { outcome: outcome.value } }).then(refetch)) }, t("save_outcome")));
    box.append(taken, result,
      el("button", { type: "button", class: "quiet", onclick: () => done(DF.api("/v1/alerts/" + a.alert_id + "/dismiss",
        { method: "POST", body: { useful: false } })) }, t("dismiss")));
    return box;
  }

  function history(a) {
    const det = el("details", { class: "history" }, el("summary", {}, t("history")));
    const list = el("ol", {});
    det.append(list);
    det.addEventListener("toggle", async () => {
      if (!det.open || list.childElementCount) return;
      try {
        const rows = await DF.api("/v1/alerts/" + a.alert_id + "/history");
        list.replaceChildren(...rows.map((h) => el("li", {}, DF.when(h.at) + " · " + DF.label("history", h.kind) +
          (h.agent ? " · " + h.agent : "") + detail(h))));
      } catch (e) { DF.fail(e); }
    });
    return det;
  }

  function detail(h) {
    const d = h.detail || {};
    const parts = [];
    if (d.action) parts.push(DF.label("action", d.action));
    if (d.outcome) parts.push(DF.label("outcome", d.outcome));
    if (h.kind === "assigned") parts.push("→ " + (d.assignee || t("nobody")));
    if (d.note) parts.push("«" + d.note + "»");
    return parts.length ? " · " + parts.join(" · ") : "";
  }
})(window.DF);
