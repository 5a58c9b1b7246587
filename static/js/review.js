// Review queue: keyboard work (j/k move, x select, a approve, w acknowledge, r reject, s send back, e edit, o open,
// Esc cancel) and row selection for the bulk bar. Every action is also a plain link, button or form without this file.
(function () {
  "use strict";

  var currentId = null;

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("#review-table tr.review-row"));
  }

  function currentRow() {
    return currentId ? document.getElementById(currentId) : null;
  }

  function announce(text) {
    var region = document.getElementById("review-live");
    if (!region || !text) return;
    region.textContent = "";
    window.setTimeout(function () { region.textContent = text; }, 30);
  }

  function setCurrent(row, focus) {
    rows().forEach(function (r) { r.classList.remove("current"); });
    currentId = row ? row.id : null;
    if (!row) return;
    row.classList.add("current");
    if (focus !== false) {
      row.focus({ preventScroll: true });
      row.scrollIntoView({ block: "nearest" });
    }
  }

  function move(delta) {
    var list = rows();
    if (!list.length) return;
    var i = list.indexOf(currentRow());
    var next = i < 0 ? (delta > 0 ? 0 : list.length - 1) : Math.min(list.length - 1, Math.max(0, i + delta));
    setCurrent(list[next]);
  }

  function press(row, key) {
    var el = row.querySelector('[data-key="' + key + '"]');
    if (!el) {
      announce(document.documentElement.lang.indexOf("es") === 0 ? "Acción no disponible" : "Not available");
      return;
    }
    var open = document.getElementById("action-" + row.getAttribute("data-record"));
    if (open && el.hasAttribute("hx-get")) open.remove();
    el.click();
  }

  function editFirstCell(row) {
    var el = row.querySelector('.cell-error [data-key="edit"]') || row.querySelector('.cell-warning [data-key="edit"]') ||
      row.querySelector('[data-key="edit"]');
    if (el) el.click();
  }

  function isTyping(target) {
    var tag = target && target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }

  document.addEventListener("keydown", function (e) {
    if (!document.getElementById("review-table") || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === "Escape") {
      var scope = (e.target.closest && e.target.closest(".cell-form, .action-form")) || document;
      var cancel = scope.querySelector('[data-key="cancel"]');
      if (cancel) { e.preventDefault(); cancel.click(); }
      return;
    }
    if (isTyping(e.target)) return;
    var row = currentRow();
    var key = e.key;
    if (key === "j") { e.preventDefault(); move(1); return; }
    if (key === "k") { e.preventDefault(); move(-1); return; }
    if (!row) return;
    var actions = { a: "approve", w: "acknowledge", r: "reject", s: "send-back", o: "open" };
    if (actions[key]) { e.preventDefault(); press(row, actions[key]); return; }
    if (key === "e") { e.preventDefault(); editFirstCell(row); return; }
    if (key === "x") {
      e.preventDefault();
      var box = row.querySelector("[data-select]");
      if (box) { box.checked = !box.checked; syncSelection(); }
    }
  });

  // A button marked aria-disabled stays focusable (so its reason can be read) but does nothing.
  document.addEventListener("click", function (e) {
    var disabled = e.target.closest && e.target.closest('[aria-disabled="true"]');
    if (disabled) { e.preventDefault(); announce(disabled.title); return; }
    var dismiss = e.target.closest && e.target.closest("[data-dismiss]");
    if (dismiss) {
      var gone = document.getElementById(dismiss.getAttribute("data-dismiss"));
      if (gone) gone.remove();
      var row = currentRow();
      if (row) row.focus({ preventScroll: true });
      return;
    }
    var clicked = e.target.closest && e.target.closest("tr.review-row");
    if (clicked) setCurrent(clicked, false);
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

  // After htmx replaces a row (save, approve...), keep it current and give it the focus back.
  document.addEventListener("htmx:afterSettle", function () {
    var row = currentRow();
    if (row) {
      row.classList.add("current");
      if (document.activeElement === document.body) row.focus({ preventScroll: true });
    }
    syncSelection();
  });

  document.addEventListener("DOMContentLoaded", function () { syncSelection(); });
})();
