/* Small enhancements: theme toggle that remembers, "/" focuses search, copy BibTeX.
   Everything works without this file; it only adds conveniences. */
(function () {
  "use strict";
  var root = document.documentElement;
  var KEY = "atlas-theme";

  function systemDark() {
    return window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
  }

  function isDark() {
    var chosen = root.getAttribute("data-theme");
    return chosen ? chosen === "dark" : systemDark();
  }

  function setupThemeToggle() {
    var button = document.querySelector(".theme-toggle");
    if (!button) return;
    var sync = function () { button.setAttribute("aria-pressed", isDark() ? "true" : "false"); };
    button.hidden = false;
    sync();
    button.addEventListener("click", function () {
      var next = isDark() ? "light" : "dark";
      root.setAttribute("data-theme", next);
      try { window.localStorage.setItem(KEY, next); } catch (error) { /* not remembered */ }
      sync();
    });
    if (window.matchMedia) {
      var query = window.matchMedia("(prefers-color-scheme: dark)");
      if (query.addEventListener) query.addEventListener("change", sync);
    }
  }

  function setupSearchKey() {
    var input = document.getElementById("site-search");
    if (!input) return;
    document.addEventListener("keydown", function (event) {
      if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
      var target = event.target;
      var tag = target && target.tagName;
      if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable)) return;
      event.preventDefault();
      input.focus();
      input.select();
    });
  }

  function copyText(text, done) {
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { done(true); }, function () { done(false); });
      return;
    }
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "visually-hidden";
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (error) { ok = false; }
    document.body.removeChild(area);
    done(ok);
  }

  function setupCopyButtons() {
    var buttons = document.querySelectorAll("[data-copy-target]");
    Array.prototype.forEach.call(buttons, function (button) {
      var source = document.getElementById(button.getAttribute("data-copy-target"));
      if (!source) return;
      var status = button.parentNode.querySelector(".copy-status");
      button.hidden = false;
      button.addEventListener("click", function () {
        copyText(source.textContent, function (ok) {
          if (status) status.textContent = ok ? "Copied to the clipboard." : "Select the entry and copy it.";
          if (!ok) {
            var range = document.createRange();
            range.selectNodeContents(source);
            var selection = window.getSelection();
            selection.removeAllRanges();
            selection.addRange(range);
          }
        });
      });
    });
  }

  // Search as you type from the header box: static/search.js (a module) is loaded when the
  // box is first focused, so pages that never search never download it.
  var here = document.currentScript && document.currentScript.src;
  function setupQuickSearch() {
    var input = document.getElementById("site-search");
    // From disk (file://) the browser refuses module scripts; the form still goes to search/.
    if (!input || !here || window.location.protocol === "file:" || document.getElementById("search-app")) return;
    input.addEventListener("focus", function () {
      import(new URL("search.js", here).href).catch(function () { /* the form still works */ });
    }, { once: true });
  }

  setupThemeToggle();
  setupSearchKey();
  setupCopyButtons();
  setupQuickSearch();
})();
