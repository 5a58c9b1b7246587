// The record beside the review queue: a row's "View" button, a click on the row or Enter show the record in the panel
// (/review/<pk>/panel/, an htmx partial) and put ?open=<pk> in the address, so reload, Back and Forward bring it
// back; j/k (review.js) move the current row and the panel follows; Esc or the close button close it. Without this
// file "View" is a plain link to /review/?open=<pk>, which the server draws with the record beside the queue.
(function () {
  "use strict";
  if (window.reviewPanelLoaded) return;
  window.reviewPanelLoaded = true;

  var OPEN = "open";
  var wanted = null; // the record the panel is to show: an answer for another one, come late, is dropped
  var moveTimer = null;
  var opener = null; // the row to give the focus back to when the panel closes

  if (window.htmx) {
    // The address is the truth: a Back or Forward that htmx does not handle below draws the page again from it,
    // rather than from snapshots taken before the panel changed the address.
    htmx.config.historyCacheSize = 0;
    htmx.config.refreshOnHistoryMiss = true;
  }

  function panel() { return document.getElementById("record-panel"); }
  function openId() {
    var p = panel();
    return p && !p.hidden ? p.getAttribute("data-record") : null;
  }
  function live() { return document.getElementById("review-live"); }
  function phone() { return window.matchMedia("(max-width: 699.98px)").matches; }

  function say(text) {
    var region = live();
    if (!region || !text) return;
    region.textContent = "";
    window.setTimeout(function () { region.textContent = text; }, 30);
  }

  function urlWith(pk) {
    var url = new URL(window.location.href);
    if (pk) url.searchParams.set(OPEN, pk); else url.searchParams.delete(OPEN);
    return url.pathname + url.search;
  }

  function syncParam(pk) {
    document.querySelectorAll("[data-open-param]").forEach(function (input) { input.value = pk || ""; });
  }

  function markRows(pk) {
    document.querySelectorAll("#review-table tr.review-row").forEach(function (row) {
      var on = row.getAttribute("data-record") === pk;
      row.classList.toggle("open", on);
      if (on) row.setAttribute("aria-current", "true"); else row.removeAttribute("aria-current");
    });
  }

  function layout(open) {
    var box = document.querySelector(".review-layout");
    if (box) box.classList.toggle("panel-open", open);
  }

  function rowOf(pk) { return document.getElementById("record-" + pk); }

  // history: "push" (a new entry: Back closes it again), "replace" (j/k: one entry for the walk), or "none" (the
  // address already says it: Back or Forward).
  function show(pk, history, focusPanel) {
    wanted = String(pk);
    var row = rowOf(pk);
    var link = row && row.querySelector("[data-panel-url]");
    var url = link ? link.getAttribute("data-panel-url") : "/review/" + pk + "/panel/";
    return htmx.ajax("GET", url, { target: "#record-panel", swap: "outerHTML" }).then(function () {
      var p = panel();
      if (!p || p.hidden || p.getAttribute("data-record") !== String(pk)) return;
      layout(true);
      markRows(String(pk));
      syncParam(String(pk));
      if (history === "push") window.history.pushState({ htmx: true, panel: true }, "", urlWith(pk));
      else if (history === "replace") window.history.replaceState({ htmx: true, panel: true }, "", urlWith(pk));
      var title = p.querySelector("#panel-title");
      var region = live();
      say((region ? region.getAttribute("data-shown") + " " : "") + (title ? title.textContent.trim() : ""));
      if (focusPanel || phone()) p.focus({ preventScroll: true });
    });
  }

  function close(history) {
    wanted = null;
    var p = panel();
    if (!p || p.hidden) return;
    var pk = p.getAttribute("data-record");
    var empty = document.createElement("aside");
    empty.id = "record-panel";
    empty.className = "record-panel";
    empty.hidden = true;
    p.replaceWith(empty);
    layout(false);
    markRows(null);
    syncParam("");
    if (history === "push") window.history.pushState({ htmx: true, panel: true }, "", urlWith(null));
    var region = live();
    say(region ? region.getAttribute("data-closed") : "");
    var row = opener || rowOf(pk);
    opener = null;
    if (row && document.body.contains(row)) row.focus({ preventScroll: true });
  }

  document.addEventListener("click", function (e) {
    if (e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey || e.altKey) return; // a new tab keeps the link
    var view = e.target.closest && e.target.closest("#review-table [data-key=view]");
    var closer = e.target.closest && e.target.closest("[data-panel-close]");
    var clear = e.target.closest && e.target.closest("[data-clear]");
    var reason = e.target.closest && e.target.closest("#record-panel [data-panel-form]");
    if (reason) {
      // The reason form (reject, send back) opens inside the panel, under the buttons.
      e.preventDefault();
      htmx.ajax("GET", reason.getAttribute("data-panel-form"), { target: "#panel-action", swap: "innerHTML" });
    } else if (view) {
      e.preventDefault();
      var row = view.closest("tr.review-row");
      opener = row;
      show(row.getAttribute("data-record"), "push", false);
    } else if (closer) {
      e.preventDefault();
      close("push");
    } else if (clear) {
      var box = document.getElementById(clear.getAttribute("data-clear"));
      if (box) box.innerHTML = "";
      var p = panel();
      var back = p && p.querySelector(".review-actions .btn");
      if (back) back.focus();
    } else {
      // A click on a row, away from its links, buttons and boxes, shows it beside the queue. The row pressed is
      // taken from the press: becoming current reflows the rows, so the release may land elsewhere.
      var hit = pressed && Date.now() - pressedAt < 1500 ? pressed : null;
      pressed = null;
      if (!hit || !document.body.contains(hit)) return;
      if (window.getSelection && String(window.getSelection()).length) return; // selecting text to copy it
      if (hit.getAttribute("data-record") === openId()) return;
      opener = hit;
      show(hit.getAttribute("data-record"), "push", false);
    }
  });

  var pressed = null;
  var pressedAt = 0;
  document.addEventListener("pointerdown", function (e) {
    var row = e.target.closest && e.target.closest("#review-table tr.review-row");
    var control = e.target.closest && e.target.closest("a, button, input, select, textarea, label, summary, details, form");
    pressed = row && !control && e.button === 0 ? row : null;
    pressedAt = Date.now();
  });

  // j/k (review.js) made another row current: the panel follows, once the keys rest.
  document.addEventListener("review:current", function (e) {
    var row = e.detail && e.detail.row;
    var shown = openId();
    if (!row || !shown || row.getAttribute("data-record") === shown) return;
    opener = row;
    window.clearTimeout(moveTimer);
    moveTimer = window.setTimeout(function () { show(row.getAttribute("data-record"), "replace", false); }, 150);
  });

  document.addEventListener("review:close-panel", function () { close("push"); });

  // Back and Forward between two addresses that differ only by the open record: show or close the panel here;
  // anything else (another filter, another page) htmx draws again from the address.
  var shownQuery = queryWithout(window.location.search);
  function queryWithout(search) {
    var params = new URLSearchParams(search);
    params.delete(OPEN);
    params.sort();
    return params.toString();
  }
  window.addEventListener("popstate", function (e) {
    if (!document.getElementById("review-table")) return;
    if (queryWithout(window.location.search) !== shownQuery) return;
    e.stopImmediatePropagation();
    var pk = new URLSearchParams(window.location.search).get(OPEN);
    if (pk && /^\d+$/.test(pk)) {
      var row = rowOf(pk);
      show(pk, "none", false);
      if (row) row.dispatchEvent(new CustomEvent("review:make-current", { bubbles: true }));
    } else {
      close("none");
    }
  });
  document.addEventListener("htmx:pushedIntoHistory", function () { shownQuery = queryWithout(window.location.search); });
  document.addEventListener("htmx:replacedInHistory", function () { shownQuery = queryWithout(window.location.search); });

  // The table's links (sort, pages) were drawn without the open record: the request carries the one open now.
  document.addEventListener("htmx:configRequest", function (e) {
    var d = e.detail;
    if (!d || d.verb !== "get" || !d.path || d.path.indexOf("/review/?") !== 0 && d.path !== "/review/") return;
    var form = d.elt && d.elt.closest && d.elt.closest("form");
    if (form && form.querySelector("[data-open-param]")) return; // the filters carry it in their hidden field
    var url = new URL(d.path, window.location.origin);
    var pk = openId();
    if (pk) url.searchParams.set(OPEN, pk); else url.searchParams.delete(OPEN);
    d.path = url.pathname + url.search;
  });

  // Answers arrive in any order (j pressed twice, a refresh after a decision): only the record wanted last is shown.
  document.addEventListener("htmx:beforeSwap", function (e) {
    var target = e.detail && e.detail.target;
    if (!target || target.id !== "record-panel") return;
    var found = /^\s*<aside id="record-panel"[^>]*data-record="(\d+)"/.exec(e.detail.serverResponse || "");
    if (found && found[1] !== wanted) e.detail.shouldSwap = false;
  });

  // A decision taken in the panel: its row shows the new state too.
  document.addEventListener("DOMContentLoaded", function () {
    document.body.addEventListener("record-changed", refreshRow);
    var pk = openId();
    wanted = pk;
    if (pk) { markRows(pk); syncParam(pk); }
  });
  function refreshRow(e) {
    var pk = e.detail && e.detail.pk;
    var row = pk && rowOf(pk);
    var link = row && row.querySelector("[data-panel-url]");
    if (!link) return;
    htmx.ajax("GET", link.getAttribute("data-panel-url").replace(/panel\/$/, "row/"), { target: "#record-" + pk, swap: "outerHTML" });
  }

  // A decision taken from the row (a key, its buttons): the panel shows the record as it is now.
  document.addEventListener("htmx:afterSwap", function (e) {
    var target = e.detail && e.detail.target;
    var verb = e.detail && e.detail.requestConfig && e.detail.requestConfig.verb;
    var pk = openId();
    if (pk && target && target.id === "record-" + pk) markRows(pk);
    if (pk && verb === "post" && target && target.id === "record-" + pk && e.detail.xhr.status === 200) {
      show(pk, "none", false);
    }
    if (target && target.id === "review-table" && pk) markRows(pk);
  });
})();
