/* Reading list: read / starred / hidden marks and a private note per paper, kept in this
 * browser's localStorage only (no account, no server), with JSON export and import.
 *
 * Hooks in the page (all optional):
 *   ol.paper-list > li.card[data-slug]   lists: each card gets mark buttons; a toolbar with
 *                                        "Hide read", "Show hidden", Export and Import goes above
 *   .reading-state[data-slug]            a paper page: mark buttons and the private note
 * Everything is rendered with textContent and DOM calls, never innerHTML: notes and
 * imported files are untrusted text.
 */
(function () {
  "use strict";

  var STORAGE_KEY = "paper-atlas:reading-list";
  var FORMAT = "paper-atlas-reading-list";
  var VERSION = 1;
  var MAX_NOTE = 20000;
  var SLUG = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
  var MARKS = [
    { key: "read", label: "Read", title: "Mark as read" },
    { key: "starred", label: "Starred", title: "Star this paper" },
    { key: "hidden", label: "Hidden", title: "Hide this paper from lists" }
  ];

  function emptyState() {
    return { papers: Object.create(null), prefs: { hideRead: false, showHidden: false } };
  }

  /* Keep only well-formed entries: a stored or imported file may be anything. */
  function cleanEntry(raw) {
    if (!raw || typeof raw !== "object") { return null; }
    var entry = {
      read: raw.read === true,
      starred: raw.starred === true,
      hidden: raw.hidden === true,
      note: typeof raw.note === "string" ? raw.note.slice(0, MAX_NOTE) : ""
    };
    if (typeof raw.updated === "string" && raw.updated.length < 40) { entry.updated = raw.updated; }
    return entry;
  }

  function isEmpty(entry) {
    return !entry.read && !entry.starred && !entry.hidden && !entry.note;
  }

  function cleanPapers(raw) {
    var papers = Object.create(null);
    if (!raw || typeof raw !== "object" || Array.isArray(raw)) { return papers; }
    Object.keys(raw).forEach(function (slug) {
      if (!SLUG.test(slug) || slug.length > 200) { return; }
      var entry = cleanEntry(raw[slug]);
      if (entry && !isEmpty(entry)) { papers[slug] = entry; }
    });
    return papers;
  }

  function load() {
    var state = emptyState();
    try {
      var raw = JSON.parse(window.localStorage.getItem(STORAGE_KEY) || "null");
      if (raw && typeof raw === "object") {
        state.papers = cleanPapers(raw.papers);
        if (raw.prefs && typeof raw.prefs === "object") {
          state.prefs.hideRead = raw.prefs.hideRead === true;
          state.prefs.showHidden = raw.prefs.showHidden === true;
        }
      }
    } catch (error) {
      /* Unreadable storage (corrupt JSON, storage disabled): start empty rather than fail. */
    }
    return state;
  }

  var state = load();

  function save() {
    try {
      window.localStorage.setItem(STORAGE_KEY, JSON.stringify({
        format: FORMAT, version: VERSION, papers: state.papers, prefs: state.prefs
      }));
      return true;
    } catch (error) {
      announce("Could not save: this browser does not allow local storage here.");
      return false;
    }
  }

  function entryFor(slug) {
    return state.papers[slug] || { read: false, starred: false, hidden: false, note: "" };
  }

  function update(slug, changes) {
    var entry = entryFor(slug);
    var next = { read: entry.read, starred: entry.starred, hidden: entry.hidden, note: entry.note };
    Object.keys(changes).forEach(function (key) { next[key] = changes[key]; });
    next.updated = new Date().toISOString();
    if (isEmpty(next)) { delete state.papers[slug]; } else { state.papers[slug] = next; }
    save();
    refresh();
  }

  /* --- live region for short confirmations --- */
  var status = null;
  function announce(text) {
    if (status) { status.textContent = text; }
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function markButtons(slug, title) {
    var group = el("div", { "class": "reading-marks", role: "group", "aria-label": "Reading list: " + title });
    MARKS.forEach(function (mark) {
      var button = el("button", { type: "button", "class": "reading-mark reading-mark-" + mark.key,
                                  "data-mark": mark.key, "aria-pressed": "false", title: mark.title },
                      mark.label);
      button.addEventListener("click", function () {
        var change = {};
        change[mark.key] = !entryFor(slug)[mark.key];
        update(slug, change);
        announce(mark.label + (change[mark.key] ? ": on" : ": off") + " for " + title);
      });
      group.appendChild(button);
    });
    return group;
  }

  function paintMarks(group, entry) {
    Array.prototype.forEach.call(group.querySelectorAll("button[data-mark]"), function (button) {
      button.setAttribute("aria-pressed", entry[button.getAttribute("data-mark")] ? "true" : "false");
    });
  }

  /* --- lists --- */
  var cards = [];

  function cardTitle(card) {
    var link = card.querySelector(".card-title");
    return link ? link.textContent.trim() : card.getAttribute("data-slug");
  }

  function setupCards() {
    Array.prototype.forEach.call(document.querySelectorAll("ol.paper-list > li.card[data-slug]"), function (card) {
      var slug = card.getAttribute("data-slug");
      if (!SLUG.test(slug)) { return; }
      var group = markButtons(slug, cardTitle(card));
      card.appendChild(group);
      cards.push({ card: card, slug: slug, group: group });
    });
  }

  function exportState() {
    var papers = {};
    Object.keys(state.papers).sort().forEach(function (slug) { papers[slug] = state.papers[slug]; });
    var text = JSON.stringify({ format: FORMAT, version: VERSION, exported: new Date().toISOString(),
                                papers: papers }, null, 2) + "\n";
    var url = URL.createObjectURL(new Blob([text], { type: "application/json" }));
    var link = el("a", { href: url, download: "reading-list.json" });
    document.body.appendChild(link);
    link.click();
    link.remove();
    window.setTimeout(function () { URL.revokeObjectURL(url); }, 1000);
    announce("Exported " + Object.keys(papers).length + " papers.");
  }

  /* Imported entries replace the ones kept here for the same paper; others stay. */
  function importText(text) {
    var data;
    try { data = JSON.parse(text); } catch (error) { data = null; }
    if (!data || typeof data !== "object" || data.format !== FORMAT || typeof data.papers !== "object") {
      announce("Not a reading-list export: nothing was imported.");
      return 0;
    }
    var papers = cleanPapers(data.papers);
    var slugs = Object.keys(papers);
    slugs.forEach(function (slug) { state.papers[slug] = papers[slug]; });
    save();
    refresh();
    announce("Imported " + slugs.length + (slugs.length === 1 ? " paper." : " papers."));
    return slugs.length;
  }

  function toolbar(withListSwitches) {
    var bar = el("div", { "class": "reading-toolbar", role: "group", "aria-label": "Reading list" });
    function toggle(id, label, pref) {
      var wrap = el("label", { "class": "reading-toggle", "for": id });
      var box = el("input", { type: "checkbox", id: id });
      box.checked = state.prefs[pref];
      box.addEventListener("change", function () {
        state.prefs[pref] = box.checked;
        save();
        refresh();
      });
      wrap.appendChild(box);
      wrap.appendChild(document.createTextNode(" " + label));
      bar.appendChild(wrap);
      return box;
    }
    if (withListSwitches) {
      toggle("reading-hide-read", "Hide read", "hideRead");
      toggle("reading-show-hidden", "Show hidden", "showHidden");
    }
    var exportButton = el("button", { type: "button", "class": "reading-export" }, "Export reading list");
    exportButton.addEventListener("click", exportState);
    bar.appendChild(exportButton);
    var fileId = "reading-import-file";
    var importLabel = el("label", { "class": "reading-import", "for": fileId }, "Import reading list");
    var file = el("input", { type: "file", id: fileId, accept: "application/json,.json" });
    file.addEventListener("change", function () {
      if (!file.files || !file.files[0]) { return; }
      var reader = new FileReader();
      reader.onload = function () { importText(String(reader.result)); file.value = ""; };
      reader.readAsText(file.files[0]);
    });
    /* The input comes first so its focus ring can be drawn on the label (input:focus + label). */
    bar.appendChild(file);
    bar.appendChild(importLabel);
    return bar;
  }

  /* --- the paper page --- */
  var paperPanel = null;

  function setupPaper() {
    var host = document.querySelector(".reading-state[data-slug]");
    if (!host || !SLUG.test(host.getAttribute("data-slug"))) { return; }
    var slug = host.getAttribute("data-slug");
    var title = (document.querySelector("h1") || { textContent: slug }).textContent.trim();
    host.appendChild(el("h2", { "class": "reading-heading" }, "Your reading list"));
    host.appendChild(el("p", { "class": "reading-privacy" },
                        "Kept in this browser only; export it to move it elsewhere."));
    var group = markButtons(slug, title);
    host.appendChild(group);
    var noteId = "reading-note";
    host.appendChild(el("label", { "for": noteId, "class": "reading-note-label" }, "Private note"));
    var note = el("textarea", { id: noteId, "class": "reading-note", rows: "4", maxlength: String(MAX_NOTE) });
    note.value = entryFor(slug).note;
    var timer = null;
    note.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(function () { update(slug, { note: note.value }); }, 250);
    });
    note.addEventListener("change", function () {
      window.clearTimeout(timer);
      update(slug, { note: note.value });
      announce("Note saved.");
    });
    host.appendChild(note);
    host.hidden = false;
    paperPanel = { slug: slug, group: group, note: note };
  }

  function refresh() {
    cards.forEach(function (item) {
      var entry = entryFor(item.slug);
      paintMarks(item.group, entry);
      item.card.classList.toggle("is-read", entry.read);
      item.card.classList.toggle("is-starred", entry.starred);
      item.card.classList.toggle("is-hidden-mark", entry.hidden);
      item.card.hidden = (entry.read && state.prefs.hideRead) || (entry.hidden && !state.prefs.showHidden);
    });
    if (paperPanel) {
      var entry = entryFor(paperPanel.slug);
      paintMarks(paperPanel.group, entry);
      if (document.activeElement !== paperPanel.note) { paperPanel.note.value = entry.note; }
    }
  }

  function start() {
    setupCards();
    setupPaper();
    var lists = document.querySelectorAll("ol.paper-list");
    var anchor = lists.length ? lists[0] : document.querySelector(".reading-state[data-slug]");
    if (anchor) {
      var bar = toolbar(lists.length > 0);
      if (lists.length) { anchor.parentNode.insertBefore(bar, anchor); } else { anchor.appendChild(bar); }
      status = el("p", { "class": "reading-status visually-hidden", role: "status", "aria-live": "polite" });
      bar.appendChild(status);
    }
    refresh();
  }

  /* Another tab changed the list: show it here too. */
  window.addEventListener("storage", function (event) {
    if (event.key === STORAGE_KEY) { state = load(); refresh(); }
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
