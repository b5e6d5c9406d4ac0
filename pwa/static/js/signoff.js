/* The customer's screens on the tablet: the sign-off and the rating.
 *
 * Sign-off: the service record in large type (the server's record merged with what this
 * device has not sent yet), then a signature pad (signature_pad 5, scaled for the device
 * pixel ratio, kept across rotation). Signing is impossible before the work is completed;
 * the device computes report_sha256 (report_hash.js) and queues customer_signoff with the
 * signature PNG; afterwards the record is read-only.
 * Rating: four items on four levels, a comment, "I want to complain", then a thank-you.
 */
/* global FSTech, FSOutbox, ReportHash, SignaturePad */
(function () {
  "use strict";

  var t = FSTech.t;

  function show(id, visible) { var node = document.getElementById(id); if (node) node.hidden = !visible; }

  function outcomeLabel(outcome) { return outcome ? t("outcome_" + outcome) : "—"; }

  function fillRecord(m, parts) {
    var set = function (key, text) { document.querySelector('[data-record="' + key + '"]').textContent = text; };
    set("work_done", m.outcome ? (m.work_done || "—") : "—");
    set("outcome", outcomeLabel(m.outcome));
    var list = document.querySelector('[data-record="parts"]');
    list.textContent = "";
    m.parts.filter(function (p) { return !p.voided; }).forEach(function (p) {
      var hit = parts.filter(function (c) { return c.code === p.part_code; })[0];
      var li = document.createElement("li");
      li.textContent = p.part_code + (hit ? " " + hit.name : "") + " × " + ReportHash.normaliseQty(String(p.qty));
      list.appendChild(li);
    });
    if (!list.children.length) list.appendChild(document.createElement("li")).textContent = "—";
    var report = ReportHash.buildReport(m, null);
    var minutes = report.labour_minutes;
    set("labour", Math.floor(minutes / 60) + ":" + (minutes % 60 < 10 ? "0" : "") + (minutes % 60) + " (" + t("minutes", {n: minutes}) + ")");
    set("fee", "¥" + (report.fee_cents / 100).toFixed(2));
  }

  function showSigned(m, signoff) {
    show("sign-area", false);
    show("not-completed", false);
    show("signed", true);
    document.getElementById("signed-by").textContent = t("act_customer_signoff") + ": " + (signoff.signer_name || "") +
      (signoff.signed_at ? " · " + signoff.signed_at.replace("T", " ").slice(0, 16) : "");
    if (signoff.signature_sha256) {
      FSOutbox.blob(signoff.signature_sha256).then(function (b) {
        if (!b) return;
        var img = document.getElementById("signed-image");
        img.src = URL.createObjectURL(b.data);
        img.hidden = false;
      });
    }
  }

  function makePad(canvas) {
    var pad = new SignaturePad(canvas, {minWidth: 1, maxWidth: 3, penColor: "#111", backgroundColor: "rgb(255,255,255)"});
    function resize() {
      var ratio = Math.max(window.devicePixelRatio || 1, 1);
      var data = pad.toData();
      canvas.width = canvas.offsetWidth * ratio;
      canvas.height = canvas.offsetHeight * ratio;
      canvas.getContext("2d").scale(ratio, ratio);
      pad.clear(); // a resize empties the canvas: draw the strokes again
      if (data.length) pad.fromData(data);
    }
    window.addEventListener("resize", resize);
    window.addEventListener("orientationchange", resize);
    resize();
    return pad;
  }

  function canvasPng(canvas) {
    return new Promise(function (resolve) { canvas.toBlob(resolve, "image/png"); }).then(function (png) {
      return png.arrayBuffer().then(function (buffer) {
        return ReportHash.sha256Hex(buffer).then(function (sha) { return {sha256: sha, data: png}; });
      });
    });
  }

  function signoffScreen() {
    Promise.all([FSTech.model(), FSTech.loadCatalogue()]).then(function (v) {
      var m = v[0], parts = v[1];
      fillRecord(m, parts);
      if (m.signoffs.length) return showSigned(m, m.signoffs[m.signoffs.length - 1]);
      if (!m.outcome) { show("not-completed", true); show("sign-area", false); return; }
      show("sign-area", true);
      var canvas = document.getElementById("signature-pad");
      var pad = makePad(canvas), error = document.getElementById("sign-error");
      var nameInput = document.getElementById("signer-name");
      document.getElementById("sign-clear").addEventListener("click", function () { pad.clear(); });
      var busy = false;
      document.getElementById("sign-confirm").addEventListener("click", function () {
        error.hidden = true;
        var name = nameInput.value.trim();
        var problem = !name ? "err_signer" : pad.isEmpty() ? "err_signature" : null;
        if (problem) { error.textContent = t(problem); error.hidden = false; return; }
        if (busy) return;
        busy = true;
        pad.off();
        FSTech.model().then(function (latest) {
          var record = ReportHash.buildReport(latest, name);
          return Promise.all([canvasPng(canvas), ReportHash.reportSha256(record)]);
        }).then(function (r) {
          var png = r[0];
          var args = {signoff_id: FSOutbox.uuid(), signer_name: name, signature_sha256: png.sha256,
                      report_sha256: r[1], signed_at: FSOutbox.rfc3339()};
          return FSTech.record("customer_signoff", args,
                               {blobs: [{sha256: png.sha256, kind: "signature", type: "image/png", data: png.data}]})
            .then(function () { showSigned(m, args); });
        }).catch(function (e) {
          busy = false;
          pad.on();
          error.textContent = String(e.message || e);
          error.hidden = false;
        });
      });
    });
  }

  function ratingScreen() {
    var form = document.getElementById("rating-form");
    var complain = document.getElementById("complain");
    var thanks = function () {
      form.hidden = true;
      show("thanks", true);
      document.getElementById("thanks").focus();
    };
    FSTech.model().then(function (m) { if (m.ratings.length) thanks(); });
    complain.addEventListener("change", function () { show("complaint-box", complain.checked); });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var error = form.querySelector(".field-error");
      error.hidden = true;
      var args = {rating_id: FSOutbox.uuid()}, missing = false;
      ["attitude", "skill", "arrival", "promises"].forEach(function (k) {
        var picked = form.querySelector('input[name="' + k + '"]:checked');
        if (!picked) missing = true; else args[k] = parseInt(picked.value, 10);
      });
      var complaint = form.elements.complaint.value.trim();
      var problem = missing ? "err_levels" : complain.checked && !complaint ? "err_complaint" : null;
      if (problem) { error.textContent = t(problem); error.hidden = false; return; }
      args.comment = form.elements.comment.value.trim();
      args.complaint = complain.checked ? complaint : null;
      FSTech.record("rate_service", args).then(thanks);
    });
  }

  if (document.getElementById("signoff")) signoffScreen();
  if (document.getElementById("rating")) ratingScreen();
})();
