// Time charts on uPlot (vendored): dated x axis in the page's language, labelled y axis, a legend of our own
// and a text summary for screen readers (the canvas itself says nothing to them).
"use strict";
(function (DF) {
  const el = DF.el;
  const PALETTE = ["#0a5cc2", "#b3261e", "#7a4f01", "#2a7a3b", "#6f42c1", "#00607a", "#8a3b74", "#4d5b6b"];

  // container: a node to fill. opts: {title, x: [ms], series: [{label, values, color, bars}], y: {min, max,
  // format(v), label}, summary}. Returns the figure.
  DF.chart = function (container, opts) {
    const fig = el("figure", { class: "chart" });
    fig.append(el("figcaption", {}, opts.title));
    container.append(fig);
    const has = opts.x.length && opts.series.some((s) => s.values.some((v) => v !== null && v !== undefined));
    if (!has) { fig.append(el("p", { class: "meta" }, DF.t("no_data"))); return fig; }
    const plot = el("div", { class: "plot", role: "img", "aria-label": opts.summary || opts.title });
    fig.append(plot);
    const yfmt = (opts.y && opts.y.format) || ((v) => DF.num(v, 2));
    const lang = DF.lang();
    const series = [{}].concat(opts.series.map((s, i) => {
      const color = s.color || PALETTE[i % PALETTE.length];
      const out = { label: s.label, stroke: color, width: 2, points: { show: true, size: 5, fill: color }, spanGaps: true };
      if (s.bars) { out.paths = uPlot.paths.bars({ size: [0.6, 40] }); out.fill = color + "99"; out.points = { show: false }; }
      return out;
    }));
    const range = opts.y && opts.y.min !== undefined ? { y: { range: [opts.y.min, opts.y.max] } } : {};
    // A single day would stretch over an automatic range of a year: give it a fortnight either side.
    const xs = opts.x.filter((v) => v !== null);
    const xrange = xs.length && Math.max(...xs) - Math.min(...xs) < 86400e3 ?
      [(Math.min(...xs) - 14 * 86400e3) / 1000, (Math.max(...xs) + 14 * 86400e3) / 1000] : null;
    const width = Math.max(260, Math.min((fig.clientWidth || 640) - 16, 900));
    const u = new uPlot({
      width, height: opts.height || 220, legend: { show: false },
      scales: Object.assign({ x: xrange ? { time: true, range: xrange } : { time: true } }, range),
      axes: [
        { values: (self, splits) => splits.map((s) => new Date(s * 1000).toLocaleDateString(lang, { month: "short", day: "numeric" })),
          stroke: "#3b434c", grid: { stroke: "#e3e7eb" } },
        { values: (self, splits) => splits.map(yfmt), stroke: "#3b434c", grid: { stroke: "#e3e7eb" }, size: 56,
          incrs: opts.y && opts.y.integer ? [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000, 10000] : undefined,
          label: opts.y && opts.y.label, labelSize: opts.y && opts.y.label ? 18 : 0 },
      ],
      series,
    }, [opts.x.map((ms) => ms / 1000)].concat(opts.series.map((s) => s.values)), plot);
    plot.querySelectorAll("canvas").forEach((c) => c.setAttribute("aria-hidden", "true"));
    fig.append(el("ul", { class: "legend" }, opts.series.map((s, i) =>
      el("li", {}, el("span", { class: "swatch", "data-color": String(i) }), s.label))));
    fig.querySelectorAll(".swatch").forEach((n, i) => { n.style.background = series[i + 1].stroke; });
    fig.uplot = u;
    return fig;
  };

  // One sentence: first and last value of each series, with their dates.
  DF.describe = function (x, series, fmt) {
    return series.map((s) => {
      const idx = s.values.map((v, i) => (v === null || v === undefined ? -1 : i)).filter((i) => i >= 0);
      if (!idx.length) return s.label + ": " + DF.t("no_data");
      const a = idx[0], b = idx[idx.length - 1];
      return s.label + ": " + fmt(s.values[a]) + " (" + DF.date(x[a]) + ") → " + fmt(s.values[b]) + " (" + DF.date(x[b]) + ")";
    }).join("; ");
  };
})(window.DF);
