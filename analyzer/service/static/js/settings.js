// Settings (admins): the rule table and the taxonomy (view, edit, checked before they are saved), the team
// (a key per agent), and the audit trail of who did what.
"use strict";
(function (DF) {
  const el = DF.el, t = DF.t;

  async function editor(kind) {
    const c = await DF.api("/v1/settings/" + kind);
    const id = "cfg-" + kind;
    const area = el("textarea", { id, rows: "18", spellcheck: "false", class: "code" });
    area.value = c.text;
    const status = el("p", { role: "status", class: "meta raw" });  // the loader's message names YAML keys
    const origin = () => c.source === "saved" ? t("saved_by").replace("{who}", c.saved_by).replace("{when}", DF.when(c.saved_at)) : t("source_" + c.source);
    const info = el("p", { class: "meta" }, origin());
    const hist = el("ul", { class: "meta" });
    const fill = () => hist.replaceChildren(...c.history.map((h) => el("li", {}, "#" + h.id + " · " + h.created_by + " · " + DF.when(h.created_at))));
    fill();
    const save = el("button", { type: "button", onclick: async () => {
      try {
        Object.assign(c, await DF.api("/v1/settings/" + kind, { method: "PUT", body: { text: area.value } }));
        info.textContent = origin(); fill(); status.textContent = t("saved_ok"); DF.say("");
      } catch (e) { status.textContent = t("not_saved") + ": " + e.message; }
    } }, t("save_" + kind));
    return el("section", { class: "cfg" }, el("h2", {}, t("cfg_" + kind)), info, el("p", { class: "meta" }, t("applies_" + kind)),
      el("label", { for: id }, t("edit_" + kind)), area, save, status, el("details", {}, el("summary", {}, t("versions")), hist));
  }

  async function team() {
    const box = el("section", { class: "team" }, el("h2", {}, t("team")), el("p", { class: "meta" }, t("team_help")));
    const list = el("tbody", {});
    const fill = async () => {
      const keys = await DF.api("/v1/keys");
      list.replaceChildren(...keys.filter((k) => !k.revoked_at).map((k) => el("tr", {},
        el("th", { scope: "row" }, k.name), el("td", {}, k.scopes.map((s) => DF.label("scope", s)).join(", ")),
        el("td", {}, DF.date(k.created_at)),
        el("td", {}, el("button", { type: "button", class: "quiet", onclick: async () => {
          if (!confirm(t("revoke_confirm").replace("{name}", k.name))) return;
          try { await DF.api("/v1/keys/" + k.id, { method: "DELETE" }); await fill(); } catch (e) { DF.fail(e); }
        } }, t("revoke"))))));
    };
    const name = el("input", { id: "agent-name", type: "text", maxlength: "200", required: true });
    const scope = el("select", { id: "agent-scope" }, ["read", "ingest", "admin"].map((s) => el("option", { value: s }, DF.label("scope", s))));
    const secret = el("p", { role: "status" });
    const form = el("form", { class: "row", onsubmit: async (e) => {
      e.preventDefault();
      try {
        const k = await DF.api("/v1/keys", { method: "POST", body: { name: name.value.trim(), scopes: [scope.value] } });
        secret.replaceChildren(t("key_once").replace("{name}", k.name) + " ", el("code", {}, k.key));
        name.value = ""; await fill(); await DF.agents(true);
      } catch (err) { DF.fail(err); }
    } }, el("label", { for: "agent-name" }, t("agent_name")), name, el("label", { for: "agent-scope" }, t("scope")), scope,
    el("button", { type: "submit" }, t("create_key")));
    box.append(el("table", {}, el("thead", {}, el("tr", {}, ["agent_name", "scope", "created", "revoke"].map((k) => el("th", { scope: "col" }, t(k))))), list), form, secret);
    await fill();
    return box;
  }

  async function audit() {
    const rows = await DF.api("/v1/audit?limit=50");
    const writes = rows.filter((r) => r.action !== "read");
    return el("section", {}, el("h2", {}, t("audit")), el("p", { class: "meta" }, t("audit_help")),
      el("table", {}, el("thead", {}, el("tr", {}, ["when", "who", "what", "subject"].map((k) => el("th", { scope: "col" }, t(k))))),
        el("tbody", {}, writes.map((r) => el("tr", {}, el("td", {}, DF.when(r.at)), el("td", {}, r.actor),
          el("td", {}, DF.label("audit_action", r.action) + " · " + DF.label("audit_resource", r.resource)), el("td", {}, r.subject || "—"))))));
  }

  DF.page("settings", {
    async render(root) {
      root.replaceChildren(DF.heading("nav_settings"));
      if (!DF.me || !DF.me.scopes.includes("admin")) { root.append(el("p", {}, t("admins_only"))); return; }
      root.append(await team(), await editor("rules"), await editor("taxonomy"), await audit());
    },
  });
})(window.DF);
