// Watchpost console: the keyboard-wedge MRZ field, keyboard shortcuts and
// a few conveniences. The pages work without it (forms post as usual);
// it is loaded from this origin only, as the Content-Security-Policy
// requires.
"use strict";
(function () {
  // ICAO 9303 check digit: weights 7, 3, 1; digits count as themselves,
  // A-Z as 10-35, the filler '<' as 0.
  function checkDigit(s) {
    var w = [7, 3, 1], sum = 0;
    for (var i = 0; i < s.length; i++) {
      var c = s.charCodeAt(i), v = 0;
      if (c >= 48 && c <= 57) v = c - 48;
      else if (c >= 65 && c <= 90) v = c - 55;
      sum += v * w[i % 3];
    }
    return String(sum % 10);
  }
  function ok(s, body, at) { return s.length > at && checkDigit(body) === s.charAt(at); }
  // Each layout: line count, line length, and whether its final check
  // digit (the composite, or the last one a visa has) is right.
  var layouts = [
    { name: "TD1", lines: 3, len: 30, last: function (l) { var a = l[0], b = l[1]; return ok(b, a.slice(5, 30) + b.slice(0, 7) + b.slice(8, 15) + b.slice(18, 29), 29); } },
    { name: "TD2", lines: 2, len: 36, last: function (l) { var b = l[1]; return l[0].charAt(0) === "V" ? ok(b, b.slice(21, 27), 27) : ok(b, b.slice(0, 10) + b.slice(13, 20) + b.slice(21, 35), 35); } },
    { name: "TD3", lines: 2, len: 44, last: function (l) { var b = l[1]; return l[0].charAt(0) === "V" ? ok(b, b.slice(21, 27), 27) : ok(b, b.slice(0, 10) + b.slice(13, 20) + b.slice(21, 43), 43); } }
  ];
  // mrzComplete returns the layout the text completes, or null. With line
  // breaks (any of CR, LF, CRLF) the lines decide; a reader that sends
  // none gives one run of characters, complete when its length fits a
  // layout and the final check digit is right (a TD2 is 72 characters on
  // the way to a TD3's 88).
  function mrzComplete(text) {
    var t = text.toUpperCase().replace(/[ \t]/g, "");
    var lines = t.split(/\r\n|\r|\n/).filter(function (x) { return x.length > 0; });
    if (lines.length === 0) return null;
    if (lines.length > 1) {
      for (var i = 0; i < layouts.length; i++) {
        var L = layouts[i];
        if (lines.length === L.lines && lines.every(function (x) { return x.length === L.len; })) return L;
      }
      return null;
    }
    var s = lines[0];
    for (var j = 0; j < layouts.length; j++) {
      var M = layouts[j], parts = [];
      if (s.length !== M.lines * M.len) continue;
      for (var k = 0; k < M.lines; k++) parts.push(s.slice(k * M.len, (k + 1) * M.len));
      if (M.name === "TD1" || M.last(parts)) return M;
    }
    return null;
  }
  window.watchpostMRZComplete = mrzComplete;

  function setupMRZ() {
    var field = document.querySelector("textarea[data-mrz]");
    if (!field) return;
    var form = field.form, state = document.getElementById("mrz-state"), sent = false;
    function check() {
      if (sent) return;
      var L = mrzComplete(field.value);
      if (state) state.textContent = field.value.trim() === "" ? "" : (L ? state.dataset.complete : state.dataset.waiting);
      if (L) {
        sent = true;
        field.readOnly = true;
        if (form.requestSubmit) form.requestSubmit(); else form.submit();
      }
    }
    field.addEventListener("input", check);
    field.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); if (form.requestSubmit) form.requestSubmit(); else form.submit(); }
    });
    // The next passport: the field is empty and has the focus after each
    // result, so the reader can type straight into it.
    if (document.getElementById("result")) field.focus();
  }

  function typing(el) {
    if (!el) return false;
    var t = el.tagName;
    return t === "INPUT" || t === "TEXTAREA" || t === "SELECT" || el.isContentEditable;
  }

  function setupRows() {
    var rows = Array.prototype.slice.call(document.querySelectorAll("[data-rows] tbody tr[data-href]"));
    rows.forEach(function (r) {
      r.addEventListener("click", function (e) {
        if (e.target.closest("a, button, input, select, textarea")) return;
        location.href = r.dataset.href;
      });
    });
    return rows;
  }

  function setupKeys(rows) {
    var cur = -1;
    function mark(i) {
      if (rows.length === 0) return;
      if (cur >= 0) rows[cur].classList.remove("current");
      cur = Math.max(0, Math.min(rows.length - 1, i));
      rows[cur].classList.add("current");
      rows[cur].scrollIntoView({ block: "nearest" });
    }
    document.addEventListener("keydown", function (e) {
      if (e.ctrlKey || e.metaKey || e.altKey || typing(e.target)) return;
      var help = document.getElementById("keys");
      switch (e.code) {
        case "KeyS": if (document.body.dataset.console === "post") location.href = "/screen"; else return; break;
        case "KeyQ": if (document.body.dataset.console === "post") location.href = "/hits"; else return; break;
        case "KeyJ": mark(cur + 1); break;
        case "KeyK": mark(cur - 1); break;
        case "Enter": if (cur >= 0) location.href = rows[cur].dataset.href; else return; break;
        case "KeyN": var note = document.getElementById("note"); if (note) note.focus(); else return; break;
        case "Digit1": case "Digit2": case "Digit3": case "Numpad1": case "Numpad2": case "Numpad3":
          var b = document.querySelector('button[data-key="' + e.code.slice(-1) + '"]');
          if (b) b.click(); else return;
          break;
        case "Slash": if (e.shiftKey && help) help.hidden = !help.hidden; else return; break;
        default: return;
      }
      e.preventDefault();
    });
  }

  function setupDecide() {
    var form = document.getElementById("decide-form");
    if (!form) return;
    form.addEventListener("submit", function (e) {
      var note = document.getElementById("note");
      if (e.submitter && e.submitter.value === "confirmed" && note.value.trim() === "") {
        e.preventDefault();
        var p = document.getElementById("decide-error");
        if (!p) {
          p = document.createElement("p");
          p.id = "decide-error"; p.className = "note danger"; p.setAttribute("role", "alert");
          form.parentNode.insertBefore(p, form);
        }
        p.textContent = form.dataset.needNote;
        note.focus();
      }
    });
  }

  function setupLang() {
    document.querySelectorAll("select[data-autosubmit]").forEach(function (s) {
      s.addEventListener("change", function () { s.form.submit(); });
    });
    document.querySelectorAll(".js-hide").forEach(function (b) { b.hidden = true; });
  }

  document.addEventListener("DOMContentLoaded", function () {
    setupLang();
    setupMRZ();
    setupKeys(setupRows());
    setupDecide();
  });
})();
