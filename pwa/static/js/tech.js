/* Every technician page: the badge counting what waits in the outbox (outbox.js); sending on
 * load, online, visibilitychange, a timer and after each action; problems from the server
 * shown in the user's language; "as of" on saved pages; the device's set-up; sign-out that
 * waits for an empty outbox and then empties the device; the service worker's updates.
 * The order's own screens add order.js.
 */
/* global FSOutbox */
(function () {
  "use strict";

  var root = document.querySelector(".tech");
  var S = JSON.parse((document.getElementById("tech-strings") || {}).textContent || "{}");
  var username = root ? root.getAttribute("data-user") : null;
  var renderedAt = root ? Date.parse(root.getAttribute("data-rendered-at")) : Date.now();
  var dataEl = document.getElementById("order-data");
  var serverOrder = dataEl ? JSON.parse(dataEl.textContent) : null;
  var TIMER_MS = 20000;

  function t(key, values) {
    var text = S[key] || key;
    Object.keys(values || {}).forEach(function (k) { text = text.split("{" + k + "}").join(values[k]); });
    return text;
  }

  function csrfToken() {
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"] || ""; }
    catch (e) { return ""; }
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function hhmm(value) {
    var d = new Date(value);
    if (isNaN(d)) return "";
    return (d.getHours() < 10 ? "0" : "") + d.getHours() + ":" + (d.getMinutes() < 10 ? "0" : "") + d.getMinutes();
  }

  function status(message, kind) {
    var box = document.getElementById("sync-status");
    if (!box) return;
    box.textContent = message || "";
    box.className = "sync-status" + (kind ? " " + kind : "");
  }

  function renderProblems() {
    var box = document.getElementById("problems"), list = document.getElementById("problem-list");
    if (!box || !list) return Promise.resolve();
    return FSOutbox.problems().then(function (rows) {
      var orderId = serverOrder ? serverOrder.id : null;
      var shown = rows.filter(function (p) { return !orderId || p.order_id === orderId || !p.order_id; });
      var server = serverOrder ? (serverOrder.conflicts || []).filter(function (c) { return c.status === "open"; }) : [];
      list.textContent = "";
      shown.forEach(function (p) {
        var li = el("li", {"class": "problem problem-" + p.status, "data-reason": p.reason});
        var head = p.name === "device" ? t("register_failed", {x: ""}) :
          t("problem_title", {x: t("act_" + p.name), n: p.order_id || ""});
        li.appendChild(el("strong", {}, head + " — " + (p.status === "conflict" ? t("conflict") : t("rejected"))));
        li.appendChild(el("span", {}, " " + (S["reason_" + p.reason] || p.message || t("reason_other"))));
        var ok = el("button", {type: "button", "class": "small"}, t("dismiss"));
        ok.addEventListener("click", function () { FSOutbox.dismissProblem(p.id).then(refresh); });
        li.appendChild(ok);
        list.appendChild(li);
      });
      server.forEach(function (c) {
        if (shown.some(function (p) { return p.reason === c.reason; })) return;
        var li = el("li", {"class": "problem problem-conflict", "data-reason": c.reason});
        li.appendChild(el("strong", {}, t("conflict") + ": "));
        li.appendChild(el("span", {}, S["reason_" + c.reason] || t("reason_other")));
        list.appendChild(li);
      });
      box.hidden = !list.children.length;
    });
  }

  function renderBadge() {
    return FSOutbox.count().then(function (n) {
      var badge = document.getElementById("outbox-badge");
      if (badge) {
        badge.setAttribute("data-count", String(n));
        badge.textContent = n ? t("badge", {n: n}) : t("badge_none");
        badge.classList.toggle("waiting", n > 0);
      }
      var summary = document.getElementById("summary-pending");
      if (summary) summary.textContent = String(n);
      return n;
    });
  }

  /* The day's list: an order's status as this device knows it (arrived, completed). */
  function renderDayStatuses() {
    var badges = document.querySelectorAll("[data-status-for]");
    if (!badges.length) return Promise.resolve();
    return FSOutbox.pending().then(function (entries) {
      var known = {};
      entries.forEach(function (e) {
        if (e.name === "complete_work") known[e.order_id] = "completed";
        else if (e.name === "arrive" && known[e.order_id] !== "completed") known[e.order_id] = "in_progress";
      });
      badges.forEach(function (badge) {
        var status = known[badge.getAttribute("data-status-for")];
        if (!status || !S["status_" + status]) return;
        badge.textContent = S["status_" + status] + " · " + t("pending");
        badge.className = "badge status-" + status + " state-pending";
      });
    });
  }

  function renderAsOf() {
    var asof = document.getElementById("asof");
    if (!asof) return;
    var stale = !navigator.onLine || Date.now() - renderedAt > 120000;
    asof.classList.toggle("stale", stale);
    asof.querySelector(".asof-note").hidden = !stale;
  }

  var refreshing = null, hooks = [];
  function refresh() {
    if (refreshing) return refreshing;
    refreshing = Promise.all([renderBadge(), renderProblems(), renderDayStatuses()].concat(hooks.map(function (fn) { return fn(); }))).then(function () {
      renderAsOf();
      refreshing = null;
    }, function (e) { refreshing = null; console.warn(e); });
    return refreshing;
  }

  /* ---- sending ---- */

  function send(force) {
    if (!navigator.onLine && !force) return Promise.resolve();
    return FSOutbox.sendOutbox({force: !!force}).then(function (result) {
      if (result.state === "failed") status(navigator.onLine ? t("send_failed") : t("offline"), "warn");
      else if (result.state === "ok") status("");
      return refresh().then(function () { return result; });
    });
  }

  function askBackgroundSync() {
    if (!("serviceWorker" in navigator)) return;
    navigator.serviceWorker.ready.then(function (reg) {
      if (reg.sync) return reg.sync.register("fs-outbox");
    }).catch(function () { /* not offered by this browser */ });
  }

  function bindPartsFilter() {
    var filter = document.getElementById("parts-filter");
    if (!filter) return;
    filter.addEventListener("input", function () {
      var q = filter.value.trim().toLowerCase();
      document.querySelectorAll("#parts-table [data-code]").forEach(function (row) {
        var text = (row.getAttribute("data-code") + " " + row.getAttribute("data-name")).toLowerCase();
        row.hidden = q && text.indexOf(q) < 0;
      });
    });
  }

  /* ---- the device: set-up, sign-out, service worker ---- */

  function bindDeviceSetup() {
    var setup = document.getElementById("device-setup");
    if (!setup || !username) return;
    FSOutbox.device().then(function (dev) {
      if (dev && dev.username === username) return showReady();
      setup.hidden = false;
    });
    var form = document.getElementById("device-form"), error = document.getElementById("device-error");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      error.hidden = true;
      var name = (navigator.userAgentData && navigator.userAgentData.platform || navigator.platform || "device") +
        " · " + new Date().toISOString().slice(0, 10);
      Promise.all([FSOutbox.device(), FSOutbox.count()]).then(function (v) {
        if (v[0] && v[0].username !== username && v[1] > 0) { // never send one person's work as another's
          throw new Error(t("other_user_waiting", {n: v[1], x: v[0].username}));
        }
        return FSOutbox.registerDevice(username, form.elements.password.value, name, csrfToken());
      }).then(function () {
        form.reset();
        setup.hidden = true;
        status(t("sending"));
        if (navigator.storage && navigator.storage.persist) navigator.storage.persist();
        return send(true);
      }).then(showReady).catch(function (e) {
        error.textContent = t("register_failed", {x: e.message});
        error.hidden = false;
      });
    });
  }

  function showReady() {
    var ready = document.getElementById("device-ready");
    if (!ready) return;
    Promise.all([FSOutbox.getMeta("pages_saved_at"), FSOutbox.getMeta("etags")]).then(function (v) {
      ready.hidden = false;
      ready.textContent = t("registered") + (v[0] ? " " + t("saved_pages", {n: Object.keys(v[1] || {}).length, t: hhmm(v[0])}) : "");
    });
  }

  function bindLogout() {
    document.addEventListener("submit", function (event) {
      var form = event.target;
      if (!form.matches || !form.matches('form[action="/logout"]')) return;
      event.preventDefault();
      FSOutbox.count().then(function (n) {
        var refused = document.getElementById("logout-refused");
        if (n > 0) {
          if (refused) { refused.textContent = t("logout_refused", {n: n}); refused.hidden = false; }
          return send(false);
        }
        Object.keys(localStorage).forEach(function (k) { if (k.indexOf("fs.") === 0) localStorage.removeItem(k); });
        return FSOutbox.clearAll().then(function () {
          if (!("serviceWorker" in navigator)) return;
          return navigator.serviceWorker.getRegistrations().then(function (list) {
            return Promise.all(list.map(function (r) { return r.unregister(); }));
          });
        }).then(function () { form.submit(); });
      });
    }, true);
  }

  function takeOverWhenEmpty(worker) {
    if (!worker) return;
    FSOutbox.count().then(function (n) {
      if (n === 0) worker.postMessage({type: "SKIP_WAITING"});
    });
  }

  function bindServiceWorker() {
    if (!("serviceWorker" in navigator)) return;
    navigator.serviceWorker.register("/sw.js", {scope: "/"}).then(function (reg) {
      takeOverWhenEmpty(reg.waiting);
      reg.addEventListener("updatefound", function () {
        var worker = reg.installing;
        if (worker) worker.addEventListener("statechange", function () {
          if (worker.state === "installed" && navigator.serviceWorker.controller) takeOverWhenEmpty(worker);
        });
      });
      FSOutbox.onChange(function (what) { if (what === "synced") takeOverWhenEmpty(reg.waiting); });
    }).catch(function (e) { console.warn("service worker:", e); });
  }

  function start() {
    if (!root) return;
    FSOutbox.setMeta("lang", document.documentElement.lang || "zh-Hans");
    FSOutbox.onChange(function (what) { if (what !== "sending" && what !== "cleared") refresh(); });
    bindLogout();
    bindServiceWorker();
    bindDeviceSetup();
    bindPartsFilter();
    var badge = document.getElementById("outbox-badge");
    if (badge) badge.addEventListener("click", function () { status(t("sending")); send(true); });
    window.addEventListener("online", function () { renderAsOf(); send(true); });
    window.addEventListener("offline", function () { renderAsOf(); status(t("offline"), "warn"); });
    document.addEventListener("visibilitychange", function () { if (document.visibilityState === "visible") send(true); });
    setInterval(function () { send(false); }, TIMER_MS);
    FSOutbox.prune();
    if (navigator.storage && navigator.storage.persist) navigator.storage.persist().catch(function () {});
    if (!navigator.onLine) status(t("offline"), "warn");
    refresh().then(function () { send(true); });
  }

  window.FSTech = {t: t, el: el, hhmm: hhmm, status: status, send: send, refresh: refresh, strings: S,
                   askBackgroundSync: askBackgroundSync, renderedAt: renderedAt, serverOrder: serverOrder,
                   onRefresh: function (fn) { hooks.push(fn); }};
  document.addEventListener("DOMContentLoaded", start); // after the page's other scripts
})();
