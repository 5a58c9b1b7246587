// Filter forms whose changes push the address (the review queue, the audit log): their controls follow it.
// For Back and Forward htmx puts back the markup it kept of the page, which has the controls as the server first
// drew them, not as the user set them since; the results would then match the address and the controls would not.
// Every page works without this file (a reload draws the controls from the address).
(function () {
  "use strict";

  var FORMS = "form[method=get][hx-push-url]";

  function setSelect(select, wanted) {
    var options = Array.prototype.slice.call(select.options);
    var match = options.filter(function (o) {
      return wanted === null ? o.defaultSelected : o.value === wanted;
    })[0];
    if (!match && wanted) {
      // A value from the address that the list does not offer still filters; show it, as the server does.
      match = new Option(wanted, wanted);
      select.add(match);
    }
    select.selectedIndex = match ? match.index : 0;
  }

  function setControl(control, values) {
    var wanted = values.length ? values[0] : null;
    if (control.type === "checkbox" || control.type === "radio") {
      control.checked = wanted === null ? control.defaultChecked : values.indexOf(control.value) >= 0;
    } else if (control.tagName === "SELECT") {
      setSelect(control, wanted);
    } else if (control.type !== "submit" && control.type !== "button") {
      control.value = wanted === null ? control.defaultValue : wanted;
    }
  }

  // Every control from the address; with `hiddenOnly`, only the hidden ones (a column header's link changes the
  // sort in the address, and the form must send that sort with its next change).
  function sync(hiddenOnly) {
    var params = new URLSearchParams(window.location.search);
    document.querySelectorAll(FORMS).forEach(function (form) {
      Array.prototype.forEach.call(form.elements, function (control) {
        if (!control.name || (hiddenOnly && control.type !== "hidden")) return;
        setControl(control, params.getAll(control.name));
      });
    });
  }

  document.addEventListener("htmx:historyRestore", function () { sync(false); });
  document.addEventListener("htmx:pushedIntoHistory", function () { sync(true); });
})();
