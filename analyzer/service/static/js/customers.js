// Customers ranked by risk (urgent causes and higher severities first), with filters and paging.
"use strict";
(function (DF) {
  const el = DF.el, t = DF.t;
  const LIMIT = 25;
  const f = { severity: "", tier: "", segment: "", lapsed: "false", offset: 0 };
  let latest = 0;

  function select(id, key, options, reload) {
    const s = el("select", { id }, options.map(([v, label]) => el("option", { value: v, selected: f[key] === v }, label)));
    s.addEventListener("change", () => { f[key] = s.value; f.offset = 0; reload(); });
    return [el("label", { for: id }, t("f_" + key)), s];
  }

  DF.page("customers", {
    async render(root) {
      const body = el("tbody", {});
      const count = el("p", { class: "count", "aria-live": "polite" });
      const prev = el("button", { type: "button" }, t("previous")), next = el("button", { type: "button" }, t("next"));
      const load = async () => {
        const q = { severity: f.severity, tier: f.tier, segment: f.segment, lapsed: f.lapsed, limit: LIMIT, offset: f.offset, lang: DF.lang() };
        const mine = ++latest;  // only the latest request's answer is shown
        try {
          const page = await DF.api("/v1/customers?" + DF.query(q));
          if (mine !== latest) return;
          body.replaceChildren(...page.items.map((c) => el("tr", {},
            el("th", { scope: "row" }, el("a", { href: "#/c/" + encodeURIComponent(c.customer_id) }, c.customer_id)),
            el("td", {}, DF.badge(c.severity)), el("td", {}, DF.pct(c.risk)),
            el("td", {}, c.odds_ratio === null ? "—" : t("times_typical").replace("{x}", DF.num(c.odds_ratio, 1))),
            el("td", {}, c.urgent.length ? el("strong", {}, c.urgent.map((u) => DF.label("urgent", u)).join(", ") + ". ") : null, c.main_reason || "—"),
            el("td", {}, DF.label("tier", c.value_tier || "unknown")), el("td", {}, c.segment || "—"),
            el("td", {}, c.days_inactive === null ? "—" : DF.num(c.days_inactive)))));
          if (!page.items.length) body.append(el("tr", {}, el("td", { colspan: "8" }, t("no_customers"))));
          count.textContent = t("showing").replace("{from}", page.total ? f.offset + 1 : 0)
            .replace("{to}", Math.min(f.offset + LIMIT, page.total)).replace("{total}", page.total);
          prev.disabled = f.offset === 0; next.disabled = f.offset + LIMIT >= page.total;
          DF.say("");
        } catch (e) { DF.fail(e); }
      };
      prev.addEventListener("click", () => { f.offset = Math.max(0, f.offset - LIMIT); load(); });
      next.addEventListener("click", () => { f.offset += LIMIT; load(); });
      const seg = el("input", { id: "fc-segment", type: "text", value: f.segment, maxlength: "100" });
      seg.addEventListener("change", () => { f.segment = seg.value.trim(); f.offset = 0; load(); });
      const all = ["", t("all")];
      root.replaceChildren(DF.heading("nav_customers"),
        el("form", { class: "filters", onsubmit: (e) => e.preventDefault() },
          ...select("fc-severity", "severity", [all].concat(["critical", "high", "medium", "low", "info"].map((s) => [s, DF.label("severity", s)])), load),
          ...select("fc-tier", "tier", [all].concat(["vip", "high", "medium", "low", "unknown"].map((s) => [s, DF.label("tier", s)])), load),
          ...select("fc-lapsed", "lapsed", [["false", t("active_only")], ["true", t("lapsed_only")], ["", t("all")]], load),
          el("label", { for: "fc-segment" }, t("f_segment")), seg),
        count,
        el("table", { class: "ranked" }, el("caption", {}, t("ranked_caption")),
          el("thead", {}, el("tr", {}, ["customer", "severity", "risk", "vs_typical", "why", "tier", "segment", "days_inactive"]
            .map((k) => el("th", { scope: "col" }, t(k))))), body),
        el("nav", { class: "pager", "aria-label": t("pages") }, prev, next));
      await load();
    },
  });
})(window.DF);
