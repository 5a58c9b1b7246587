// Small progressive enhancements; every page works without this file.
(function () {
  "use strict";

  // Show a dependent field only while its controlling checkbox is ticked
  // (AVI username under AVI; the scope list under "scopes set by hand").
  function bindToggle(root, controlName, targetId) {
    var control = root.querySelector('input[name="' + controlName + '"]');
    var target = root.querySelector("#" + targetId);
    if (!control || !target) return;
    var sync = function () { target.hidden = !control.checked; };
    control.addEventListener("change", sync);
    sync();
  }

  function init(root) {
    bindToggle(root, "av_avi", "field-avi_username");
    bindToggle(root, "scopes_override", "field-scopes");
  }

  // A second click on a button that starts something (a submission) does nothing: the first one is under way.
  document.addEventListener("submit", function (e) {
    var button = e.target.querySelector("[data-disable-on-submit]");
    if (button) { window.setTimeout(function () { button.disabled = true; }, 0); }
  });

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:load", function (e) { init(e.target); });
})();
