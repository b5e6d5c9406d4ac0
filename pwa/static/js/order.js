/* An order's screens: the server's record merged with what this device has not sent yet
 * (shown at once, marked waiting), and every action on the order as an outbox mutation:
 * travel, arrival, diagnosis, parts from the cached catalogue, labour (timer or by hand),
 * notes, photos shrunk to ≤ 1600 px JPEG on the device, completion, fee, carry-back.
 */
/* global FSOutbox, FSTech, ReportHash */
(function () {
  "use strict";

  var t = FSTech.t, el = FSTech.el, hhmm = FSTech.hhmm, status = FSTech.status, send = FSTech.send;
  var refresh = FSTech.refresh, S = FSTech.strings, renderedAt = FSTech.renderedAt;
  var serverOrder = FSTech.serverOrder;
  var orderEl = document.getElementById("order");
  if (!serverOrder) return;

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
      case "photos": return t("act_attach_photo") + ": " + (item.caption || item.sha256.slice(0, 10));
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
      var markers = li.querySelector(".markers");
      if (!markers) {
        markers = el("span", {"class": "markers"});
        li.insertBefore(markers, li.querySelector("form"));
      }
      markers.textContent = "";
      if (kind === "parts" && item.voided) {
        li.classList.add("voided");
        var f = li.querySelector("form");
        if (f) f.remove();
        if (!li.querySelector(".badge.void")) markers.appendChild(el("span", {"class": "badge void"}, t("voided")));
        if (item._void) markers.appendChild(marker(item._void));
      } else if (item._state) {
        markers.appendChild(marker(item._state));
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
      FSTech.askBackgroundSync();
      return refresh().then(function () {
        send(true);
        return entry;
      });
    });
  }

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

  FSTech.model = model;
  FSTech.record = record;
  FSTech.loadCatalogue = loadCatalogue;
  FSTech.onRefresh(renderOrder);
  document.addEventListener("submit", onSubmit);
  bindPartSearch();
  bindTimer();
})();
