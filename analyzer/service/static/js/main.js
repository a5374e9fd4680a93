// Boot and routing: #/ overview, #/alerts, #/customers, #/c/<id>, #/outcomes, #/upload, #/settings.
"use strict";
(function (DF) {
  const $ = DF.$, t = DF.t;
  const ROUTES = [[/^#\/alerts$/, "alerts"], [/^#\/customers$/, "customers"], [/^#\/c\/(.+)$/, "customer"],
    [/^#\/outcomes$/, "outcomes"], [/^#\/upload$/, "upload"], [/^#\/settings$/, "settings"], [/^(#\/?)?$/, "overview"]];
  let current = null;

  function applyI18n() {
    document.documentElement.lang = DF.lang();
    document.querySelectorAll("[data-i18n]").forEach((n) => { n.textContent = t(n.dataset.i18n); });
    $("lang").value = DF.lang();
    $("conn").setAttribute("aria-label", t($("conn").classList.contains("on") ? "connected" : "disconnected"));
    $("nav").setAttribute("aria-label", t("navigation"));
    document.title = "dark-feedback · " + t("workspace");
  }

  async function whoAmI() {
    const before = DF.me && DF.me.name;
    DF.me = null;
    if (!DF.key()) { $("me").textContent = ""; $("signout").hidden = true; $("keyform").hidden = false; return; }
    try {
      DF.me = await DF.api("/v1/me");
      $("me").textContent = t("signed_in_as") + " " + DF.me.name;
      $("signout").hidden = false; $("keyform").hidden = true;
      if (before !== DF.me.name) window.dispatchEvent(new CustomEvent("df-agent", { detail: DF.me }));
    } catch (e) {
      sessionStorage.removeItem("df-key"); DF.fail(e); $("keyform").hidden = false;
    }
  }

  DF.route = async function route() {
    const hash = location.hash || "#/";
    let name = "overview", arg = null;
    for (const [re, page] of ROUTES) { const m = hash.match(re); if (m) { name = page; arg = m[1] ? decodeURIComponent(m[1]) : null; break; } }
    document.querySelectorAll("main > section").forEach((s) => { s.hidden = s.id !== "page-" + name; });
    document.querySelectorAll("#nav a").forEach((a) => {
      if (a.dataset.page === (name === "customer" ? "customers" : name)) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
    });
    const section = $("page-" + name);
    if (!DF.key()) { section.replaceChildren(DF.el("p", {}, t("need_key"))); DF.say(t("need_key")); return; }
    // Each render fills its own box: one overtaken by a newer render (a click, a language switch) keeps
    // writing into a box that is no longer on the page.
    const token = {}; current = token;
    const box = DF.el("div", { class: "page" });
    section.replaceChildren(box);
    section.setAttribute("aria-busy", "true");
    try { await DF.pages[name].render(box, arg); if (current === token) DF.say(""); }
    catch (e) { if (current === token) DF.fail(e); }
    finally { if (current === token) section.removeAttribute("aria-busy"); }
  };

  $("keyform").addEventListener("submit", async (e) => {
    e.preventDefault();
    sessionStorage.setItem("df-key", $("apikey").value.trim()); $("apikey").value = "";
    await whoAmI(); DF.stream(); DF.route();
  });
  $("signout").addEventListener("click", async () => {
    sessionStorage.removeItem("df-key"); DF.stopStream(); await whoAmI(); DF.route();
  });
  $("lang").addEventListener("change", () => { DF.setLang($("lang").value); applyI18n(); whoAmI(); DF.stream(); DF.route(); });
  window.addEventListener("hashchange", () => { DF.route(); $("main").focus({ preventScroll: true }); });

  DF.loadStrings().then(async () => { applyI18n(); await whoAmI(); DF.stream(); DF.route(); });
})(window.DF);
