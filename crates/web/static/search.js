// Search as you type: every <input data-search> asks /api/v1/search (with the session cookie;
// GET needs no CSRF token) 150 ms after the last key and lists the results in the element named
// by data-results. Titles and snippets arrive as escaped HTML whose only markup is <mark>.
(function () {
  "use strict";
  document.querySelectorAll("input[data-search]").forEach(function (input) {
    var list = document.getElementById(input.dataset.results);
    var form = input.form;
    var timer = null;
    var asked = 0;
    function field(name) {
      var el = form && form.querySelector("[name=" + name + "]");
      return el ? el.value : input.dataset[name] || "";
    }
    function show(items) {
      list.replaceChildren();
      if (!items.length) {
        var none = document.createElement("li");
        none.className = "muted";
        none.textContent = input.dataset.empty || "";
        list.appendChild(none);
        return;
      }
      items.forEach(function (it) {
        var li = document.createElement("li");
        li.className = "hit";
        var a = document.createElement("a");
        a.href = it.url;
        a.innerHTML = it.title_html;
        if (input.dataset.newTab) {
          a.target = "_blank";
          a.rel = "noopener";
        }
        var kind = document.createElement("span");
        kind.className = "tag";
        kind.textContent = input.getAttribute("data-label-" + it.kind) || it.kind;
        var p = document.createElement("p");
        p.className = "snippet";
        p.innerHTML = it.snippet;
        li.append(a, " ", kind, p);
        if (it.same_notes > 0 && input.dataset.sameNotes) {
          var same = document.createElement("p");
          same.className = "muted same-notes";
          same.textContent = input.dataset.sameNotes.replace("{n}", it.same_notes);
          li.appendChild(same);
        }
        list.appendChild(li);
      });
    }
    function run() {
      var q = input.value.trim();
      var mine = ++asked;
      if (!q) {
        list.replaceChildren();
        return;
      }
      var params = new URLSearchParams({ q: q, limit: input.dataset.limit || "10" });
      if (field("kind")) params.set("kind", field("kind"));
      if (field("category")) params.set("category", field("category"));
      fetch("/api/v1/search?" + params.toString(), { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : { items: [] }; })
        .then(function (data) {
          if (mine === asked) show(data.items || []);
        })
        .catch(function () {});
      if (input.dataset.live && window.history.replaceState) {
        var url = new URL(window.location.href);
        url.searchParams.set("q", q);
        window.history.replaceState(null, "", url);
      }
    }
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(run, 150);
    });
    if (form) {
      form.querySelectorAll("select").forEach(function (s) { s.addEventListener("change", run); });
    }
  });
})();
