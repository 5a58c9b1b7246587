// Review queue: keyboard work (j/k or arrows move, Enter shows the record beside the queue (panel.js), x select, a approve, w acknowledge, r reject,
// s send back, e edit, o open, Esc cancel), one Tab stop for the whole table (roving tabindex: the current row is
// the stop, and only its own links and buttons are in the Tab order), the row menus, and row selection for the bulk
// bar. Every action is also a plain link, button or form without this file.
(function () {
  "use strict";

  var currentId = null;
  var CONTROLS = "a[href], button, input, select, textarea, summary";

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("#review-table tr.review-row"));
  }

  function currentRow() {
    var row = currentId ? document.getElementById(currentId) : null;
    return row && row.classList.contains("review-row") ? row : null;
  }

  var liveTimer = null;
  var toggle = false;
  // The live region gets the text afresh each time (emptied first; the same words twice differ by an invisible
  // space, so a screen reader says them again) and is emptied after a while rather than keeping old news.
  function announce(text) {
    var region = document.getElementById("review-live");
    if (!region || !text) return;
    region.textContent = "";
    toggle = !toggle;
    window.setTimeout(function () { region.textContent = text + (toggle ? "\u00a0" : ""); }, 30);
    window.clearTimeout(liveTimer);
    liveTimer = window.setTimeout(function () { region.textContent = ""; }, 8000);
  }

  // A refused action says why, next to the row, and to screen readers.
  var toastTimer = null;
  function refuse(row, text) {
    if (!text) return;
    announce(text);
    var toast = document.getElementById("review-toast");
    if (!toast || !row) return;
    toast.textContent = text;
    toast.hidden = false;
    var box = row.getBoundingClientRect();
    var below = box.bottom + 6 + 60 < window.innerHeight;
    toast.style.left = Math.max(8, Math.min(box.left + 40, window.innerWidth - toast.offsetWidth - 8)) + "px";
    toast.style.top = (below ? box.bottom + 6 : Math.max(8, box.top - toast.offsetHeight - 6)) + "px";
    window.clearTimeout(toastTimer);
    toastTimer = window.setTimeout(function () { toast.hidden = true; }, 6000);
  }

  function unavailable(row, key) {
    var region = document.getElementById("review-live");
    var text = region && region.getAttribute("data-unavailable-" + key);
    var status = row.querySelector(".col-status .badge");
    return text ? text + (status ? " (" + status.textContent.trim() + ")." : ".") : "";
  }

  // The row that takes the table's Tab stop: the current one, else the first.
  function stopRow() {
    return currentRow() || rows()[0] || null;
  }

  // Only the stop row and its controls are in the Tab order; every other row and its controls are reached with
  // j/k or the arrows (or the mouse).
  function makeStop(row, active) {
    row.tabIndex = active ? 0 : -1;
    row.querySelectorAll(CONTROLS).forEach(function (el) {
      if (active) el.removeAttribute("tabindex");
      else el.tabIndex = -1;
    });
  }

  function syncTabStops() {
    var stop = stopRow();
    rows().forEach(function (row) { makeStop(row, row === stop); });
  }

  function closeMenus(except) {
    document.querySelectorAll("#review-table details.row-menu[open]").forEach(function (menu) {
      if (menu !== except) menu.open = false;
    });
  }

  function setCurrent(row, focus) {
    var previous = stopRow();
    if (previous && previous !== row) {
      previous.classList.remove("current");
      makeStop(previous, false);
    }
    currentId = row ? row.id : null;
    if (row) {
      row.classList.add("current");
      makeStop(row, true);
    }
    if (row && focus !== false) {
      closeMenus();
      row.focus({ preventScroll: true });
      row.scrollIntoView({ block: "nearest" });
    }
  }

  function move(delta) {
    var list = rows();
    if (!list.length) return;
    var i = list.indexOf(currentRow());
    var next = i < 0 ? (delta > 0 ? 0 : list.length - 1) : Math.min(list.length - 1, Math.max(0, i + delta));
    moved(list[next]);
  }

  // A move by key: the record beside the queue follows (panel.js).
  function moved(row) {
    setCurrent(row);
    document.dispatchEvent(new CustomEvent("review:current", { detail: { row: row } }));
  }

  function press(row, key) {
    var el = row.querySelector('[data-key="' + key + '"]');
    // With the row's record open beside the queue, its reason form opens there, where the officer is reading.
    var panel = document.querySelector("#record-panel:not([hidden])");
    var beside = panel && panel.getAttribute("data-record") === row.getAttribute("data-record") &&
      panel.querySelector('[data-panel-key="' + key.replace("-", "_") + '"]');
    if (el && beside) el = beside;
    if (!el) {
      refuse(row, unavailable(row, key));
      return;
    }
    if (key === "open") remember();
    var open = document.getElementById("action-" + row.getAttribute("data-record"));
    if (open && el.hasAttribute("hx-get")) open.remove();
    closeMenus();
    el.click();
  }

  function editFirstCell(row) {
    var el = row.querySelector('.cell-error [data-key="edit"]') || row.querySelector('.cell-warning [data-key="edit"]') ||
      row.querySelector('[data-key="edit"]');
    if (el) el.click();
    else refuse(row, unavailable(row, "edit"));
  }

  // Text typed into an inline form (a reason, a comment, a value) and not sent yet.
  function typed(scope) {
    if (!scope || scope === document) return false;
    return Array.prototype.some.call(scope.querySelectorAll("textarea, input:not([type=hidden]), select"), function (el) {
      if (el.tagName === "SELECT") return Array.prototype.some.call(el.options, function (o) { return o.selected !== o.defaultSelected; });
      if (el.type === "checkbox" || el.type === "radio") return el.checked !== el.defaultChecked;
      return el.value !== el.defaultValue;
    });
  }

  // The current row survives leaving the page (o, a link) and coming Back, in this tab.
  function storageKey() { return "review-current:" + window.location.pathname + window.location.search; }
  function remember() {
    try { if (currentId) window.sessionStorage.setItem(storageKey(), currentId); } catch (err) { /* storage off */ }
  }
  function recall() {
    var id = null;
    try { id = window.sessionStorage.getItem(storageKey()); } catch (err) { /* storage off */ }
    var panel = document.getElementById("record-panel");
    var open = panel && !panel.hidden && document.getElementById("record-" + panel.getAttribute("data-record"));
    var row = (id && document.getElementById(id)) || open;
    if (row && row.classList.contains("review-row")) setCurrent(row);
  }
  window.addEventListener("pagehide", remember);
  window.addEventListener("pageshow", function (e) { if (e.persisted) recall(); });
  document.addEventListener("review:make-current", function (e) {
    if (e.target.classList && e.target.classList.contains("review-row")) setCurrent(e.target);
  });

  function isTyping(target) {
    var tag = target && target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }

  document.addEventListener("keydown", function (e) {
    if (!document.getElementById("review-table") || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === "Escape") {
      var menu = e.target.closest && e.target.closest("details.row-menu[open], details.columns-menu[open]");
      if (menu) {
        e.preventDefault();
        menu.open = false;
        menu.querySelector("summary").focus();
        return;
      }
      var scope = (e.target.closest && e.target.closest(".cell-form, .action-form")) || document;
      var cancel = scope.querySelector('[data-key="cancel"]');
      if (cancel) {
        e.preventDefault();
        var form = cancel.closest(".cell-form, .action-form");
        var region = document.getElementById("review-live");
        if (typed(form) && !window.confirm(region ? region.getAttribute("data-discard") : "?")) return;
        cancel.click();
        return;
      }
      if (document.querySelector("#record-panel:not([hidden])")) {
        e.preventDefault();
        document.dispatchEvent(new CustomEvent("review:close-panel"));
      }
      return;
    }
    if (isTyping(e.target)) return;
    var onRow = e.target.classList && e.target.classList.contains("review-row");
    var key = e.key;
    if (key === "j" || (onRow && key === "ArrowDown")) { e.preventDefault(); move(1); return; }
    if (key === "k" || (onRow && key === "ArrowUp")) { e.preventDefault(); move(-1); return; }
    if (onRow && (key === "Home" || key === "End")) {
      e.preventDefault();
      var list = rows();
      moved(key === "Home" ? list[0] : list[list.length - 1]);
      return;
    }
    var row = currentRow();
    if (!row) return;
    if (onRow && key === "Enter") { e.preventDefault(); press(row, "view"); return; }
    var actions = { a: "approve", w: "acknowledge", r: "reject", s: "send-back", o: "open" };
    if (actions[key]) { e.preventDefault(); press(row, actions[key]); return; }
    if (key === "e") { e.preventDefault(); editFirstCell(row); return; }
    if (key === "x") {
      e.preventDefault();
      var box = row.querySelector("[data-select]");
      if (box) { box.checked = !box.checked; syncSelection(); }
    }
  });

  // Focus that lands in a row (a click, Tab into it, a link inside it) makes it the current row.
  document.addEventListener("focusin", function (e) {
    var row = e.target.closest && e.target.closest("#review-table tr.review-row");
    if (row && row.id !== currentId) setCurrent(row, false);
  });

  // "Skip to the records" puts the focus on the current row, ready for the keys.
  document.addEventListener("click", function (e) {
    var skip = e.target.closest && e.target.closest("[data-skip-records]");
    if (!skip) return;
    var row = stopRow();
    if (row) { e.preventDefault(); setCurrent(row); }
  });

  // A button marked aria-disabled stays focusable (so its reason can be read) but does nothing.
  document.addEventListener("click", function (e) {
    var clicked = e.target.closest && e.target.closest("tr.review-row");
    if (clicked) setCurrent(clicked, false);
    var disabled = e.target.closest && e.target.closest('[aria-disabled="true"]');
    if (disabled) { e.preventDefault(); refuse(disabled.closest("tr.review-row"), disabled.title); return; }
    var dismiss = e.target.closest && e.target.closest("[data-dismiss]");
    if (dismiss) {
      var gone = document.getElementById(dismiss.getAttribute("data-dismiss"));
      if (gone) gone.remove();
      var row = currentRow();
      if (row) row.focus({ preventScroll: true });
      return;
    }
    // Row menus: one open at a time, closed by a click elsewhere or on one of their items. The column chooser
    // floats over the table too: a click elsewhere closes it.
    var menu = e.target.closest && e.target.closest("details.row-menu");
    closeMenus(menu);
    if (menu && e.target.closest(".row-menu-list")) menu.open = false;
    var chooser = document.querySelector("details.columns-menu[open]");
    if (chooser && !chooser.contains(e.target)) chooser.open = false;
  });

  // Selection and the bulk bar.
  function syncSelection() {
    var bar = document.getElementById("bulk-form");
    if (!bar) return;
    var boxes = Array.prototype.slice.call(document.querySelectorAll("#review-table [data-select]"));
    var ticked = boxes.filter(function (b) { return b.checked; }).length;
    var counter = bar.querySelector("[data-selected-count]");
    if (counter) counter.textContent = String(ticked);
    var all = document.querySelector("#review-table [data-select-page]");
    if (all) {
      all.checked = boxes.length > 0 && ticked === boxes.length;
      all.indeterminate = ticked > 0 && ticked < boxes.length;
    }
    var total = parseInt(bar.getAttribute("data-total"), 10) || 0;
    var more = bar.querySelector("[data-select-all-matching]");
    if (more) more.hidden = !(boxes.length > 0 && ticked === boxes.length && total > boxes.length);
    var filterScope = bar.querySelector("[data-scope-filter]");
    if (ticked > 0 && filterScope && filterScope.checked && ticked < boxes.length) {
      bar.querySelector("[data-scope-selected]").checked = true;
    }
    syncScope();
  }

  function syncScope() {
    var bar = document.getElementById("bulk-form");
    if (!bar) return;
    var filterScope = bar.querySelector("[data-scope-filter]");
    bar.classList.toggle("scope-filter", !!(filterScope && filterScope.checked));
    var action = bar.querySelector('[name="bulk_action"]');
    bar.querySelectorAll("[data-for-action]").forEach(function (el) {
      el.hidden = !!action && action.value !== el.getAttribute("data-for-action");
    });
  }

  document.addEventListener("change", function (e) {
    var t = e.target;
    if (t.matches && t.matches("[data-select-page]")) {
      document.querySelectorAll("#review-table [data-select]").forEach(function (b) { b.checked = t.checked; });
      syncSelection();
    } else if (t.matches && t.matches("[data-select]")) {
      syncSelection();
    } else if (t.closest && t.closest("#bulk-form")) {
      syncScope();
    }
  });

  document.addEventListener("click", function (e) {
    var more = e.target.closest && e.target.closest("[data-select-all-matching]");
    if (!more) return;
    var bar = document.getElementById("bulk-form");
    bar.querySelector("[data-scope-filter]").checked = true;
    syncScope();
    announce(more.textContent.trim());
  });

  // A row-wide cell (a reject form, "no records") spans the columns shown, not those the user hid: a span wider
  // than the header adds empty columns to the fixed table layout.
  function syncSpans() {
    var shown = Array.prototype.filter.call(document.querySelectorAll("#review-table thead th"), function (th) {
      return getComputedStyle(th).display !== "none";
    }).length;
    if (!shown) return;
    document.querySelectorAll("#review-table td[colspan]").forEach(function (td) { td.colSpan = shown; });
  }

  document.addEventListener("change", function (e) {
    if (e.target.matches && e.target.matches("[data-column]")) syncSpans();
  });

  // After htmx replaces a row (save, approve...) or the table, keep the current row and give it the focus back.
  document.addEventListener("htmx:afterSettle", function () {
    syncSpans();
    var row = currentRow();
    if (row) {
      row.classList.add("current");
      if (document.activeElement === document.body) row.focus({ preventScroll: true });
    }
    syncTabStops();
    syncSelection();
  });

  // A button marked aria-disabled sends nothing: the click handler above says why instead.
  document.addEventListener("htmx:confirm", function (e) {
    if (e.target.getAttribute && e.target.getAttribute("aria-disabled") === "true") e.preventDefault();
  });

  // An inline form takes the focus when it appears (a reason to type, a value to correct), and a refused form its
  // error summary, so the keyboard is where the eyes go.
  document.addEventListener("htmx:load", function (e) {
    var elt = e.target;
    if (!elt || elt === document.body || !elt.querySelector) return;
    var summary = elt.matches(".form-errors, .panel-errors") ? elt : elt.querySelector(".form-errors, .panel-errors");
    if (summary) {
      summary.tabIndex = -1;
      summary.focus();
      return;
    }
    var form = elt.matches(".action-form, .cell-form") ? elt : elt.querySelector(".action-form, .cell-form");
    var field = form && form.querySelector("textarea, select, input:not([type=hidden])");
    if (field) {
      field.focus();
      field.scrollIntoView({ block: "nearest" });
    }
  });

  document.addEventListener("DOMContentLoaded", function () { syncTabStops(); syncSelection(); recall(); });
})();
