// Small behaviours of plain forms, kept out of the markup so that the pages' Content-Security-
// Policy can forbid inline script: a <select data-autosubmit> submits its form when changed.
(function () {
  "use strict";
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () {
      if (select.form) select.form.submit();
    });
  });
  // <input type="checkbox" data-select-all=".selector"> ticks or unticks every box it names.
  document.querySelectorAll("input[data-select-all]").forEach(function (all) {
    all.addEventListener("change", function () {
      document.querySelectorAll(all.getAttribute("data-select-all")).forEach(function (box) {
        box.checked = all.checked;
      });
    });
  });
  // An open menu of the navigation (<details class="menu">) closes on a click elsewhere.
  document.addEventListener("click", function (e) {
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      if (!menu.contains(e.target)) menu.removeAttribute("open");
    });
  });
})();
