/* The offline check of an e-copy QR's signed payload, in the browser (WebCrypto, no network).

   The QR holds "{verify_url}#{JWS}": a JWS compact token, ES256 (ECDSA P-256, SHA-256, signature raw
   r||s), signed with the office's own key. The office keys come with the page (the JSON block
   "page-data", member "qr"), so once the page is loaded nothing is fetched: the check works with the
   network off. It runs in the order of pipeline/verify/qr_check.py's verify_token, with the same codes:
   malformed -> foreign (kid unknown) -> tampered (signature) -> office_mismatch -> outside_validity
   -> id_mismatch -> valid. Everything read from a QR is shown with textContent, never as HTML.
   WebCrypto exists only in a secure context (https, or http://localhost / 127.0.0.1): elsewhere the
   page says so, and the /v/qr form is posted to the server instead. */
(function () {
  "use strict";

  var dataEl = document.getElementById("page-data");
  var DATA = {};
  try {
    DATA = JSON.parse((dataEl && dataEl.textContent) || "{}");
  } catch (e) {
    DATA = {};
  }
  var QR = DATA.qr;
  if (!QR) return;
  var T = QR.t || {};
  var DOC_TYPES = (DATA.ui && DATA.ui.doc_types) || {};
  var KEYS = {};
  (QR.keys || []).forEach(function (k) { KEYS[k.kid] = k; });

  var B64URL = /^[A-Za-z0-9_-]*$/;
  var ID_SHAPE = /^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z*~$=]$/;

  function $(id) { return document.getElementById(id); }

  function fill(template, vars) {
    var s = String(template || "");
    Object.keys(vars || {}).forEach(function (k) { s = s.split("{" + k + "}").join(String(vars[k])); });
    return s;
  }

  function webCryptoReady() {
    return !!(window.isSecureContext && window.crypto && window.crypto.subtle && window.TextDecoder);
  }

  // ---- decoding ------------------------------------------------------------------------------------
  function b64urlBytes(s) {
    if (!B64URL.test(s) || s.length % 4 === 1) throw new Error("not base64url");
    var b = s.replace(/-/g, "+").replace(/_/g, "/");
    while (b.length % 4) b += "=";
    var bin = window.atob(b);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }

  function utf8(bytes) { return new TextDecoder("utf-8", { fatal: true }).decode(bytes); }

  function asciiBytes(s) {
    var out = new Uint8Array(s.length);
    for (var i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0x7f;
    return out;
  }

  function isObject(v) { return v !== null && typeof v === "object" && !Array.isArray(v); }

  function looseId(text) {
    // Enough to compare a typed or URL ID with the signed one (whose check symbol is right).
    return String(text || "").toUpperCase().replace(/[\s-]/g, "").replace(/O/g, "0").replace(/[IL]/g, "1");
  }

  function claimsOf(p) {
    if (!isObject(p)) return null;
    var names = ["i", "t", "d", "o", "h"];
    for (var n = 0; n < names.length; n++) {
      if (typeof p[names[n]] !== "string" || !p[names[n]]) return null;
    }
    if (!ID_SHAPE.test(p.i) || !/^\d{8}$/.test(p.d) || !B64URL.test(p.h)) return null;
    var y = Number(p.d.slice(0, 4)), m = Number(p.d.slice(4, 6)), d = Number(p.d.slice(6));
    var day = new Date(Date.UTC(y, m - 1, d));
    if (day.getUTCFullYear() !== y || day.getUTCMonth() !== m - 1 || day.getUTCDate() !== d) return null;
    return { ecopy_id: p.i, doc_type: p.t, date: p.d, office: p.o.normalize("NFC"), fields_hash: p.h };
  }

  function decode(token) {
    if (!token || token.length > 2000) return null;
    var parts = token.split(".");
    if (parts.length !== 3) return null;
    try {
      var header = JSON.parse(utf8(b64urlBytes(parts[0])));
      var payload = JSON.parse(utf8(b64urlBytes(parts[1])));
      var signature = b64urlBytes(parts[2]);
    } catch (e) {
      return null;
    }
    if (!isObject(header) || header.alg !== "ES256" || typeof header.kid !== "string") return null;
    var extra = Object.keys(header).filter(function (k) { return k !== "alg" && k !== "kid" && k !== "typ"; });
    if (extra.length || signature.length !== 64) return null;
    var claims = claimsOf(payload);
    if (!claims) return null;
    return { kid: header.kid, input: asciiBytes(parts[0] + "." + parts[1]), signature: signature, claims: claims };
  }

  function parseQrText(text) {
    text = String(text || "").trim().normalize("NFC");
    var hash = text.indexOf("#");
    var base = hash >= 0 ? text.slice(0, hash) : text;
    var token = hash >= 0 ? text.slice(hash + 1).trim() : "";
    if (!token && base.indexOf("/") < 0 && base.split(".").length === 3) return { id: null, token: base };
    var id = null;
    if (base.indexOf("/") >= 0) {
      var path = base;
      try { path = new URL(base, window.location.href).pathname; } catch (e) { path = base; }
      var segment = path.replace(/\/+$/, "").split("/").pop() || "";
      try { segment = decodeURIComponent(segment); } catch (e) { /* keep it as it is */ }
      id = segment || null;
    }
    return { id: id, token: token || null };
  }

  function sameOffice(a, b) {
    function norm(s) { return String(s).normalize("NFC").toLowerCase().split(/\s+/).filter(Boolean).join(" "); }
    return norm(a) === norm(b);
  }

  // ---- the check -----------------------------------------------------------------------------------
  function result(code, claims, key, vars) {
    return { code: code, status: (QR.statuses || {})[code] || "malformed", claims: claims || null, key: key || null,
             vars: vars || {} };
  }

  function check(token, expectedId) {
    if (!token) return Promise.resolve(result("qr.unsigned"));
    var decoded = decode(token);
    if (!decoded) return Promise.resolve(result("qr.malformed"));
    var claims = decoded.claims;
    var key = KEYS[decoded.kid];
    if (!key) return Promise.resolve(result("qr.foreign", claims));
    var jwk = { kty: "EC", crv: "P-256", x: key.x, y: key.y, ext: true };
    return window.crypto.subtle.importKey("jwk", jwk, { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"])
      .then(function (pub) {
        return window.crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, pub, decoded.signature, decoded.input);
      })
      .then(function (ok) {
        if (!ok) return result("qr.tampered", claims);
        if (!sameOffice(claims.office, key.office)) {
          return result("qr.office_mismatch", claims, key, { claimed: claims.office, office: key.office });
        }
        if (claims.date < key.nbf || claims.date > key.naf) {
          return result("qr.outside_validity", claims, key, { date: vnDate(claims.date) });
        }
        if (expectedId !== null && expectedId !== undefined && looseId(expectedId) !== looseId(claims.ecopy_id)) {
          return result("qr.id_mismatch", claims, key, { url_id: expectedId, ecopy_id: claims.ecopy_id });
        }
        return result("qr.valid", claims, key, { office: key.office });
      });
  }

  // ---- showing it ----------------------------------------------------------------------------------
  function vnDate(yyyymmdd) { return yyyymmdd.slice(6) + "/" + yyyymmdd.slice(4, 6) + "/" + yyyymmdd.slice(0, 4); }

  function addFact(dl, label, value, mono) {
    var dt = document.createElement("dt");
    dt.textContent = label;
    var dd = document.createElement("dd");
    dd.textContent = value;
    if (mono) dd.className = "mono";
    dl.appendChild(dt);
    dl.appendChild(dd);
  }

  function verdictClass(status) {
    if (status === "valid") return "verdict verdict-valid";
    if (status === "unsigned") return "verdict verdict-unknown";
    return "verdict verdict-altered";
  }

  function recordDifferences(claims) {
    var rec = QR.record;
    if (!rec || !claims) return null;
    var diff = [];
    if (looseId(rec.i) !== looseId(claims.ecopy_id)) diff.push(T["qr.ecopy_id"]);
    if (rec.t !== claims.doc_type) diff.push(T["qr.doc_type"]);
    if (!sameOffice(rec.o, claims.office)) diff.push(T["qr.office"]);
    if (rec.h !== claims.fields_hash) diff.push(T["qr.fields_hash"]);
    return diff;
  }

  function show(r) {
    var panel = $("qr-check");
    if (!panel) return;
    panel.hidden = false;
    var box = $("qr-verdict");
    box.className = verdictClass(r.status);
    box.setAttribute("data-status", r.status);
    box.setAttribute("data-code", r.code);
    $("qr-label").textContent = (QR.labels || {})[r.status] || r.status;
    $("qr-message").textContent = fill((QR.messages || {})[r.code] || r.code, r.vars);
    var dl = $("qr-claims");
    dl.textContent = "";
    var heading = $("qr-claims-heading");
    if (r.claims) {
      heading.textContent = r.status === "valid" ? T["qr.claims"] : T["qr.claims_unconfirmed"];
      addFact(dl, T["qr.ecopy_id"], r.claims.ecopy_id, true);
      addFact(dl, T["qr.doc_type"], DOC_TYPES[r.claims.doc_type] || r.claims.doc_type);
      addFact(dl, T["qr.issued_on"], vnDate(r.claims.date));
      addFact(dl, T["qr.office"], r.claims.office);
      addFact(dl, T["qr.fields_hash"], r.claims.fields_hash, true);
      if (r.key && r.status === "valid") addFact(dl, T["qr.key"], r.key.kid, true);
    }
    heading.hidden = dl.hidden = !r.claims;
    var note = $("qr-note");
    note.textContent = r.status === "valid" ? T["qr.revocation_note"] : "";
    note.hidden = r.status !== "valid";
    var recordLine = $("qr-record");
    if (recordLine) {
      var diff = r.status === "valid" ? recordDifferences(r.claims) : null;
      recordLine.hidden = diff === null;
      if (diff !== null) {
        recordLine.textContent = diff.length ? fill(T["qr.record_differs"], { what: diff.join(", ") }) : T["qr.record_match"];
        recordLine.className = diff.length ? "verdict verdict-altered" : "muted";
        recordLine.setAttribute("data-record", diff.length ? "differs" : "match");
      }
    }
    if (QR.mode === "paste" && panel.scrollIntoView) panel.scrollIntoView({ block: "nearest" });
  }

  function showProblem(text) {
    var panel = $("qr-check");
    if (!panel) return;
    panel.hidden = false;
    var box = $("qr-verdict");
    box.className = "verdict verdict-unknown";
    box.setAttribute("data-status", "unchecked");
    box.setAttribute("data-code", "qr.unchecked");
    $("qr-label").textContent = T["qr.heading"];
    $("qr-message").textContent = text;
    $("qr-claims").hidden = $("qr-claims-heading").hidden = true;
    $("qr-note").hidden = true;
  }

  function run(token, expectedId) {
    if (!webCryptoReady()) {
      showProblem(T["qr.insecure"]);
      return;
    }
    show({ code: "", status: "checking", claims: null, key: null, vars: {} });
    $("qr-label").textContent = T["qr.checking"];
    $("qr-message").textContent = "";
    check(token, expectedId).then(show, function () { showProblem(T["qr.unsupported"]); });
  }

  // ---- the two places it runs ------------------------------------------------------------------------
  function initFragment() {
    // /v/{id}#{token}: the token came with the URL the phone's camera opened.
    var hash = window.location.hash ? window.location.hash.slice(1) : "";
    if (!hash) return;
    try { hash = decodeURIComponent(hash); } catch (e) { /* a token needs no decoding */ }
    run(hash.trim(), QR.expected_id === undefined ? null : QR.expected_id);
  }

  function initPaste() {
    var form = $("qr-form");
    if (!form) return;
    form.addEventListener("submit", function (ev) {
      if (!webCryptoReady()) return; // the server checks it instead (a normal form post)
      ev.preventDefault();
      var text = ($("qr-text").value || "").trim();
      if (!text) {
        showProblem(T["qr.need_text"]);
        return;
      }
      var parsed = parseQrText(text);
      run(parsed.token, parsed.id);
    });
    if (!webCryptoReady()) {
      var hint = $("qr-insecure");
      if (hint) hint.hidden = false;
    }
  }

  function init() {
    if (QR.mode === "paste") initPaste();
    else initFragment();
    window.addEventListener("hashchange", function () { if (QR.mode !== "paste") initFragment(); });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
