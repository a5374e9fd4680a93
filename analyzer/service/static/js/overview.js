// Overview: customers at risk by severity, value at risk, new alerts today, missed ticket deadlines,
// complaint themes over time against the previous period, and the tone trend.
"use strict";
(function (DF) {
  const el = DF.el, t = DF.t;
  const SEVERITIES = ["critical", "high", "medium", "low"];

  function card(title, big, ...lines) {
    return el("div", { class: "card" }, el("h2", {}, title), el("p", { class: "big" }, big), ...lines.map((l) => el("p", { class: "meta" }, l)));
  }

  DF.page("overview", {
    async render(root) {
      const days = Number(sessionStorage.getItem("df-days") || 35);
      const period = el("select", { id: "ov-days" }, [[28, "period_4w"], [35, "period_5w"], [91, "period_13w"], [364, "period_52w"]]
        .map(([d, k]) => el("option", { value: String(d), selected: d === days }, t(k))));
      period.addEventListener("change", () => { sessionStorage.setItem("df-days", period.value); DF.route(); });
      root.replaceChildren(DF.heading("nav_overview"), el("p", { class: "filters" }, el("label", { for: "ov-days" }, t("period")), period));
      const o = await DF.api("/v1/overview?days=" + days);
      const sev = o.customers.by_severity;
      const atRisk = SEVERITIES.reduce((n, s) => n + (sev[s] || 0), 0);
      const v = o.value_at_risk, d = o.deadlines, a = o.alerts;
      const cards = el("div", { class: "cards" },
        card(t("customers_at_risk"), DF.num(atRisk), SEVERITIES.map((s) => DF.label("severity", s) + ": " + DF.num(sev[s] || 0)).join(" · "),
          t("lapsed_customers") + ": " + DF.num(o.customers.lapsed)),
        card(t("value_at_risk"), DF.num(v.amount), t("value_at_risk_basis").replace("{days}", v.window_days),
          t("valuable_at_risk") + ": " + DF.num(v.valuable_customers)),
        card(t("new_alerts_today"), DF.num(a.today), SEVERITIES.filter((s) => a.today_by_severity[s]).map((s) =>
          DF.label("severity", s) + ": " + a.today_by_severity[s]).join(" · ") || t("none_today"),
          t("alerts_period") + ": " + DF.num(a.period) + " (" + t("previous_period") + ": " + DF.num(a.previous_period) + ")"),
        card(t("deadline_breaches"), DF.num(d.breached), t("deadline_basis").replace("{hours}", DF.num(d.sla_hours)) + " · " +
          t("previous_period") + ": " + DF.num(d.breached_previous), t("open_past_deadline") + ": " + DF.num(d.open_past_deadline)));
      root.append(cards);
      const x = o.weeks.map((w) => Date.parse(w));
      // Complaint themes: the five most named this period, per week; the table has every theme and its change.
      const top = o.themes.slice(0, 5);
      const themeSeries = top.map((th) => ({ label: DF.label("theme", th.theme), values: th.weekly }));
      const charts = el("div", { class: "charts" });
      root.append(charts);
      DF.chart(charts, { title: t("themes_over_time"), x, series: themeSeries, y: { min: 0, max: Math.max(1, ...top.flatMap((s) => s.weekly)) * 1.15, integer: true, format: (v) => DF.num(v), label: t("messages") },
        summary: t("themes_over_time") + ". " + DF.describe(x, themeSeries, (v) => DF.num(v)) });
      const tone = [{ label: t("mean_tone"), values: o.tone.mean }, { label: t("negative_share"), values: o.tone.negative_share, color: "#b3261e" }];
      DF.chart(charts, { title: t("tone_trend"), x, series: tone, y: { min: -1, max: 1, format: (v) => DF.num(v, 1), label: t("tone_scale") },
        summary: t("tone_trend") + ". " + DF.describe(x, tone.slice(0, 1), (v) => DF.num(v, 2)) });
      root.append(el("p", { class: "meta" }, t("tone_note")));
      const rows = o.themes.map((th) => el("tr", {}, el("th", { scope: "row" }, DF.label("theme", th.theme)), el("td", {}, DF.num(th.total)),
        el("td", {}, DF.num(th.previous_total)), el("td", {}, DF.change(th.change))));
      root.append(el("h2", {}, t("themes_table")), rows.length ? el("table", {},
        el("thead", {}, el("tr", {}, el("th", { scope: "col" }, t("theme")), el("th", { scope: "col" }, t("this_period")),
          el("th", { scope: "col" }, t("previous_period")), el("th", { scope: "col" }, t("change")))), el("tbody", {}, rows))
        : el("p", { class: "meta" }, t("no_data")));
      root.append(el("p", { class: "meta" }, t("as_of") + " " + DF.when(o.as_of) + " · " + t("period_weeks").replaceAll("{n}", o.weeks.length)));
    },
  });
})(window.DF);
