// The dashboard's panel, pushed by the server (server-sent events on /dashboard/events) each
// time a recorded call changes it: the numbers come from the call statistics every recorded call
// updates, so the charts follow the floor. A browser without EventSource fetches the panel
// again every few seconds.
(function () {
  var box = document.getElementById('dash-panel');
  if (!box) return;
  var query = box.dataset.query ? '?' + box.dataset.query : '';
  if (window.EventSource) {
    var source = new EventSource('/dashboard/events' + query);
    source.addEventListener('panel', function (e) { box.innerHTML = e.data; });
    return;
  }
  var every = parseInt(box.dataset.refresh || '5', 10) * 1000;
  function tick() {
    fetch('/dashboard/panel' + query, { credentials: 'same-origin' })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) { if (html !== null) box.innerHTML = html; })
      .catch(function () {})
      .then(function () { setTimeout(tick, every); });
  }
  setTimeout(tick, every);
})();
