// Outcomes: per action taken and per rule, how often contacted customers stayed active against similar
// customers nobody contacted, stated plainly as observational; and the outcomes agents recorded.
"use strict";
(function (DF) {
  const el = DF.el, t = DF.t;

  function rate(r, key, interval) {
    const v = r[key];
    if (v === null || v === undefined) return "—";
    const ci = r[interval];
    return DF.pct(v) + (ci ? " (" + DF.pct(ci[0]) + "–" + DF.pct(ci[1]) + ")" : "");
  }

  function table(caption, rows, nameOf) {
    const head = ["group", "alerts_n", "contacted_n", "still_active_contacted", "still_active_similar", "difference", "recorded"];
    return el("table", { class: "outcomes" }, el("caption", {}, caption),
      el("thead", {}, el("tr", {}, head.map((k) => el("th", { scope: "col" }, t(k))))),
      el("tbody", {}, rows.length ? rows.map((r) => el("tr", {},
        el("th", { scope: "row" }, nameOf(r)), el("td", {}, DF.num(r.alerts)), el("td", {}, DF.num(r.contacted) +
          (r.unmatched ? " (" + t("unmatched").replace("{n}", r.unmatched) + ")" : "")),
        el("td", {}, rate(r, "contacted_rate", "contacted_interval")),
        el("td", {}, r.comparison_rate === null ? "—" : DF.pct(r.comparison_rate) + " (" + t("n_similar").replace("{n}", DF.num(r.comparison)) + ")"),
        el("td", {}, r.difference === null ? "—" : DF.points(r.difference) + " " + t("vs_matched").replace("{rate}", DF.pct(r.matched_rate)) + (r.difference_interval ?
          " (" + DF.points(r.difference_interval[0]) + " … " + DF.points(r.difference_interval[1]) + ")" : "")),
        el("td", {}, ["retained", "churned", "unknown"].map((o) => DF.label("outcome", o) + ": " + r.recorded_outcomes[o]).join(" · "))))
        : [el("tr", {}, el("td", { colspan: String(head.length) }, t("no_outcomes_yet")))]));
  }

  DF.page("outcomes", {
    async render(root) {
      const saved = sessionStorage.getItem("df-window") || "";
      const win = el("select", { id: "oc-window" }, [["", t("model_horizon")], ["30", "30"], ["60", "60"], ["90", "90"], ["180", "180"]]
        .map(([v, label]) => el("option", { value: v, selected: v === saved }, label)));
      win.addEventListener("change", () => { sessionStorage.setItem("df-window", win.value); DF.route(); });
      root.replaceChildren(DF.heading("nav_outcomes"), el("p", { class: "filters" }, el("label", { for: "oc-window" }, t("follow_up_days")), win));
      const r = await DF.api("/v1/outcomes?" + DF.query({ window_days: saved }));
      root.append(el("p", { class: "note", role: "note" }, DF.lang() === "es" ? r.note_es : r.note_en));
      root.append(el("p", { class: "meta" }, t("outcome_definition").replace("{half}", DF.num(r.window_days / 2)).replace("{days}", r.window_days)
        .replace("{from}", DF.date(r.alerts_from)).replace("{until}", DF.date(r.alerts_until))));
      const o = r.overall;
      root.append(el("div", { class: "cards" },
        el("div", { class: "card" }, el("h2", {}, t("contacted_stayed")), el("p", { class: "big" }, o.contacted_rate === null ? "—" : DF.pct(o.contacted_rate)),
          el("p", { class: "meta" }, t("of_n_contacted").replace("{n}", DF.num(o.contacted)))),
        el("div", { class: "card" }, el("h2", {}, t("similar_stayed")), el("p", { class: "big" }, o.comparison_rate === null ? "—" : DF.pct(o.comparison_rate)),
          el("p", { class: "meta" }, t("n_similar").replace("{n}", DF.num(o.comparison)))),
        el("div", { class: "card" }, el("h2", {}, t("difference")), el("p", { class: "big" }, o.difference === null ? "—" : DF.points(o.difference)),
          el("p", { class: "meta" }, o.difference === null ? t("no_similar") : t("vs_matched").replace("{rate}", DF.pct(o.matched_rate))),
          el("p", { class: "meta" }, t("alerts_judged").replace("{n}", DF.num(o.alerts))))));
      root.append(table(t("by_action"), r.by_action, (x) => DF.label("action", x.action)));
      root.append(table(t("by_rule"), r.by_rule, (x) => DF.label("rule", x.rule)));
    },
  });
})(window.DF);
