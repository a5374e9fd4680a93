// One customer: the recommended action and its justification, the reasons in plain words with their evidence,
// risk and sentiment over time, purchases and activity by week, and a timeline with events summarised per day.
"use strict";
(function (DF) {
  const el = DF.el, t = DF.t;

  function reasons(list) {
    return el("ul", { class: "reasons" }, list.map((r) => el("li", {},
      el("strong", {}, DF.label("reason", r.code)), ": ", DF.lang() === "es" ? r.text_es : r.text_en,
      ...((r.evidence && r.evidence.quotes) || []).slice(0, 3).map((q) => el("blockquote", {},
        el("p", {}, "«" + q.text + "»"), el("p", { class: "meta" }, q.date + " · " + q.channel))))));
  }

  function eventsLine(it) {
    const parts = Object.entries(it.counts).map(([type, n]) => n + " × " + DF.label("event", type));
    if (it.amount !== null && it.amount !== undefined) parts.push(t("spent") + " " + DF.num(it.amount, 2));
    return parts.join(" · ");
  }

  function timeline(items) {
    return el("ol", { class: "timeline" }, items.map((it) => {
      if (it.kind === "events") {
        const when = it.period === "week" ? t("week_of").replace("{from}", DF.date(it.day)).replace("{to}", DF.date(it.until)) : DF.date(it.day);
        return el("li", { class: "events" }, el("span", { class: "meta" }, when + " · " + it.channels.join(", ") + " · "), eventsLine(it));
      }
      const tone = it.sentiment_label ? DF.label("sentiment", it.sentiment_label) : null;
      const li = el("li", { class: "message tone-" + (it.sentiment_label || "none") },
        el("span", { class: "meta" }, DF.when(it.timestamp) + " · " + it.channel + (tone ? " · " + t("tone") + ": " + tone : "") + " "),
        el("span", {}, it.text_redacted || t("text_purged")));
      for (const ev of it.theme_evidence || []) li.append(el("div", { class: "meta" }, DF.label("theme", ev.theme) + ": ", el("mark", {}, ev.evidence)));
      return li;
    }));
  }

  DF.page("customer", {
    async render(root, id) {
      root.replaceChildren(el("p", {}, el("a", { href: "#/customers" }, t("back"))));
      const s = await DF.api("/v1/customers/" + encodeURIComponent(id) + "/story?lang=" + DF.lang());
      const c = s.customer;
      root.append(DF.heading("customer", c.customer_id));
      const facts = [];
      if (c.opt_out) facts.push(t("opted_out"));
      else if (c.severity) {
        facts.push(DF.badge(c.severity), " " + t("risk") + " " + DF.pct(c.risk));
        if (c.odds_ratio !== null) facts.push(" · " + t("times_typical").replace("{x}", DF.num(c.odds_ratio, 1)));
      }
      facts.push(" · " + DF.label("tier", c.value_tier || "unknown"));
      if (c.segment) facts.push(" · " + t("segment") + ": " + c.segment);
      if (c.lapsed) facts.push(" · " + t("lapsed"));
      if (c.urgent && c.urgent.length) facts.push(" · ", el("strong", {}, c.urgent.map((u) => DF.label("urgent", u)).join(", ")));
      root.append(el("p", { class: "summary" }, ...facts));

      root.append(el("h2", {}, t("recommended")));
      if (s.recommended) root.append(DF.alertCard(s.recommended, { level: 3, open: true, onChange: () => DF.route() }));
      else root.append(el("p", { class: "meta" }, t("nothing_pending")));

      root.append(el("h2", {}, t("why_raises")), s.raises.length ? reasons(s.raises) : el("p", { class: "meta" }, t("nothing_raises")));
      if (s.lowers.length) root.append(el("details", {}, el("summary", {}, t("why_lowers")), reasons(s.lowers)));

      const charts = el("div", { class: "charts" });
      root.append(charts);
      const rx = s.risk_series.map((r) => Date.parse(r.day + "T12:00:00Z"));
      const risk = [{ label: t("risk"), values: s.risk_series.map((r) => r.risk), color: "#b3261e" }];
      DF.chart(charts, { title: t("risk_over_time"), x: rx, series: risk,
        y: { min: 0, max: Math.min(1, Math.max(0.1, ...risk[0].values) * 1.2), format: (v) => DF.pct(v), label: t("risk") },
        summary: t("risk_over_time") + ". " + DF.describe(rx, risk, DF.pct) });
      const sx = s.sentiment_series.map((p) => Date.parse(p.timestamp));
      const tone = [{ label: t("tone"), values: s.sentiment_series.map((p) => p.sentiment_score) }];
      DF.chart(charts, { title: t("sentiment_over_time"), x: sx, series: tone, y: { min: -1, max: 1, format: (v) => DF.num(v, 1), label: t("tone_scale") },
        summary: t("sentiment_over_time") + ". " + DF.describe(sx, tone, (v) => DF.num(v, 2)) });
      const wx = s.weekly.weeks.map((w) => Date.parse(w));
      const weekly = [{ label: t("purchases"), values: s.weekly.purchases, bars: true, color: "#0a5cc2" },
        { label: t("activity"), values: s.weekly.activity, color: "#7a4f01" }];
      DF.chart(charts, { title: t("weekly_activity"), x: wx, series: weekly,
        y: { min: 0, max: Math.max(1, ...s.weekly.activity, ...s.weekly.purchases) * 1.15, integer: true, format: (v) => DF.num(v), label: t("per_week") },
        summary: t("weekly_activity") + ". " + DF.describe(wx, weekly, (v) => DF.num(v)) });

      const others = s.alerts.filter((a) => !s.recommended || a.alert_id !== s.recommended.alert_id);
      if (others.length) {
        root.append(el("h2", {}, t("other_alerts")), el("div", { class: "alerts" }, others.map((a) => DF.alertCard(a, { level: 3, onChange: () => DF.route() }))));
      }
      root.append(el("h2", {}, t("timeline")), s.timeline.length ? timeline(s.timeline) : el("p", { class: "meta" }, t("no_data")));
    },
  });
})(window.DF);
