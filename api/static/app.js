/* ecopy pages: small, no build step, no library. Every change goes through the JSON API with the
   session's CSRF header; the API's messages are already Vietnamese and are shown as they are. */
(function () {
  "use strict";

  var dataEl = document.getElementById("page-data");
  var DATA = {};
  try {
    DATA = JSON.parse((dataEl && dataEl.textContent) || "{}");
  } catch (e) {
    DATA = {};
  }
  var UI = DATA.ui || {};
  var T = UI.t || {};

  function $(sel, root) { return (root || document).querySelector(sel); }
  function $all(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }

  function tr(key, vars) {
    var s = T[key] || key;
    Object.keys(vars || {}).forEach(function (k) { s = s.split("{" + k + "}").join(String(vars[k])); });
    return s;
  }

  function cookie(name) {
    var parts = document.cookie ? document.cookie.split("; ") : [];
    for (var i = 0; i < parts.length; i++) {
      var eq = parts[i].indexOf("=");
      if (parts[i].slice(0, eq) === name) return decodeURIComponent(parts[i].slice(eq + 1));
    }
    return "";
  }

  function showError(message) {
    var box = document.getElementById("error");
    if (!box) { window.alert(message); return; }
    box.textContent = message;
    box.hidden = false;
    if (box.scrollIntoView) box.scrollIntoView({ block: "nearest" });
  }

  function clearError() {
    var box = document.getElementById("error");
    if (box) { box.textContent = ""; box.hidden = true; }
  }

  function setStatus(el, message) {
    if (el) el.textContent = message || "";
  }

  function percent(value) {
    var n = Number(value);
    return isFinite(n) ? Math.round(n * 100) + "%" : "—";
  }

  // Vietnam's time (UTC+7, no daylight saving), day first, as the server renders it.
  function vnTime(iso) {
    var d = new Date(iso);
    if (isNaN(d.getTime())) return "—";
    var v = new Date(d.getTime() + 7 * 3600 * 1000);
    function two(n) { return (n < 10 ? "0" : "") + n; }
    return two(v.getUTCDate()) + "/" + two(v.getUTCMonth() + 1) + "/" + v.getUTCFullYear() + " " +
      two(v.getUTCHours()) + ":" + two(v.getUTCMinutes());
  }

  function ApiError(status, code, message) {
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.message = message;
  }
  ApiError.prototype = Object.create(Error.prototype);

  function handleFailure(status, body, quiet) {
    var message = (body && body.message) || ("HTTP " + status);
    var code = (body && body.code) || "http." + status;
    if (!quiet) showError(message);
    if (code === "auth.required" && !quiet) {
      window.setTimeout(function () {
        window.location.href = "/login?next=" + encodeURIComponent(window.location.pathname + window.location.search);
      }, 1500);
    }
    return new ApiError(status, code, message);
  }

  /* api(method, url, body): JSON in, JSON out. A non-2xx answer shows its message in #error and
     rejects with an ApiError; options.quiet keeps background refreshes from showing anything. */
  function api(method, url, body, options) {
    var quiet = !!(options && options.quiet);
    var headers = { "Accept": "application/json" };
    if (method !== "GET" && method !== "HEAD") headers["X-CSRF-Token"] = cookie("ecopy_csrf");
    var payload;
    if (typeof FormData !== "undefined" && body instanceof FormData) {
      payload = body;
    } else if (body !== undefined && body !== null) {
      headers["Content-Type"] = "application/json";
      payload = JSON.stringify(body);
    }
    return fetch(url, { method: method, credentials: "same-origin", headers: headers, body: payload })
      .catch(function () {
        if (!quiet) showError(T["error.network"] || "Network error");
        throw new ApiError(0, "network", T["error.network"] || "Network error");
      })
      .then(function (res) {
        return res.text().then(function (text) {
          var json = null;
          try { json = text ? JSON.parse(text) : null; } catch (e) { json = null; }
          if (!res.ok) throw handleFailure(res.status, json, quiet);
          return json;
        });
      });
  }
  window.api = api;

  /* upload(url, formData, onProgress): XMLHttpRequest, for the upload progress fetch cannot report. */
  function upload(url, formData, onProgress) {
    return new Promise(function (resolve, reject) {
      var xhr = new XMLHttpRequest();
      xhr.open("POST", url);
      xhr.withCredentials = true;
      xhr.setRequestHeader("X-CSRF-Token", cookie("ecopy_csrf"));
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.onprogress = function (ev) {
        if (ev.lengthComputable) onProgress(Math.round((ev.loaded / ev.total) * 100));
      };
      xhr.onload = function () {
        var json = null;
        try { json = xhr.responseText ? JSON.parse(xhr.responseText) : null; } catch (e) { json = null; }
        if (xhr.status >= 200 && xhr.status < 300) resolve(json);
        else reject(handleFailure(xhr.status, json, false));
      };
      xhr.onerror = function () {
        showError(T["error.network"] || "Network error");
        reject(new ApiError(0, "network", T["error.network"]));
      };
      xhr.send(formData);
    });
  }

  function statusLabel(status) {
    return (UI.statuses && UI.statuses[status]) || status;
  }

  function docTypeLabel(docType) {
    if (!docType) return UI.doc_type_unknown || "—";
    if (docType === "unknown") return UI.doc_type_unrecognised || docType;
    return (UI.doc_types && UI.doc_types[docType]) || docType;
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k];
      else if (k === "className") node.className = attrs[k];
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { node.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
    return node;
  }

  function setBadge(badge, status) {
    if (!badge) return;
    badge.textContent = statusLabel(status);
    badge.className = "badge status-" + status;
    badge.setAttribute("data-status", status);
  }

  // ---- counter: upload and the office's recent intakes -----------------------------------------
  function initCounter() {
    var form = $("#upload-form");
    var list = $("#intake-list");
    if (form) initUpload(form);
    if (list) window.setInterval(function () { refreshIntakes(list); }, 5000);
  }

  /* The document-type picker (macros.html type_picker): the search box's label → the type's name in the
     hidden input; the title box shown, and required, for a type whose title the clerk types ("other").
     value(): {doc_type, doc_title} or null after showing why (a label not in the list, a missing title). */
  function initTypePicker(prefix, optional) {
    var box = $("#" + prefix + "-picker");
    if (!box) return null;
    var search = $("#" + prefix + "-doc-type-search");
    var hidden = $("#" + prefix + "-doc-type");
    var titleBox = $("#" + prefix + "-title-box");
    var title = $("#" + prefix + "-doc-title");
    var titleTypes = (box.dataset.titleTypes || "").split(",").filter(Boolean);
    var byLabel = {};
    $all("#" + prefix + "-doc-types option").forEach(function (o) {
      byLabel[o.value.trim().toLowerCase()] = o.dataset.name;
      byLabel[o.dataset.name.toLowerCase()] = o.dataset.name;
    });
    function resolve() {
      var text = search.value.trim().toLowerCase();
      return text ? (byLabel[text] || null) : "";
    }
    function sync() {
      var name = resolve();
      if (name !== null) hidden.value = name;
      var needsTitle = !!name && titleTypes.indexOf(name) >= 0;
      titleBox.hidden = !needsTitle;
      title.required = needsTitle;
    }
    search.addEventListener("input", sync);
    search.addEventListener("change", sync);
    sync();
    return {
      value: function () {
        var name = resolve();
        if (name === null || (!name && !optional)) {
          showError(T["doc_type.not_in_list"] || "");
          search.focus();
          return null;
        }
        var needsTitle = !!name && titleTypes.indexOf(name) >= 0;
        if (needsTitle && !title.value.trim()) {
          showError(T["doc_title.required"] || "");
          title.focus();
          return null;
        }
        return { doc_type: name || null, doc_title: needsTitle ? title.value.trim() : null };
      },
    };
  }

  function initUpload(form) {
    var chosen = [];
    var fileInput = $("#upload-files");
    var camera = $("#camera-input");
    var zone = $("#drop-zone");
    var listEl = $("#chosen-files");
    var clearBtn = $("#clear-files");
    var submit = $("#upload-submit");
    var status = $("#upload-status");
    var bar = $("#upload-progress");
    var barWrap = $("#upload-progress-wrap");

    function renderChosen() {
      listEl.textContent = "";
      if (!chosen.length) {
        listEl.appendChild(el("li", { className: "muted", text: T["counter.no_files"] || "" }));
      }
      chosen.forEach(function (f) {
        var kb = Math.max(1, Math.round(f.size / 1024));
        listEl.appendChild(el("li", { className: "chosen-file", text: f.name + " (" + kb + " KB)" }));
      });
      if (clearBtn) clearBtn.hidden = !chosen.length;
    }

    function add(files) {
      for (var i = 0; i < files.length; i++) chosen.push(files[i]);
      clearError();
      renderChosen();
    }

    [fileInput, camera].forEach(function (input) {
      if (!input) return;
      input.addEventListener("change", function () {
        add(input.files || []);
        input.value = "";
      });
    });
    if (clearBtn) clearBtn.addEventListener("click", function () { chosen = []; renderChosen(); });

    if (zone) {
      ["dragenter", "dragover"].forEach(function (type) {
        zone.addEventListener(type, function (ev) {
          ev.preventDefault();
          zone.classList.add("dragover");
        });
      });
      ["dragleave", "dragend"].forEach(function (type) {
        zone.addEventListener(type, function () { zone.classList.remove("dragover"); });
      });
      zone.addEventListener("drop", function (ev) {
        ev.preventDefault();
        zone.classList.remove("dragover");
        if (ev.dataTransfer && ev.dataTransfer.files) add(ev.dataTransfer.files);
      });
    }

    var picker = initTypePicker("upload", true);
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      clearError();
      if (!chosen.length) {
        showError(T["counter.need_file"] || "");
        return;
      }
      var named = picker ? picker.value() : { doc_type: null, doc_title: null };
      if (!named) return;
      var body = new FormData();
      chosen.forEach(function (f) { body.append("files", f, f.name); });
      var owner = $("#upload-owner-id");
      if (named.doc_type) body.append("doc_type", named.doc_type);
      if (named.doc_title) body.append("doc_title", named.doc_title);
      if (owner && owner.value.trim()) body.append("owner_id", owner.value.trim());
      submit.disabled = true;
      barWrap.hidden = false;
      bar.value = 0;
      setStatus(status, T["counter.uploading"]);
      upload("/api/v1/intakes", body, function (p) { bar.value = p; })
        .then(function (res) {
          bar.value = 100;
          setStatus(status, T["counter.uploaded"]);
          window.location.href = "/counter/intakes/" + encodeURIComponent(res.id);
        })
        .catch(function () {
          submit.disabled = false;
          barWrap.hidden = true;
          setStatus(status, "");
        });
    });
    renderChosen();
  }

  function refreshIntakes(tbody) {
    api("GET", "/api/v1/intakes?limit=50", undefined, { quiet: true }).then(function (res) {
      var rows = (res && res.intakes) || [];
      var fresh = document.createDocumentFragment();
      if (!rows.length) {
        fresh.appendChild(el("tr", { className: "empty-row" }, [
          el("td", { colspan: "6", className: "muted", text: T["counter.empty"] || "" }),
        ]));
      }
      rows.forEach(function (i) {
        var href = "/counter/intakes/" + encodeURIComponent(i.id);
        fresh.appendChild(el("tr", { className: "intake-row", "data-id": i.id, "data-status": i.status }, [
          el("td", {}, [el("a", { href: href, text: vnTime(i.created_at) })]),
          el("td", { text: i.doc_title || docTypeLabel(i.doc_type) }),
          el("td", { className: "files-cell", text: (i.file_names || []).join(", ") }),
          el("td", { className: "mono", text: i.owner_id || "" }),
          el("td", {}, [el("span", { className: "badge status-" + i.status, text: statusLabel(i.status) })]),
          el("td", {}, [el("a", { href: href, text: T["col.open"] || "" })]),
        ]));
      });
      tbody.textContent = "";
      tbody.appendChild(fresh);
    }).catch(function () { /* the next refresh tries again */ });
  }

  // ---- one intake: progress, review and correction, submit; the signer's approve / reject ---------
  // A change the server recorded is shown by reloading the page (history, notes, progress all fresh);
  // the confirmation survives the reload.
  function flashThenReload(message) {
    try { window.sessionStorage.setItem("ecopy.flash", message); } catch (e) { /* private mode */ }
    window.location.reload();
  }

  function takeFlash() {
    try {
      var message = window.sessionStorage.getItem("ecopy.flash");
      window.sessionStorage.removeItem("ecopy.flash");
      return message;
    } catch (e) { return null; }
  }

  function initIntake() {
    var id = DATA.intake_id;
    var inFlight = DATA.in_flight || [];
    var badge = $("#intake-status");
    var actionStatus = $("#action-status");
    var flash = takeFlash();
    if (flash) setStatus(actionStatus, flash);

    if (inFlight.indexOf(DATA.status) >= 0) pollProgress(id, inFlight, badge);

    var form = $("#fields-form");
    if (form) {
      form.addEventListener("input", function (ev) {
        var input = ev.target;
        if (input && input.dataset) input.classList.toggle("changed", input.value !== input.dataset.original);
      });
      form.addEventListener("submit", function (ev) { ev.preventDefault(); });
    }

    function changedFields() {
      var out = {};
      var any = false;
      $all("#fields-form input[name]").forEach(function (input) {
        if (!input.readOnly && input.value !== input.dataset.original) {
          out[input.name] = input.value;
          any = true;
        }
      });
      return any ? out : null;
    }

    function applyDetail(detail) {
      Object.keys(detail.fields || {}).forEach(function (name) {
        var f = detail.fields[name];
        var row = document.querySelector('.field-row[data-field="' + CSS.escape(name) + '"]');
        if (!row) return;
        var input = row.querySelector("input");
        input.dataset.original = f.value;
        input.value = f.value;
        input.classList.remove("changed");
        row.classList.toggle("low", !!f.low);
        row.classList.toggle("corrected", !!f.corrected_by);
        var check = row.querySelector(".badge-check");
        var corrected = row.querySelector(".badge-corrected");
        var conf = row.querySelector(".confidence-value");
        if (check) check.hidden = !f.low;
        if (corrected) corrected.hidden = !f.corrected_by;
        if (conf) conf.textContent = percent(f.confidence);
      });
      if (detail.status) setBadge(badge, detail.status);
    }

    function save() {
      var changes = changedFields();
      if (!changes) return Promise.resolve(null);
      return api("PATCH", "/api/v1/intakes/" + encodeURIComponent(id) + "/fields", { fields: changes })
        .then(function (detail) { applyDetail(detail); return detail; });
    }

    function lock() {
      $all("#fields-form input").forEach(function (input) { input.readOnly = true; });
      $all("#save-fields, #submit-intake").forEach(function (b) { b.disabled = true; b.hidden = true; });
    }

    var saveBtn = $("#save-fields");
    if (saveBtn) {
      saveBtn.addEventListener("click", function () {
        clearError();
        if (!changedFields()) { setStatus(actionStatus, T["intake.nothing_to_save"]); return; }
        saveBtn.disabled = true;
        save().then(function () {
          flashThenReload(T["intake.saved"]);
        }).catch(function () { setStatus(actionStatus, ""); saveBtn.disabled = false; });
      });
    }

    var submitBtn = $("#submit-intake");
    if (submitBtn) {
      submitBtn.addEventListener("click", function () {
        clearError();
        submitBtn.disabled = true;
        save().then(function () {
          return api("POST", "/api/v1/intakes/" + encodeURIComponent(id) + "/submit");
        }).then(function () {
          lock();
          flashThenReload(T["intake.submitted"]);
        }).catch(function () {
          submitBtn.disabled = false;
          setStatus(actionStatus, "");
        });
      });
    }

    var typeBtn = $("#change-type");
    var typePicker = typeBtn ? initTypePicker("intake", false) : null;
    if (typeBtn && typePicker) {
      typeBtn.addEventListener("click", function () {
        clearError();
        var named = typePicker.value();
        if (!named) return;
        typeBtn.disabled = true;
        setStatus(actionStatus, T["intake.type_changing"]);
        api("POST", "/api/v1/intakes/" + encodeURIComponent(id) + "/type", named).then(function () {
          flashThenReload(T["intake.type_changed"]);
        }).catch(function () { typeBtn.disabled = false; setStatus(actionStatus, ""); });
      });
    }

    var approveBtn = $("#approve");
    var rejectBtn = $("#reject");
    var signActions = $("#sign-actions");
    if (approveBtn) {
      approveBtn.addEventListener("click", function () {
        clearError();
        approveBtn.disabled = true;
        if (rejectBtn) rejectBtn.disabled = true;
        setStatus(actionStatus, T["intake.signing_wait"]);
        api("POST", "/api/v1/intakes/" + encodeURIComponent(id) + "/approve").then(function (res) {
          var link = $("#approved-ecopy-id");
          link.textContent = res.ecopy_id;
          link.href = "/ecopies/" + encodeURIComponent(res.ecopy_id);
          $("#approved-box").hidden = false;
          if (signActions) signActions.hidden = true;
          setBadge(badge, res.status);
          setStatus(actionStatus, res.status === "issued" ? "" : T["intake.signing_wait"]);
        }).catch(function () {
          approveBtn.disabled = false;
          if (rejectBtn) rejectBtn.disabled = false;
          setStatus(actionStatus, "");
        });
      });
    }
    if (rejectBtn) {
      rejectBtn.addEventListener("click", function () {
        clearError();
        var reason = $("#reject-reason").value;
        rejectBtn.disabled = true;
        api("POST", "/api/v1/intakes/" + encodeURIComponent(id) + "/reject", { reason: reason }).then(function (detail) {
          if (signActions) signActions.hidden = true;
          setBadge(badge, detail.status);
          setStatus(actionStatus, T["intake.rejected"]);
        }).catch(function () { rejectBtn.disabled = false; });
      });
    }
  }

  function pollProgress(id, inFlight, badge) {
    var bar = $("#progress-bar");
    var label = $("#progress-label");
    var pct = $("#progress-percent");
    var timer = window.setInterval(function () {
      api("GET", "/api/v1/intakes/" + encodeURIComponent(id), undefined, { quiet: true }).then(function (detail) {
        var p = detail.progress || {};
        if (bar) bar.value = p.percent || 0;
        if (pct) pct.textContent = (p.percent || 0) + "%";
        if (label) label.textContent = UI.lang === "vi" ? (p.label || statusLabel(p.step)) : statusLabel(p.step);
        setBadge(badge, detail.status);
        if (inFlight.indexOf(detail.status) < 0) {
          window.clearInterval(timer);
          window.location.reload();
        }
      }).catch(function (err) {
        if (err && (err.status === 401 || err.status === 403 || err.status === 404)) {
          window.clearInterval(timer);
          showError(err.message);
        }
      });
    }, 1000);
  }

  // ---- the signer's queue -------------------------------------------------------------------------
  function initSign() {
    var boxes = $all("input.select-intake");
    var all = $("#select-all");
    var button = $("#sign-selected");
    var status = $("#sign-status");
    var count = $("#selected-count");
    if (!button) return;
    var template = button.getAttribute("data-template") || T["sign.selected"] || "{n}";

    function selected() {
      return boxes.filter(function (b) { return b.checked && !b.disabled; });
    }
    function update() {
      var n = selected().length;
      button.textContent = template.split("{n}").join(String(n));
      button.disabled = n === 0;
      if (count) count.textContent = String(n);
      var open = boxes.filter(function (b) { return !b.disabled; });
      if (all) {
        all.checked = open.length > 0 && n === open.length;
        all.indeterminate = n > 0 && n < open.length;
      }
    }
    boxes.forEach(function (b) { b.addEventListener("change", update); });
    if (all) {
      all.addEventListener("change", function () {
        boxes.forEach(function (b) { if (!b.disabled) b.checked = all.checked; });
        update();
      });
    }

    button.addEventListener("click", function () {
      clearError();
      var ids = selected().map(function (b) { return b.value; });
      if (!ids.length) { setStatus(status, T["sign.none_selected"]); return; }
      button.disabled = true;
      setStatus(status, T["sign.signing"]);
      api("POST", "/api/v1/approvals", { intake_ids: ids }).then(function (res) {
        (res.results || []).forEach(function (r) {
          var row = document.querySelector('tr.queue-row[data-id="' + CSS.escape(r.id) + '"]');
          if (!row) return;
          var cell = row.querySelector(".result");
          var box = row.querySelector("input.select-intake");
          cell.textContent = "";
          if (r.error) {
            cell.appendChild(el("span", { className: "fail", text: r.error.message }));
            row.classList.add("failed");
          } else {
            var link = el("a", { className: "ok mono", href: "/ecopies/" + encodeURIComponent(r.ecopy_id) });
            link.textContent = tr("sign.result_ok", { id: r.ecopy_id });
            cell.appendChild(link);
            row.classList.add("signed");
            row.setAttribute("data-ecopy-id", r.ecopy_id);
            if (box) { box.checked = false; box.disabled = true; }
          }
        });
        setStatus(status, tr("sign.done", { approved: res.approved, failed: res.failed }));
        update();
      }).catch(function () {
        setStatus(status, "");
        update();
      });
    });
    update();
  }

  // ---- a copy's record: revoke -------------------------------------------------------------------
  function initEcopy() {
    var form = $("#revoke-form");
    if (!form) return;
    var status = $("#revoke-status");
    var button = $("#revoke-submit");
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      clearError();
      var successor = $("#superseded-by").value.trim();
      button.disabled = true;
      api("POST", "/api/v1/ecopies/" + encodeURIComponent(DATA.ecopy_id) + "/revoke", {
        reason: $("#revoke-reason").value,
        superseded_by: successor || null,
      }).then(function () {
        setStatus(status, T["ecopy.revoked_done"]);
        window.setTimeout(function () { window.location.reload(); }, 800);
      }).catch(function () { button.disabled = false; });
    });
  }

  function initReceipt() {
    var button = $("#print");
    if (button) button.addEventListener("click", function () { window.print(); });
  }

  function init() {
    initReceipt();
    switch (DATA.page) {
      case "counter": initCounter(); break;
      case "intake": initIntake(); break;
      case "sign": initSign(); break;
      case "ecopy": initEcopy(); break;
      default: break;
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
