// Upload: (1) the canonical tables (messages, events, customers; CSV/TSV or JSON Lines, as `darkfeedback import`
// writes them) go into the database through the ingest API as one back-fill, with progress, and the back-fill's
// completion raises their alerts; (2) a file analysed as a background batch job (results to download), from
// any import source the jobs API offers.
"use strict";
(function (DF) {
  const el = DF.el, t = DF.t;
  const CHUNK = 200;
  const NEEDS = { messages: ["message_id", "customer_id", "timestamp", "text"], events: ["customer_id", "timestamp", "type"],
    customers: ["customer_id"] };
  const COLUMNS = { messages: "message_id, customer_id, timestamp, channel, text",
    events: "customer_id, timestamp, type, value, channel, event_id", customers: "customer_id, segment, value_tier" };

  function parse(file) {
    return new Promise((resolve, reject) => {
      if (/\.(jsonl|ndjson)$/i.test(file.name)) {
        file.text().then((txt) => {
          try { resolve(txt.split(/\r?\n/).filter((l) => l.trim()).map((l) => JSON.parse(l))); } catch (e) { reject(e); }
        }, reject);
        return;
      }
      Papa.parse(file, { header: true, skipEmptyLines: true, complete: (r) => resolve(r.data), error: reject });
    });
  }

  const numeric = (v) => (v === "" || v === null || v === undefined) ? null : (typeof v === "number" || isNaN(Number(v)) ? v : Number(v));
  function shape(kind, r, i) {
    if (kind === "messages") return { message_id: String(r.message_id), customer_id: String(r.customer_id), timestamp: String(r.timestamp),
      channel: r.channel ? String(r.channel) : "unknown", text: String(r.text) };
    if (kind === "events") return { event_id: r.event_id ? String(r.event_id) : [r.customer_id, r.timestamp, r.type, i].join("|").slice(0, 200),
      customer_id: String(r.customer_id), timestamp: String(r.timestamp), type: String(r.type), value: numeric(r.value),
      channel: r.channel ? String(r.channel) : "unknown" };
    return { customer_id: String(r.customer_id), segment: r.segment || null, value_tier: r.value_tier || null };
  }

  async function send(kind, rows, bad) {
    if (kind === "customers") {
      await Promise.all(rows.map((r) => DF.api("/v1/customers/" + encodeURIComponent(r.customer_id) + "?backfill=true",
        { method: "PUT", body: { segment: r.segment, value_tier: r.value_tier } }).catch((e) => bad.push(r.customer_id + ": " + e.message))));
      return;
    }
    try { await DF.api("/v1/" + kind + "?backfill=true", { method: "POST", body: { [kind]: rows } }); }
    catch (e) {
      if (e.status !== 422 || rows.length === 1) { bad.push((rows.length === 1 ? (rows[0].message_id || rows[0].event_id) + ": " : "") + e.message); return; }
      for (const r of rows) await send(kind, [r], bad);  // find the rows at fault, keep the others
    }
  }

  async function load(form, out) {
    const kind = form.querySelector("#up-kind").value, file = form.querySelector("#up-file").files[0];
    if (!file) { DF.say(t("choose_file")); return; }
    out.replaceChildren(el("p", { role: "status" }, t("reading") + " " + file.name));
    const rows = await parse(file);
    const missing = rows.length ? NEEDS[kind].filter((c) => !(c in rows[0])) : NEEDS[kind];
    if (missing.length) { DF.say(t("missing_columns") + ": " + missing.join(", ")); return; }
    const bar = el("progress", { max: String(rows.length), value: "0", "aria-label": t("progress") });
    const status = el("p", { role: "status" });
    out.replaceChildren(bar, status);
    const bad = [];
    for (let i = 0; i < rows.length; i += CHUNK) {
      await send(kind, rows.slice(i, i + CHUNK).map((r, j) => shape(kind, r, i + j)), bad);
      bar.value = Math.min(rows.length, i + CHUNK);
      status.textContent = t("sent_rows").replace("{n}", DF.num(bar.value)).replace("{total}", DF.num(rows.length));
    }
    status.textContent = t("judging");
    const done = await DF.api("/v1/backfill/complete?wait=true", { method: "POST" });
    status.textContent = t("sent_rows").replace("{n}", DF.num(rows.length)).replace("{total}", DF.num(rows.length));
    out.append(el("p", { class: "done", "data-file": file.name }, file.name + ": " + t("upload_done").replace("{rows}", DF.num(rows.length - bad.length))
      .replace("{alerts}", DF.num(done.new_alerts || 0)), " ", el("a", { href: "#/alerts" }, t("see_alerts"))));
    if (bad.length) out.append(el("p", {}, t("rows_rejected").replace("{n}", bad.length)), el("ul", {}, bad.slice(0, 20).map((b) => el("li", {}, b))));
  }

  // The sources are offered only when this server's jobs API takes a `source` (read from its OpenAPI schema).
  async function sources() {
    try {
      const spec = await (await fetch("/openapi.json")).json();
      const ref = spec.paths["/v1/jobs"].post.requestBody.content["multipart/form-data"].schema.$ref.split("/").pop();
      if (!spec.components.schemas[ref].properties.source) return [];
      return await (await fetch("/ui/sources.json")).json();
    } catch (e) { return []; }
  }

  async function job(form, out) {
    const file = form.querySelector("#job-file").files[0];
    if (!file) { DF.say(t("choose_file")); return; }
    const body = new FormData();
    body.append("file", file);
    const src = form.querySelector("#job-source");
    if (src && src.value) {
      body.append("source", src.value);
      const who = form.querySelector("#job-business").value.trim();
      if (who) body.append("business", who);
    } else body.append("text_col", form.querySelector("#job-text").value || "text");
    let j = await DF.api("/v1/jobs", { method: "POST", body });
    const bar = el("progress", { max: "1", value: "0", "aria-label": t("progress") });
    const status = el("p", { role: "status" }, DF.label("job", j.status));
    out.replaceChildren(bar, status);
    while (j.status === "queued" || j.status === "running") {
      await new Promise((r) => setTimeout(r, 700));
      j = await DF.api("/v1/jobs/" + j.job_id);
      bar.value = j.progress || 0;
      status.textContent = DF.label("job", j.status) + (j.rows_total ? " · " + t("sent_rows").replace("{n}", DF.num(j.rows_done)).replace("{total}", DF.num(j.rows_total)) : "");
    }
    if (j.status !== "done") { out.append(el("p", { class: "error" }, j.error || DF.label("job", j.status))); return; }
    const s = j.summary || {};
    if (src && src.value) out.append(el("p", {}, t("imported_note"), " ", el("a", { href: "#/alerts" }, t("see_alerts"))));
    out.append(el("p", { class: "done", "data-file": file.name }, t("job_done").replace("{rows}", DF.num(s.rows_written !== undefined ? s.rows_written : j.rows_done))
      .replace("{rejected}", DF.num(s.rows_rejected || 0))),
      el("button", { type: "button", onclick: async () => {
        const r = await fetch(j.result_url, { headers: { "X-API-Key": DF.key() } });
        const url = URL.createObjectURL(await r.blob());
        const a = el("a", { href: url, download: j.job_id + "-results" }); document.body.append(a); a.click(); a.remove();
      } }, t("download_results")));
  }

  DF.page("upload", {
    async render(root) {
      const out1 = el("div", { class: "progress-box" }), out2 = el("div", { class: "progress-box" });
      const f1 = el("form", { class: "upload", onsubmit: (e) => { e.preventDefault(); load(f1, out1).catch(DF.fail); } },
        el("label", { for: "up-kind" }, t("file_holds")),
        el("select", { id: "up-kind" }, ["messages", "events", "customers"].map((k) => el("option", { value: k }, t("kind_" + k)))),
        el("label", { for: "up-file" }, t("file")), el("input", { id: "up-file", type: "file", accept: ".csv,.tsv,.jsonl,.ndjson" }),
        el("button", { type: "submit" }, t("load_into_db")));
      const offered = await sources();
      const f2 = el("form", { class: "upload", onsubmit: (e) => { e.preventDefault(); job(f2, out2).catch(DF.fail); } },
        offered.length ? el("label", { for: "job-source" }, t("source")) : null,
        offered.length ? el("select", { id: "job-source" }, el("option", { value: "" }, t("plain_file")), offered.map((s) => el("option", { value: s }, DF.label("source", s)))) : null,
        offered.length ? el("label", { for: "job-business" }, t("business")) : null,
        offered.length ? el("input", { id: "job-business", type: "text", maxlength: "200" }) : null,
        el("label", { for: "job-text" }, t("text_column")), el("input", { id: "job-text", type: "text", value: "text", maxlength: "200" }),
        el("label", { for: "job-file" }, t("file")), el("input", { id: "job-file", type: "file" }),
        el("button", { type: "submit" }, t("analyse_file")));
      root.replaceChildren(DF.heading("nav_upload"),
        el("h2", {}, t("upload_db_title")), el("p", { class: "meta" }, t("upload_db_help")),
        el("ul", { class: "meta" }, Object.keys(NEEDS).map((k) => el("li", {}, t("kind_" + k) + ": ", el("code", {}, COLUMNS[k])))), f1, out1,
        el("h2", {}, t("upload_job_title")), el("p", { class: "meta" }, offered.length ? t("upload_job_sources") : t("upload_job_help")), f2, out2);
    },
  });
})(window.DF);
