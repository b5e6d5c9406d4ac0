/* The technician's pages: every action becomes an outbox mutation (outbox.js), shown at
 * once as waiting; the badge counts what waits; sending happens on load, online,
 * visibilitychange, a timer and after each action; problems from the server are shown in the
 * user's language; sign-out waits for an empty outbox and then empties the device.
 */
/* global FSOutbox */
(function () {
  "use strict";

  var root = document.querySelector(".tech");
  var S = JSON.parse((document.getElementById("tech-strings") || {}).textContent || "{}");
  var username = root ? root.getAttribute("data-user") : null;
  var renderedAt = root ? Date.parse(root.getAttribute("data-rendered-at")) : Date.now();
  var orderEl = document.getElementById("order");
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

  /* ---- the merged model: the server's record plus what this device did ---- */

  function stateOf(entry, acked) {
    if (!acked) return "pending";
    return entry.status === "conflict" ? "conflict" : "sent";
  }

  function merge(server, pending, done) {
    var m = JSON.parse(JSON.stringify(server));
    ["parts", "labour", "notes", "photos", "payments", "signoffs", "ratings", "receipts"].forEach(function (k) {
      m[k] = m[k] || [];
    });
    m.local = {};
    var seen = {};
    function has(list, key, id) { return list.some(function (x) { return x[key] === id; }); }
    var local = done.filter(function (d) { return d.status !== "rejected"; }).map(function (d) { return [d, true]; })
      .concat(pending.map(function (p) { return [p, false]; }));
    local.forEach(function (pair) {
      var e = pair[0], acked = pair[1], a = e.args, st = stateOf(e, acked);
      if (seen[e.id]) return;
      seen[e.id] = true;
      var fresh = !acked || Date.parse(e.acked_at) > renderedAt; // not yet in the page's record
      switch (e.name) {
        case "start_travel":
          if (!m.started_travel_at) { m.started_travel_at = a.at; m.local.started_travel_at = st; } break;
        case "arrive":
          if (!m.arrived_at) { m.arrived_at = a.at; m.local.arrived_at = st; }
          if (m.status === "dispatched") m.status = "in_progress"; break;
        case "record_diagnosis":
          if (fresh) ["reported", "observed", "cause", "severity"].forEach(function (k) { m[k] = a[k]; m.local[k] = st; }); break;
        case "complete_work":
          if (fresh) { m.outcome = a.outcome; m.work_done = a.work_done; m.local.outcome = m.local.work_done = st; m.status = "completed"; } break;
        case "add_part":
          if (!has(m.parts, "line_id", a.line_id)) m.parts.push(Object.assign({voided: false, _state: st}, a)); break;
        case "void_part":
          m.parts.forEach(function (p) { if (p.line_id === a.line_id && !p.voided) { p.voided = true; p._void = st; } }); break;
        case "add_labour":
          if (!has(m.labour, "entry_id", a.entry_id)) m.labour.push(Object.assign({_state: st}, a)); break;
        case "add_note":
          if (!has(m.notes, "note_id", a.note_id)) m.notes.push(Object.assign({_state: st}, a)); break;
        case "attach_photo":
          if (!has(m.photos, "photo_id", a.photo_id)) m.photos.push(Object.assign({_state: st}, a)); break;
        case "collect_fee":
          if (!has(m.payments, "payment_id", a.payment_id)) m.payments.push(Object.assign({_state: st}, a)); break;
        case "carry_back":
          if (!has(m.receipts, "receipt_id", a.receipt_id)) m.receipts.push(Object.assign({_state: st}, a)); break;
        case "customer_signoff":
          if (!has(m.signoffs, "signoff_id", a.signoff_id)) m.signoffs.push(Object.assign({_state: st}, a)); break;
        case "rate_service":
          if (!has(m.ratings, "rating_id", a.rating_id)) m.ratings.push(Object.assign({_state: st}, a)); break;
      }
    });
    return m;
  }

  function model() {
    if (!serverOrder) return Promise.resolve(null);
    return Promise.all([FSOutbox.pending(serverOrder.id), FSOutbox.acknowledged(serverOrder.id)]).then(function (v) {
      return merge(serverOrder, v[0], v[1]);
    });
  }

  function versionFor() {
    return FSOutbox.acknowledged(serverOrder.id).then(function (done) {
      var version = serverOrder.version;
      done.forEach(function (d) { if (d.result && d.result.version > version) version = d.result.version; });
      return version;
    });
  }

  /* ---- showing it ---- */

  function marker(state) {
    var label = {pending: t("pending"), sent: t("sent"), conflict: t("conflict")}[state];
    return el("span", {"class": "badge state-" + state}, label);
  }

  var catalogue = null;
  function loadCatalogue() {
    if (catalogue) return catalogue;
    catalogue = fetch("/tech/parts", {credentials: "same-origin", headers: {"Accept": "text/html"}})
      .then(function (r) { return r.text(); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        return Array.prototype.map.call(doc.querySelectorAll("#parts-table [data-code]"), function (row) {
          return {code: row.getAttribute("data-code"), name: row.getAttribute("data-name"),
                  stock: row.getAttribute("data-stock"), unit: row.getAttribute("data-unit")};
        });
      }).catch(function () { catalogue = null; return []; });
    return catalogue;
  }

  function partName(code, parts) {
    var hit = (parts || []).filter(function (p) { return p.code === code; })[0];
    return hit ? hit.name : "";
  }

  var photoUrls = {};
  function itemText(kind, item, parts) {
    switch (kind) {
      case "parts": return item.part_code + " " + partName(item.part_code, parts) + " × " + item.qty;
      case "labour": return hhmm(item.started_at) + "–" + hhmm(item.ended_at) + " · " +
        t("minutes", {n: Math.floor((Date.parse(item.ended_at) - Date.parse(item.started_at)) / 60000)});
      case "notes": return item.text;
      case "photos": return "📷 " + (item.caption || item.sha256.slice(0, 10));
      case "payments": return "¥" + (item.amount_cents / 100).toFixed(2) + (item.receipt_no ? " · " + item.receipt_no : "");
      case "receipts": return t("act_carry_back") + " " + (item.receipt_no || item.receipt_id.slice(0, 8).toUpperCase()) +
        (item.condition ? " · " + item.condition : "");
      case "signoffs": return t("act_customer_signoff") + (item.signer_name ? ": " + item.signer_name : "");
      case "ratings": return t("act_rate_service") + ": " + [item.attitude, item.skill, item.arrival, item.promises].join("/");
    }
    return "";
  }
  var ID_KEY = {parts: "line_id", labour: "entry_id", notes: "note_id", photos: "photo_id", payments: "payment_id",
                receipts: "receipt_id", signoffs: "signoff_id", ratings: "rating_id"};

  function renderList(kind, items, parts) {
    var list = document.getElementById("list-" + kind);
    if (!list) return;
    items.forEach(function (item) {
      var id = item[ID_KEY[kind]];
      var li = list.querySelector('li[data-id="' + id + '"]');
      if (!li) {
        li = el("li", {"data-id": id, "class": "local"});
        li.appendChild(el("span", {"class": "item-text"}, itemText(kind, item, parts)));
        if (kind === "parts") {
          var form = el("form", {"class": "action-form inline", "data-action": "void_part"});
          form.appendChild(el("input", {type: "hidden", name: "line_id", value: id}));
          form.appendChild(el("button", {"class": "danger small"}, t("void")));
          li.appendChild(form);
        }
        if (kind === "photos" && item.sha256) showPhoto(li, item.sha256);
        list.appendChild(li);
      }
      var old = li.querySelector(".badge.state-pending, .badge.state-sent, .badge.state-conflict");
      if (old) old.remove();
      if (item._state) li.insertBefore(marker(item._state), li.querySelector("form"));
      if (kind === "parts" && item.voided && !li.classList.contains("voided")) {
        li.classList.add("voided");
        var f = li.querySelector("form");
        if (f) f.remove();
        li.appendChild(el("span", {"class": "badge"}, t("voided")));
        if (item._void) li.appendChild(marker(item._void));
      }
    });
  }

  function showPhoto(li, sha) {
    FSOutbox.blob(sha).then(function (b) {
      if (!b) return;
      photoUrls[sha] = photoUrls[sha] || URL.createObjectURL(b.data);
      li.appendChild(el("img", {src: photoUrls[sha], alt: "", "class": "thumb"}));
    });
  }

  function renderField(name, value, state, label) {
    var dd = document.querySelector('[data-field="' + name + '"]');
    if (!dd || !state) return;
    dd.textContent = label !== undefined ? label : (/_at$/.test(name) ? hhmm(value) : (value || "—"));
    dd.appendChild(document.createTextNode(" "));
    dd.appendChild(marker(state));
  }

  function radioLabel(name, value) {
    var input = document.querySelector('input[name="' + name + '"][value="' + value + '"]');
    return input && input.parentNode ? input.parentNode.textContent.trim() : value;
  }

  function renderOrder() {
    if (!orderEl) return Promise.resolve();
    return Promise.all([model(), loadCatalogue()]).then(function (v) {
      var m = v[0], parts = v[1];
      ["started_travel_at", "arrived_at", "reported", "observed", "cause", "work_done"].forEach(function (k) {
        renderField(k, m[k], m.local[k]);
      });
      renderField("severity", m.severity, m.local.severity, radioLabel("severity", m.severity));
      renderField("outcome", m.outcome, m.local.outcome, radioLabel("outcome", m.outcome));
      Object.keys(ID_KEY).forEach(function (kind) { renderList(kind, m[kind], parts); });
      var badge = document.getElementById("order-status");
      if (badge && m.status !== serverOrder.status && S["status_" + m.status]) {
        badge.textContent = S["status_" + m.status];
        badge.className = "badge status-" + m.status;
      }
    });
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
        var ok = el("button", {type: "button", "class": "small"}, "OK");
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

  function renderAsOf() {
    var asof = document.getElementById("asof");
    if (!asof) return;
    var stale = !navigator.onLine || Date.now() - renderedAt > 120000;
    asof.classList.toggle("stale", stale);
    asof.querySelector(".asof-note").hidden = !stale;
  }

  var refreshing = null;
  function refresh() {
    if (refreshing) return refreshing;
    refreshing = Promise.all([renderBadge(), renderOrder(), renderProblems()]).then(function () {
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

  /* ---- actions ---- */

  function fail(form, key) {
    var box = form.querySelector(".field-error");
    if (box) { box.textContent = t(key); box.hidden = false; }
    return null;
  }

  function value(form, name) {
    var field = form.elements[name];
    if (!field) return "";
    if (field.type === "checkbox") return field.checked;
    return (field.value || "").trim();
  }

  function localInput(text) { // datetime-local value → RFC 3339 with this device's offset
    var d = new Date(text);
    return isNaN(d) ? null : FSOutbox.rfc3339(d);
  }

  var ACTIONS = {
    start_travel: function () { return {args: {at: FSOutbox.rfc3339()}}; },
    arrive: function () { return {args: {at: FSOutbox.rfc3339()}}; },
    record_diagnosis: function (form) {
      if (!value(form, "severity")) return fail(form, "err_severity");
      return {mutable: true, args: {reported: value(form, "reported"), observed: value(form, "observed"),
                                    cause: value(form, "cause"), severity: value(form, "severity")}};
    },
    add_part: function (form) {
      if (!value(form, "part_code")) return fail(form, "err_part");
      var qty = value(form, "qty").replace(",", ".");
      if (!ReportHash.isQty(qty) || !(parseFloat(qty) > 0)) return fail(form, "err_qty");
      return {args: {line_id: FSOutbox.uuid(), part_code: value(form, "part_code"), qty: qty,
                     source: value(form, "source") || "van", old_part_returned: !!value(form, "old_part_returned")}};
    },
    void_part: function (form) {
      return {args: {line_id: value(form, "line_id"), reason: "entered by mistake"}};
    },
    add_labour: function (form) {
      var a = localInput(value(form, "started_at")), b = localInput(value(form, "ended_at"));
      if (!a || !b || Date.parse(b) <= Date.parse(a)) return fail(form, "err_times");
      return {args: {entry_id: FSOutbox.uuid(), started_at: a, ended_at: b}};
    },
    add_note: function (form) {
      if (!value(form, "text")) return fail(form, "err_text");
      return {args: {note_id: FSOutbox.uuid(), text: value(form, "text")}};
    },
    complete_work: function (form) {
      if (!value(form, "outcome")) return fail(form, "err_outcome");
      return {mutable: true, args: {outcome: value(form, "outcome"), work_done: value(form, "work_done")}};
    },
    collect_fee: function (form) {
      var amount = value(form, "amount").replace(",", ".");
      if (!/^\d+(\.\d{1,2})?$/.test(amount) || !(parseFloat(amount) > 0)) return fail(form, "err_amount");
      if (!value(form, "receipt_no")) return fail(form, "err_receipt");
      var parts = amount.split(".");
      var cents = parseInt(parts[0], 10) * 100 + parseInt(((parts[1] || "") + "00").slice(0, 2), 10);
      return {args: {payment_id: FSOutbox.uuid(), amount_cents: cents, method: value(form, "method"),
                     receipt_no: value(form, "receipt_no")}};
    },
    carry_back: function (form) {
      if (!value(form, "condition")) return fail(form, "err_text");
      return {args: {receipt_id: FSOutbox.uuid(), condition: value(form, "condition"),
                     accessories: value(form, "accessories")}};
    },
  };

  function record(name, args, options) {
    options = options || {};
    args.work_order_id = serverOrder ? serverOrder.id : args.work_order_id;
    var base = options.mutable ? versionFor() : Promise.resolve(null);
    return base.then(function (version) {
      return FSOutbox.enqueue(name, args, {baseVersion: version, blobs: options.blobs});
    }).then(function (entry) {
      askBackgroundSync();
      return refresh().then(function () {
        send(true);
        return entry;
      });
    });
  }
  window.FSTech = {record: record, t: t, model: model, refresh: refresh, loadCatalogue: loadCatalogue, send: send};

  function shrinkPhoto(file) {
    return createImageBitmap(file).then(function (bitmap) {
      var scale = Math.min(1, 1600 / Math.max(bitmap.width, bitmap.height));
      var canvas = document.createElement("canvas");
      canvas.width = Math.round(bitmap.width * scale);
      canvas.height = Math.round(bitmap.height * scale);
      canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      return new Promise(function (resolve) { canvas.toBlob(resolve, "image/jpeg", 0.85); });
    }).then(function (jpeg) {
      return jpeg.arrayBuffer().then(function (buffer) {
        return ReportHash.sha256Hex(buffer).then(function (sha) { return {sha256: sha, data: jpeg}; });
      });
    });
  }

  function submitPhoto(form) {
    var file = form.elements.photo.files[0];
    if (!file) return Promise.resolve(fail(form, "err_photo"));
    return shrinkPhoto(file).then(function (photo) {
      return record("attach_photo", {photo_id: FSOutbox.uuid(), sha256: photo.sha256, caption: value(form, "caption")},
                    {blobs: [{sha256: photo.sha256, kind: "photo", type: "image/jpeg", data: photo.data}]});
    }, function () { return fail(form, "err_photo"); });
  }

  function onSubmit(event) {
    var form = event.target.closest ? event.target.closest("form.action-form") : null;
    if (!form) return;
    event.preventDefault();
    var name = form.getAttribute("data-action");
    var error = form.querySelector(".field-error");
    if (error) error.hidden = true;
    var done;
    if (name === "attach_photo") done = submitPhoto(form);
    else {
      var made = ACTIONS[name] && ACTIONS[name](form);
      if (!made) return;
      done = record(name, made.args, {mutable: made.mutable});
    }
    Promise.resolve(done).then(function (entry) {
      if (!entry) return;
      if (name !== "record_diagnosis" && name !== "complete_work") form.reset();
      var details = form.closest("details");
      if (details) details.open = false;
      status(t("act_" + name) + " · " + t("pending"), "ok");
    });
  }

  /* ---- parts search from the cached catalogue ---- */

  function bindPartSearch() {
    var input = document.querySelector(".part-search");
    if (!input) return;
    var form = input.form, options = document.getElementById("part-options");
    var picked = form.querySelector(".part-picked");
    loadCatalogue().then(function (parts) {
      parts.forEach(function (p) {
        options.appendChild(el("option", {value: p.code}, p.name + " · " + p.stock));
      });
    });
    input.addEventListener("input", function () {
      loadCatalogue().then(function (parts) {
        var q = input.value.trim().toLowerCase();
        var hit = parts.filter(function (p) { return p.code.toLowerCase() === q; })[0] ||
          (q.length > 1 ? parts.filter(function (p) { return p.name.toLowerCase().indexOf(q) >= 0; }) : []).slice(0, 2);
        if (Array.isArray(hit)) hit = hit.length === 1 ? hit[0] : null;
        form.elements.part_code.value = hit ? hit.code : "";
        picked.textContent = hit ? hit.code + " " + hit.name + " · " + t("in_van") + ": " + hit.stock : "";
      });
    });
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

  /* ---- labour timer ---- */

  function bindTimer() {
    var button = document.getElementById("timer-button");
    if (!button || !serverOrder) return;
    var key = "fs.timer." + serverOrder.id, state = button.parentNode.querySelector(".timer-state");
    function show() {
      var since = localStorage.getItem(key);
      button.textContent = since ? t("timer_stop") : t("timer_start");
      button.setAttribute("aria-pressed", since ? "true" : "false");
      state.textContent = since ? t("timer_running", {t: hhmm(since)}) : "";
    }
    button.addEventListener("click", function () {
      var since = localStorage.getItem(key);
      if (!since) localStorage.setItem(key, new Date().toISOString());
      else {
        localStorage.removeItem(key);
        var end = new Date(), start = new Date(since);
        if (end - start >= 1000) record("add_labour", {entry_id: FSOutbox.uuid(), started_at: FSOutbox.rfc3339(start),
                                                       ended_at: FSOutbox.rfc3339(end)});
      }
      show();
    });
    show();
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
      FSOutbox.registerDevice(username, form.elements.password.value, name, csrfToken()).then(function () {
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
    document.addEventListener("submit", onSubmit);
    FSOutbox.onChange(function (what) { if (what !== "sending" && what !== "cleared") refresh(); });
    bindLogout();
    bindServiceWorker();
    bindDeviceSetup();
    bindPartSearch();
    bindPartsFilter();
    bindTimer();
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

  start();
})();
