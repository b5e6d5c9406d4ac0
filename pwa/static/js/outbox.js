/* The device's outbox: what the technician did, kept in IndexedDB until the server
 * acknowledges it (sync-protocol §2). Shared by the pages and the service worker.
 *
 * Stores: outbox (mutations by seq), blobs (signature/photo bytes until uploaded),
 * done (acknowledged mutations, shown until the cached page catches up), problems
 * (rejections and conflicts to show the technician), meta (device, next seq, cursor…).
 * Sending holds a Web Lock so a page and the worker never send at the same time; a
 * mutation leaves the outbox only when a reply lists it (or its seq ≤ the reply's last_seq).
 */
(function (root) {
  "use strict";

  var DB_NAME = "fieldservice";
  var DB_VERSION = 1;
  var PAGES_CACHE = "fs-pages";
  var LOCK = "fs-outbox-send";
  var MAX_MUTATIONS = 500;
  var MAX_BYTES = 900 * 1024; // under the server's 1 MiB per push
  var BACKOFF_MAX_MS = 60000;
  var DONE_KEEP_MS = 3 * 24 * 3600 * 1000;
  var channel = typeof BroadcastChannel !== "undefined" ? new BroadcastChannel("fs-outbox") : null;
  var dbPromise = null;

  var closed = false; // after sign-out nothing may bring the database back in this page

  function open() {
    if (closed) return Promise.reject(new Error("signed out"));
    if (dbPromise) return dbPromise;
    dbPromise = new Promise(function (resolve, reject) {
      var request = indexedDB.open(DB_NAME, DB_VERSION);
      request.onupgradeneeded = function () {
        var db = request.result;
        db.createObjectStore("outbox", {keyPath: "seq"}).createIndex("order", "order_id");
        db.createObjectStore("blobs", {keyPath: "sha256"});
        db.createObjectStore("done", {keyPath: "id"}).createIndex("order", "order_id");
        db.createObjectStore("problems", {keyPath: "id"});
        db.createObjectStore("meta");
      };
      request.onsuccess = function () {
        var db = request.result;
        db.onversionchange = function () { db.close(); dbPromise = null; };
        resolve(db);
      };
      request.onerror = function () { dbPromise = null; reject(request.error); };
      request.onblocked = function () { /* another tab holds an old version; it closes on versionchange */ };
    });
    return dbPromise;
  }

  /* Run fn(stores) in one transaction; resolves with fn's result once it has committed. */
  function tx(names, mode, fn) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction(names, mode);
        var stores = {};
        names.forEach(function (n) { stores[n] = t.objectStore(n); });
        var result;
        t.oncomplete = function () { resolve(result); };
        t.onerror = t.onabort = function () { reject(t.error || new Error("transaction failed")); };
        fn(stores, function (value) { result = value; });
      });
    });
  }

  function all(store, index, key) {
    return tx([store], "readonly", function (s, done) {
      var source = index ? s[store].index(index) : s[store];
      var req = key === undefined ? source.getAll() : source.getAll(key);
      req.onsuccess = function () { done(req.result); };
    });
  }

  function getMeta(key) {
    return tx(["meta"], "readonly", function (s, done) {
      var req = s.meta.get(key);
      req.onsuccess = function () { done(req.result); };
    });
  }

  function setMeta(key, value) {
    return tx(["meta"], "readwrite", function (s) { s.meta.put(value, key); });
  }

  function announce(what) {
    if (channel) channel.postMessage({type: what || "changed"});
    listeners.forEach(function (fn) { try { fn(what || "changed"); } catch (e) { /* a page's bug */ } });
  }
  var listeners = [];
  if (channel) channel.onmessage = function (event) {
    if (event.data.type === "cleared") { // signed out in another page: let go of the database
      closed = true;
      if (dbPromise) dbPromise.then(function (db) { db.close(); }).catch(function () {});
      dbPromise = null;
    } else if (event.data.type === "device") {
      closed = false;
    }
    listeners.forEach(function (fn) { try { fn(event.data.type); } catch (e) { /* ignore */ } });
  };

  function uuid() {
    if (root.crypto && root.crypto.randomUUID) return root.crypto.randomUUID();
    var b = root.crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  /* RFC 3339 with the device's own offset, e.g. 2026-11-22T09:31:05+08:00. */
  function rfc3339(date) {
    var d = date || new Date();
    var off = -d.getTimezoneOffset();
    var sign = off >= 0 ? "+" : "-";
    off = Math.abs(off);
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + "T" + pad(d.getHours()) +
      ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds()) + sign + pad(Math.floor(off / 60)) + ":" + pad(off % 60);
  }

  /* Put one mutation (and the blobs it names) in the outbox; the seq is made here, atomically. */
  function enqueue(name, args, options) {
    options = options || {};
    var entry = {id: uuid(), name: name, args: args, base_version: options.baseVersion == null ? null : options.baseVersion,
                 captured_at: rfc3339(new Date()), order_id: args.work_order_id || null,
                 blobs: (options.blobs || []).map(function (b) { return b.sha256; }), queued_at: Date.now()};
    return tx(["outbox", "meta", "blobs"], "readwrite", function (s, done) {
      (options.blobs || []).forEach(function (b) {
        s.blobs.put({sha256: b.sha256, kind: b.kind, type: b.type, data: b.data, uploaded: false,
                     order_id: entry.order_id});
      });
      var req = s.meta.get("next_seq");
      req.onsuccess = function () {
        entry.seq = req.result || 1;
        s.outbox.add(entry);
        s.meta.put(entry.seq + 1, "next_seq");
        done(entry);
      };
    }).then(function (saved) {
      announce("changed");
      return saved;
    });
  }

  function count() {
    return tx(["outbox"], "readonly", function (s, done) {
      var req = s.outbox.count();
      req.onsuccess = function () { done(req.result); };
    });
  }

  function device() { return getMeta("device"); }

  function lang() { return getMeta("lang").then(function (l) { return l || "zh-Hans"; }); }

  function headers(dev, extra) {
    return lang().then(function (l) {
      var h = {"Accept": "application/json", "Accept-Language": l};
      if (dev) h.Authorization = "Bearer " + dev.token;
      return Object.assign(h, extra || {});
    });
  }

  function registerDevice(username, password, deviceName, csrfToken) {
    return headers(null, {"Content-Type": "application/json", "X-CSRF-Token": csrfToken || ""}).then(function (h) {
      return fetch("/sync/devices", {method: "POST", headers: h, credentials: "same-origin",
        body: JSON.stringify({username: username, password: password, device_name: deviceName})});
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (response.status !== 201) {
          var error = new Error(body.message || ("HTTP " + response.status));
          error.status = response.status;
          throw error;
        }
        return tx(["meta", "outbox"], "readwrite", function (s) {
          s.meta.put({device_id: body.device_id, token: body.token, username: username,
                      registered_at: Date.now()}, "device");
          s.meta.put((body.last_seq || 0) + 1, "next_seq");
          s.meta.delete("cursor");
          s.meta.delete("etags");
          var renumber = s.outbox.getAll();
          renumber.onsuccess = function () { // work queued before the device was set up
            var seq = (body.last_seq || 0) + 1;
            s.outbox.clear();
            renumber.result.forEach(function (entry) { entry.seq = seq++; s.outbox.add(entry); });
            s.meta.put(seq, "next_seq");
          };
          if (body.server_time) s.meta.put(Date.now() - Date.parse(body.server_time), "clock_offset_ms");
        });
      });
    }).then(function () { announce("device"); });
  }

  function withLock(fn) {
    if (root.navigator && root.navigator.locks) {
      return root.navigator.locks.request(LOCK, {ifAvailable: true}, function (lock) {
        return lock ? fn() : {state: "busy"};
      });
    }
    return fn();
  }

  function putBlob(dev, blob) {
    return headers(dev, {"Content-Type": blob.type}).then(function (h) {
      return fetch("/sync/blobs/" + blob.sha256 + "?kind=" + encodeURIComponent(blob.kind),
                   {method: "PUT", headers: h, body: blob.data});
    }).then(function (response) {
      if (response.status === 200 || response.status === 201) {
        return tx(["blobs"], "readwrite", function (s) {
          var req = s.blobs.get(blob.sha256);
          req.onsuccess = function () { if (req.result) { req.result.uploaded = true; s.blobs.put(req.result); } };
        });
      }
      if (response.status >= 500) throw new Error("blob upload: " + response.status);
      return response.json().catch(function () { return {}; }).then(function (body) {
        var error = new Error(body.message || ("blob upload: " + response.status));
        error.fatal = response.status === 401;
        throw error;
      });
    });
  }

  function blobsFor(entries) {
    var wanted = {};
    entries.forEach(function (e) { (e.blobs || []).forEach(function (sha) { wanted[sha] = true; }); });
    return all("blobs").then(function (blobs) {
      return blobs.filter(function (b) { return wanted[b.sha256] && !b.uploaded; });
    });
  }

  function batchOf(entries) {
    var batch = [], bytes = 200;
    for (var i = 0; i < entries.length && batch.length < MAX_MUTATIONS; i++) {
      var e = entries[i];
      var m = {id: e.id, seq: e.seq, name: e.name, args: e.args, base_version: e.base_version,
               captured_at: e.captured_at};
      var size = JSON.stringify(m).length * 3;
      if (batch.length && bytes + size > MAX_BYTES) break;
      bytes += size;
      batch.push(m);
    }
    return batch;
  }

  function isProblem(result) {
    var status = result.status === "duplicate" && result.original ? result.original.status : result.status;
    return status === "rejected" || status === "conflict";
  }

  /* Apply one reply: acknowledged entries leave the outbox, problems are kept to be shown. */
  function acknowledge(reply, sent) {
    var listed = {};
    (reply.results || []).forEach(function (r) { listed[r.id] = r; });
    var ackedAt = reply.server_time || new Date().toISOString();
    return tx(["outbox", "done", "problems", "blobs", "meta"], "readwrite", function (s) {
      sent.forEach(function (m) {
        var result = listed[m.id];
        if (!result && !(m.seq <= reply.last_seq)) return;
        var req = s.outbox.get(m.seq);
        req.onsuccess = function () {
          var entry = req.result;
          if (!entry || entry.id !== m.id) return;
          s.outbox.delete(m.seq);
          var outcome = result || {id: m.id, seq: m.seq, status: "applied"};
          var status = outcome.status === "duplicate" && outcome.original ? outcome.original.status : outcome.status;
          s.done.put({id: entry.id, seq: entry.seq, name: entry.name, args: entry.args, order_id: entry.order_id,
                      status: status, result: outcome, acked_at: ackedAt, kept_at: Date.now()});
          (entry.blobs || []).forEach(function (sha) { s.blobs.delete(sha); });
          if (isProblem(outcome)) {
            var detail = outcome.status === "duplicate" ? outcome.original : outcome;
            s.problems.put({id: entry.id, order_id: entry.order_id, name: entry.name, status: status,
                            reason: detail.reason || "", message: detail.message || "", at: ackedAt});
          }
        };
      });
      s.meta.put(reply.last_seq, "server_last_seq");
    });
  }

  function renumberFrom(first) {
    return tx(["outbox", "meta"], "readwrite", function (s) {
      var req = s.outbox.getAll();
      req.onsuccess = function () {
        var seq = first;
        s.outbox.clear();
        req.result.sort(function (a, b) { return a.seq - b.seq; })
          .forEach(function (entry) { entry.seq = seq++; s.outbox.add(entry); });
        s.meta.put(seq, "next_seq");
      };
    });
  }

  function markBlobsMissing(seq) {
    return tx(["outbox", "blobs"], "readwrite", function (s) {
      var req = s.outbox.get(seq);
      req.onsuccess = function () {
        (req.result && req.result.blobs || []).forEach(function (sha) {
          var b = s.blobs.get(sha);
          b.onsuccess = function () { if (b.result) { b.result.uploaded = false; s.blobs.put(b.result); } };
        });
      };
    });
  }

  function noteFailure(error) {
    return getMeta("backoff").then(function (b) {
      var failures = ((b && b.failures) || 0) + 1;
      var delay = Math.min(BACKOFF_MAX_MS, 1000 * Math.pow(2, failures));
      return setMeta("backoff", {failures: failures, next_at: Date.now() + delay,
                                 error: String(error && error.message || error)});
    }).then(function () { announce("failed"); });
  }

  function push(dev, batch) {
    var t0 = Date.now();
    return Promise.all([headers(dev, {"Content-Type": "application/json"}), getMeta("clock_offset_ms")]).then(function (v) {
      return fetch("/sync/push", {method: "POST", headers: v[0], body: JSON.stringify({
        device_id: dev.device_id, schema_version: 1, clock_offset_ms: Math.round(v[1] || 0), mutations: batch})});
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (response.status === 200 && body.results) {
          if (body.server_time) setMeta("clock_offset_ms", (t0 + Date.now()) / 2 - Date.parse(body.server_time));
          return body;
        }
        var error = new Error(body.message || ("push: HTTP " + response.status));
        error.status = response.status;
        throw error;
      });
    });
  }

  /* Send everything waiting, in seq order, until the outbox is empty or the network fails. */
  function sendOutbox(options) {
    options = options || {};
    return Promise.all([device(), getMeta("backoff")]).then(function (v) {
      var dev = v[0], backoff = v[1];
      if (!dev) return {state: "no_device"};
      if (!options.force && backoff && backoff.next_at > Date.now()) return {state: "backing_off"};
      return withLock(function () { return drain(dev, options); });
    }).catch(function (error) {
      return noteFailure(error).then(function () { return {state: "failed", error: String(error.message || error)}; });
    });
  }

  function drain(dev, options) {
    var sentTotal = 0, rounds = 0;
    announce("sending");
    function round() {
      if (rounds++ > 50) return Promise.resolve();
      return all("outbox").then(function (entries) {
        entries.sort(function (a, b) { return a.seq - b.seq; });
        if (!entries.length) return null;
        var batch = batchOf(entries);
        return blobsFor(entries.slice(0, batch.length)).then(function (blobs) {
          return blobs.reduce(function (p, b) { return p.then(function () { return putBlob(dev, b); }); }, Promise.resolve());
        }).then(function () { return push(dev, batch); }).then(function (reply) {
          return acknowledge(reply, batch).then(function () {
            sentTotal += batch.length;
            announce("changed");
            var stopped = reply.stopped;
            if (!stopped) return round();
            if (stopped.reason === "blob_missing") return markBlobsMissing(stopped.seq).then(round);
            if (stopped.reason === "gap") return renumberFrom(stopped.resend_from).then(round);
            var error = new Error(stopped.reason);
            error.fatal = true;
            throw error;
          });
        });
      });
    }
    return round().then(function () {
      return setMeta("backoff", null);
    }).then(function () {
      return options.pull === false ? 0 : pull(dev);
    }).then(function (pages) {
      announce("synced");
      return {state: "ok", sent: sentTotal, pages: pages};
    }).catch(function (error) {
      if (error && error.status === 401) {
        return tx(["problems"], "readwrite", function (s) {
          s.problems.put({id: "device", order_id: null, name: "device", status: "rejected",
                          reason: "device_revoked", message: error.message, at: new Date().toISOString()});
        }).then(function () { throw error; });
      }
      throw error;
    });
  }

  function orderPages(url) {
    var match = /^\/tech\/orders\/(\d+)$/.exec(url);
    return match ? [url, url + "/signoff", url + "/rating"] : [url];
  }

  /* Fetch the pages the server lists (and their sign-off/rating screens) into the cache. */
  function cachePages(pages, force) {
    if (closed) return Promise.resolve(0);
    var urls = [], etags = {}, extra = {};
    pages.forEach(function (p) { orderPages(p.url).forEach(function (u) { urls.push(u); etags[u] = p.etag || ""; }); });
    // Pages the server does not list: saved once, and the summary again whenever anything changed.
    ["/tech", "/tech/parts", "/tech/summary", "/offline"].forEach(function (u) {
      if (urls.indexOf(u) < 0) { urls.push(u); extra[u] = true; }
    });
    return Promise.all([caches.open(PAGES_CACHE), getMeta("etags")]).then(function (v) {
      var cache = v[0], known = v[1] || {};
      return Promise.all(urls.map(function (url) {
        return cache.match(url).then(function (hit) {
          if (hit && !force && extra[url] && !(url === "/tech/summary" && pages.length)) return;
          if (hit && !force && etags[url] && known[url] === etags[url]) return;
          return fetch(url, {credentials: "same-origin", cache: "no-store", headers: {"Accept": "text/html"}})
            .then(function (response) {
              if (closed || !response.ok || response.redirected) return;
              known[url] = etags[url] || "";
              return cache.put(url, response);
            }).catch(function () { /* offline again: next sync */ });
        });
      })).then(function () {
        return setMeta("etags", known).then(function () { return setMeta("pages_saved_at", Date.now()); })
          .then(function () { return urls.length; });
      });
    });
  }

  function forgetOrders(ids) {
    if (!ids || !ids.length) return Promise.resolve();
    return caches.open(PAGES_CACHE).then(function (cache) {
      return Promise.all(ids.map(function (id) {
        return Promise.all(orderPages("/tech/orders/" + id).map(function (u) { return cache.delete(u); }));
      }));
    });
  }

  function pull(dev) {
    dev = dev || null;
    return (dev ? Promise.resolve(dev) : device()).then(function (d) {
      if (!d) return 0;
      return Promise.all([getMeta("cursor"), headers(d)]).then(function (v) {
        return fetch("/sync/pull?cursor=" + encodeURIComponent(v[0] || ""), {headers: v[1]});
      }).then(function (response) {
        if (!response.ok) {
          var error = new Error("pull: HTTP " + response.status);
          error.status = response.status;
          throw error;
        }
        return response.json();
      }).then(function (body) {
        return Promise.all([setMeta("cursor", body.cursor || ""), setMeta("pulled_at", Date.now()),
                            forgetOrders(body.removed)])
          .then(function () { return cachePages(body.pages || []); });
      });
    });
  }

  function pending(orderId) {
    return (orderId ? all("outbox", "order", orderId) : all("outbox")).then(function (rows) {
      return rows.sort(function (a, b) { return a.seq - b.seq; });
    });
  }

  function acknowledged(orderId) {
    return all("done", "order", orderId).then(function (rows) {
      return rows.sort(function (a, b) { return a.seq - b.seq; });
    });
  }

  function problems() { return all("problems"); }

  function dismissProblem(id) {
    return tx(["problems"], "readwrite", function (s) { s.problems.delete(id); }).then(function () { announce("changed"); });
  }

  function blob(sha256) {
    return tx(["blobs"], "readonly", function (s, done) {
      var req = s.blobs.get(sha256);
      req.onsuccess = function () { done(req.result); };
    });
  }

  function prune() {
    var limit = Date.now() - DONE_KEEP_MS;
    return tx(["done"], "readwrite", function (s) {
      var req = s.done.getAll();
      req.onsuccess = function () {
        req.result.forEach(function (row) { if (row.kept_at < limit) s.done.delete(row.id); });
      };
    });
  }

  /* Sign-out: the caches and this database are emptied (the server also sends Clear-Site-Data). */
  function clearAll() {
    // Wait for a sync in progress (here or in the worker) so that nothing writes after the wipe.
    if (root.navigator && root.navigator.locks && root.AbortController) {
      var abort = new AbortController();
      var timer = setTimeout(function () { abort.abort(); }, 10000);
      return root.navigator.locks.request(LOCK, {signal: abort.signal}, function () {
        clearTimeout(timer);
        return wipe();
      }).catch(function () { return wipe(); });
    }
    return wipe();
  }

  function wipe() {
    var closing = dbPromise ? dbPromise.then(function (db) { db.close(); }).catch(function () {}) : Promise.resolve();
    dbPromise = null;
    closed = true;
    if (channel) channel.postMessage({type: "cleared"}); // the worker lets go and stops writing
    return closing.then(function () {
      return caches.keys().then(function (keys) { return Promise.all(keys.map(function (k) { return caches.delete(k); })); });
    }).then(function () {
      return new Promise(function (resolve) {
        var req = indexedDB.deleteDatabase(DB_NAME);
        req.onsuccess = req.onerror = function () { resolve(); };
        setTimeout(resolve, 5000); // blocked by a page that does not let go: the server's Clear-Site-Data ends it
      });
    }).then(function () { listeners.forEach(function (fn) { fn("cleared"); }); });
  }

  root.FSOutbox = {
    DB_NAME: DB_NAME, PAGES_CACHE: PAGES_CACHE, uuid: uuid, rfc3339: rfc3339, enqueue: enqueue,
    count: count, pending: pending, acknowledged: acknowledged, problems: problems,
    dismissProblem: dismissProblem, blob: blob, device: device, getMeta: getMeta, setMeta: setMeta,
    registerDevice: registerDevice, sendOutbox: sendOutbox, pull: pull, cachePages: cachePages,
    prune: prune, clearAll: clearAll, onChange: function (fn) { listeners.push(fn); },
  };
})(typeof self !== "undefined" ? self : this);
