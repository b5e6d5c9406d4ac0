/* The signed report hash, computed on the device (sync-protocol §4).
 *
 * canonicalJson(value) writes what Python's json.dumps(value, ensure_ascii=False,
 * sort_keys=True, separators=(",", ":")) writes: keys sorted by code point, no whitespace,
 * non-ASCII characters raw. reportSha256(record) is the SHA-256 (lower-case hex, via
 * crypto.subtle) of its UTF-8 bytes. buildReport(...) makes the record the customer signs,
 * with the same rules as server/sync/report.py. Runs in pages, the service worker and node
 * (tests/unit/test_report_hash_js.py holds it to tests/vectors/report_hash.json).
 */
(function (root) {
  "use strict";

  function compareCodePoints(a, b) {
    var ia = 0, ib = 0;
    while (ia < a.length && ib < b.length) {
      var ca = a.codePointAt(ia), cb = b.codePointAt(ib);
      if (ca !== cb) return ca < cb ? -1 : 1;
      ia += ca > 0xffff ? 2 : 1;
      ib += cb > 0xffff ? 2 : 1;
    }
    return (a.length - ia) - (b.length - ib);
  }

  function canonicalJson(value) {
    if (value === null || value === undefined) return "null";
    if (typeof value === "boolean") return value ? "true" : "false";
    if (typeof value === "number") {
      if (!Number.isInteger(value)) throw new Error("no floats in canonical JSON: " + value);
      return String(value);
    }
    if (typeof value === "string") return JSON.stringify(value);
    if (Array.isArray(value)) return "[" + value.map(canonicalJson).join(",") + "]";
    var keys = Object.keys(value).filter(function (k) { return value[k] !== undefined; });
    keys.sort(compareCodePoints);
    return "{" + keys.map(function (k) { return JSON.stringify(k) + ":" + canonicalJson(value[k]); }).join(",") + "}";
  }

  function hex(buffer) {
    return Array.prototype.map.call(new Uint8Array(buffer), function (b) {
      return (b < 16 ? "0" : "") + b.toString(16);
    }).join("");
  }

  function sha256Hex(bytes) {
    return root.crypto.subtle.digest("SHA-256", bytes).then(hex);
  }

  function reportSha256(record) {
    return sha256Hex(new TextEncoder().encode(canonicalJson(record)));
  }

  var QTY = /^[0-9]{1,9}(\.[0-9]{1,6})?$/;

  function isQty(text) { return typeof text === "string" && QTY.test(text); }

  /* "2.50" → "2.5", "2.0" → "2", "007" → "7", "0.50" → "0.5". */
  function normaliseQty(text) {
    if (!isQty(text)) throw new Error("not a quantity: " + text);
    var parts = text.split(".");
    var whole = parts[0].replace(/^0+/, "") || "0";
    var fraction = (parts[1] || "").replace(/0+$/, "");
    return fraction ? whole + "." + fraction : whole;
  }

  function labourMinutes(entries) {
    var totalMs = 0;
    entries.forEach(function (e) { totalMs += Date.parse(e.ended_at) - Date.parse(e.started_at); });
    return totalMs > 0 ? Math.floor(totalMs / 60000) : 0;
  }

  function byLineId(a, b) { return compareCodePoints(a.line_id, b.line_id); }

  /* order: {id, outcome, work_done, parts:[{line_id, part_code, qty, voided}],
   *         labour:[{started_at, ended_at}], payments:[{amount_cents}]} */
  function buildReport(order, signerName) {
    var lines = (order.parts || []).filter(function (p) { return !p.voided; }).map(function (p) {
      return {line_id: p.line_id, part_code: p.part_code, qty: normaliseQty(String(p.qty))};
    }).sort(byLineId);
    var fee = 0;
    (order.payments || []).forEach(function (p) { fee += parseInt(p.amount_cents, 10) || 0; });
    return {
      fee_cents: fee,
      labour_minutes: labourMinutes(order.labour || []),
      outcome: order.outcome || null,
      parts: lines,
      signer_name: signerName === undefined ? null : signerName,
      work_done: order.outcome ? (order.work_done === undefined ? null : order.work_done) : null,
      work_order_id: order.id,
    };
  }

  var api = {canonicalJson: canonicalJson, reportSha256: reportSha256, sha256Hex: sha256Hex,
             normaliseQty: normaliseQty, isQty: isQty, labourMinutes: labourMinutes,
             buildReport: buildReport};
  root.ReportHash = api;
  if (typeof module !== "undefined" && module.exports) module.exports = api;
})(typeof self !== "undefined" ? self : globalThis);
