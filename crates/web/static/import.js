// Import progress: while the job on this page runs, ask /api/v1/imports/{id} (session cookie;
// GET needs no CSRF token) every second and show its rows and counts; stop when it is done or
// failed, and show the error-report link when rows were refused.
(function () {
  "use strict";
  var box = document.getElementById("import-job");
  if (!box) return;
  var id = box.dataset.job;
  function set(elId, value) {
    var el = document.getElementById(elId);
    if (el) el.textContent = String(value);
  }
  function show(job) {
    set("job-status", box.dataset["label" + job.status.charAt(0).toUpperCase() + job.status.slice(1)] || job.status);
    set("rows-done", job.rows_done);
    ["imported", "updated", "skipped", "collisions", "failed"].forEach(function (k) {
      set("count-" + k, job.counts[k]);
    });
    var err = document.getElementById("job-error");
    if (job.error) {
      err.textContent = job.error;
      err.hidden = false;
    }
    document.getElementById("error-report").hidden = !(job.counts.failed > 0);
    box.dataset.status = job.status;
  }
  function poll() {
    fetch("/api/v1/imports/" + id, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (job) {
        show(job);
        if (job.status === "running") setTimeout(poll, 1000);
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  if (box.dataset.status === "running") setTimeout(poll, 300);
})();
