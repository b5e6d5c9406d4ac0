/* The field-service service worker, served at /sw.js with scope "/" (architecture.md).
 *
 * - install: precache the shell (the offline page and the versioned static files).
 * - static files with ?v=<hash>: cache first (their URL changes when they do).
 * - pages: network first with a short timeout, then the saved copy, then the offline page;
 *   htmx fragment requests (HX-Request) are never answered from the page cache, and pages
 *   carry Vary: HX-Request so a fragment and a page are never mixed up.
 * - activate: caches of older versions are removed; the pages cache is kept.
 * - a new worker waits until the outbox is empty (the page asks it to take over then).
 * - the outbox is sent when the worker starts and on 'sync'; 'push' shows a notification,
 *   tapping it opens the order.
 * The server prepends `self.FS_BUILD = {version, shell, outbox}` to this file.
 */
/* global FSOutbox */
"use strict";

var BUILD = self.FS_BUILD || {version: "dev", shell: ["/offline"], outbox: "/static/js/outbox.js"};
var STATIC_CACHE = "fs-static-" + BUILD.version;
var PAGES_CACHE = "fs-pages";
var PAGE_TIMEOUT_MS = 3000;

importScripts(BUILD.outbox);

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(STATIC_CACHE).then(function (cache) {
    return Promise.all(BUILD.shell.map(function (url) {
      // A versioned file never changes under its URL: the HTTP cache may answer (no second download).
      var versioned = url.indexOf("?v=") > 0;
      return fetch(url, {cache: versioned ? "default" : "no-cache", credentials: "same-origin"}).then(function (response) {
        if (!response.ok) throw new Error("precache " + url + ": " + response.status);
        return url === "/offline" ? caches.open(PAGES_CACHE).then(function (pages) {
          return Promise.all([pages.put(url, response.clone()), cache.put(url, response)]);
        }) : cache.put(url, response);
      });
    }));
  }));
  // No skipWaiting here: a new worker takes over only when the outbox is empty.
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (key) {
      return key !== STATIC_CACHE && key !== PAGES_CACHE;
    }).map(function (key) { return caches.delete(key); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("message", function (event) {
  var data = event.data || {};
  if (data.type === "SKIP_WAITING") {
    event.waitUntil(FSOutbox.count().then(function (n) {
      if (n === 0) return self.skipWaiting();
    }));
  } else if (data.type === "SEND") {
    event.waitUntil(FSOutbox.sendOutbox({force: true}));
  }
});

function isStatic(url) {
  return url.origin === self.location.origin && url.pathname.indexOf("/static/") === 0;
}

function isPage(request, url) {
  if (url.origin !== self.location.origin || request.method !== "GET") return false;
  if (url.pathname.indexOf("/static/") === 0 || url.pathname.indexOf("/sync/") === 0 ||
      url.pathname.indexOf("/api/") === 0 || url.pathname === "/sw.js") return false;
  return request.mode === "navigate" || (request.headers.get("Accept") || "").indexOf("text/html") >= 0;
}

function staticFirst(request) {
  return caches.open(STATIC_CACHE).then(function (cache) {
    return cache.match(request).then(function (hit) {
      if (hit) return hit;
      return fetch(request).then(function (response) {
        if (response.ok && new URL(request.url).searchParams.has("v")) cache.put(request, response.clone());
        return response;
      }).catch(function () {
        // An older page names an older version: any version beats nothing while offline.
        return caches.match(request, {ignoreSearch: true}).then(function (older) {
          return older || Response.error();
        });
      });
    });
  });
}

function savedPage(request) {
  var url = new URL(request.url);
  return caches.open(PAGES_CACHE).then(function (cache) {
    return cache.match(request).then(function (hit) {
      return hit || cache.match(url.pathname + url.search) || cache.match(url.pathname, {ignoreSearch: true});
    });
  });
}

function offlinePage() {
  return caches.match("/offline").then(function (hit) {
    return hit || new Response("<!doctype html><meta charset=utf-8><title>Offline</title><p>离线 · Offline</p>",
                               {status: 503, headers: {"Content-Type": "text/html; charset=utf-8"}});
  });
}

function networkFirst(event) {
  var request = event.request;
  var fragment = request.headers.get("HX-Request") === "true";
  if (!fragment && self.navigator.onLine === false) { // known offline: no need to try the network
    return savedPage(request).then(function (saved) { return saved || offlinePage(); });
  }
  var path = new URL(request.url).pathname;
  var keep = path === "/tech" || path.indexOf("/tech/") === 0; // only the technician's pages are saved
  var network = fetch(request).then(function (response) {
    if (keep && response.ok && !response.redirected && !fragment) {
      var copy = response.clone();
      event.waitUntil(caches.open(PAGES_CACHE).then(function (cache) { return cache.put(request, copy); }));
    }
    return response;
  });
  if (fragment) return network;
  var timer;
  var timeout = new Promise(function (resolve) { timer = setTimeout(resolve, PAGE_TIMEOUT_MS); });
  var first = Promise.race([network.catch(function () { return null; }), timeout]).then(function (response) {
    clearTimeout(timer);
    if (response) return response;
    return savedPage(request).then(function (saved) {
      return saved || network.catch(function () { return offlinePage(); });
    });
  });
  event.waitUntil(network.catch(function () {}));
  return first;
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (isStatic(url)) {
    event.respondWith(staticFirst(request));
  } else if (isPage(request, url)) {
    event.respondWith(networkFirst(event));
  }
});

self.addEventListener("sync", function (event) {
  if (event.tag === "fs-outbox") {
    event.waitUntil(FSOutbox.sendOutbox({force: true}).then(function (result) {
      if (result && result.state === "failed") throw new Error("retry later");
    }));
  }
});

self.addEventListener("push", function (event) {
  var data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = {body: event.data && event.data.text()}; }
  var orderId = data.work_order_id || (data.data && data.data.work_order_id);
  var url = data.url || (data.data && data.data.url) || (orderId ? "/tech/orders/" + orderId : "/tech");
  var title = data.title || "现场服务 · Field service";
  event.waitUntil(self.registration.showNotification(title, {
    body: data.body || "", tag: data.tag || url, data: {url: url},
    icon: "/static/icons/icon-192.png", badge: "/static/icons/icon-192.png", renotify: true,
  }).then(function () {
    // a new dispatch: fetch it now, so it opens offline too
    return FSOutbox.sendOutbox({force: true}).catch(function () {});
  }));
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var target = new URL((event.notification.data && event.notification.data.url) || "/tech", self.location.origin).href;
  event.waitUntil(self.clients.matchAll({type: "window", includeUncontrolled: true}).then(function (windows) {
    for (var i = 0; i < windows.length; i++) {
      if (windows[i].url === target && "focus" in windows[i]) return windows[i].focus();
    }
    if (windows.length && "navigate" in windows[0]) {
      return windows[0].navigate(target).then(function (client) { return client && client.focus(); });
    }
    return self.clients.openWindow(target);
  }));
});

// The worker starts: hand over anything the pages left waiting.
FSOutbox.sendOutbox({pull: false}).catch(function () {});
