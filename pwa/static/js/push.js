/* Web Push opt-in: the header button "Enable notifications / 开启通知".
 *
 * Permission is asked only when the button is pressed. Pressing it registers the service
 * worker (/sw.js, scope /), subscribes through its PushManager with the server's VAPID key
 * and hands the subscription to POST /api/push/subscriptions. Pressing it again turns
 * notifications off (DELETE, then unsubscribe). The state shown: on, off, blocked by the
 * browser, unsupported. The words come from the page (data-text-*), in the user's language.
 */
(function () {
  "use strict";

  var box = document.querySelector("[data-push]");
  if (!box || box.getAttribute("data-push-bound")) return;
  box.setAttribute("data-push-bound", "1");
  var button = box.querySelector("[data-push-button]");
  var status = box.querySelector("[data-push-state]");
  var SYNCED = "fs.push.synced"; // the endpoint last handed to the server from this tab
  var READY_TIMEOUT_MS = 15000;

  function text(name) { return box.getAttribute("data-text-" + name) || ""; }

  function supported() {
    return window.isSecureContext && "serviceWorker" in navigator && "PushManager" in window &&
      "Notification" in window;
  }

  function show(state) {
    box.hidden = false;
    box.setAttribute("data-state", state);
    var on = state === "on";
    button.hidden = state === "blocked" || state === "unsupported";
    button.disabled = state === "busy";
    button.setAttribute("aria-pressed", on ? "true" : "false");
    button.textContent = on ? text("disable") : text("enable");
    status.textContent = {on: text("on"), blocked: text("blocked"), unsupported: text("unsupported"),
                          failed: text("failed"), busy: text("busy")}[state] || "";
  }

  function csrfToken() {
    try {
      var headers = JSON.parse(document.body.getAttribute("hx-headers") || "{}");
      if (headers["X-CSRF-Token"]) return Promise.resolve(headers["X-CSRF-Token"]);
    } catch (e) { /* no token in the page: ask the server */ }
    return fetch("/api/me", {credentials: "same-origin", headers: {Accept: "application/json"}})
      .then(function (r) { return r.ok ? r.json() : {}; })
      .then(function (me) { return me.csrf_token || ""; });
  }

  async function api(method, url, body) {
    var response = await fetch(url, {
      method: method, credentials: "same-origin",
      headers: {"Content-Type": "application/json", Accept: "application/json",
                "X-CSRF-Token": await csrfToken()},
      body: JSON.stringify(body),
    });
    if (!response.ok) throw new Error(method + " " + url + ": " + response.status);
    return response;
  }

  function keyBytes(base64url) {
    var base64 = (base64url + "===".slice((base64url.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    var raw = atob(base64);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }

  function sameKey(subscription, key) {
    var current = subscription.options && subscription.options.applicationServerKey;
    if (!current) return true; // the browser does not say: keep it
    var a = new Uint8Array(current);
    if (a.length !== key.length) return false;
    for (var i = 0; i < a.length; i++) if (a[i] !== key[i]) return false;
    return true;
  }

  function withTimeout(promise, ms) {
    return Promise.race([promise, new Promise(function (_, reject) {
      setTimeout(function () { reject(new Error("service worker not ready")); }, ms);
    })]);
  }

  async function currentSubscription() {
    var registration = await navigator.serviceWorker.getRegistration("/");
    return registration ? registration.pushManager.getSubscription() : null;
  }

  async function remember(subscription) {
    await api("POST", "/api/push/subscriptions", subscription.toJSON());
    try { sessionStorage.setItem(SYNCED, subscription.endpoint); } catch (e) { /* private mode */ }
  }

  async function enable() {
    var permission = await Notification.requestPermission();
    if (permission !== "granted") return show(permission === "denied" ? "blocked" : "off");
    show("busy");
    var response = await fetch("/api/push/key", {credentials: "same-origin", headers: {Accept: "application/json"}});
    if (!response.ok) throw new Error("key: " + response.status);
    var key = keyBytes((await response.json()).public_key);
    await navigator.serviceWorker.register("/sw.js", {scope: "/"});
    var registration = await withTimeout(navigator.serviceWorker.ready, READY_TIMEOUT_MS);
    var subscription = await registration.pushManager.getSubscription();
    if (subscription && !sameKey(subscription, key)) { // the server's key changed
      await subscription.unsubscribe();
      subscription = null;
    }
    if (!subscription) {
      subscription = await registration.pushManager.subscribe({userVisibleOnly: true, applicationServerKey: key});
    }
    await remember(subscription);
    show("on");
  }

  async function disable() {
    show("busy");
    var subscription = await currentSubscription();
    if (subscription) {
      await api("DELETE", "/api/push/subscriptions", {endpoint: subscription.endpoint});
      await subscription.unsubscribe();
    }
    try { sessionStorage.removeItem(SYNCED); } catch (e) { /* private mode */ }
    show("off");
  }

  async function start() {
    if (!supported()) return show("unsupported");
    if (Notification.permission === "denied") return show("blocked");
    var subscription = Notification.permission === "granted" ? await currentSubscription() : null;
    if (!subscription) return show("off");
    show("on");
    var synced = null;
    try { synced = sessionStorage.getItem(SYNCED); } catch (e) { /* private mode */ }
    // This browser may have been someone else's: the server gives the subscription to whoever
    // is signed in now. Once per tab session is enough.
    if (synced !== subscription.endpoint) remember(subscription).catch(function () { /* next page */ });
  }

  button.addEventListener("click", function () {
    var wasOn = box.getAttribute("data-state") === "on";
    (wasOn ? disable() : enable()).catch(function (error) {
      console.warn("push:", error);
      show("failed");
    });
  });

  start().catch(function (error) {
    console.warn("push:", error);
    show("off");
  });
})();
