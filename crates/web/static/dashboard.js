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
    // The first event is usually the panel the page came with: replacing it with the same
    // markup would only throw away the elements (and anything holding them) for nothing.
    var parsed = document.createElement('div');
    source.addEventListener('panel', function (e) {
      parsed.innerHTML = e.data;
      if (parsed.innerHTML !== box.innerHTML) box.innerHTML = e.data;
    });
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
