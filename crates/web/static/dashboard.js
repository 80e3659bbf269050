// The dashboard's panel, fetched again every few seconds: the numbers come from the call
// statistics every recorded call updates, so the charts follow the floor.
(function () {
  var box = document.getElementById('dash-panel');
  if (!box) return;
  var url = '/dashboard/panel' + (box.dataset.query ? '?' + box.dataset.query : '');
  var every = parseInt(box.dataset.refresh || '5', 10) * 1000;
  function tick() {
    fetch(url, { credentials: 'same-origin' })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) { if (html !== null) box.innerHTML = html; })
      .catch(function () {})
      .then(function () { setTimeout(tick, every); });
  }
  setTimeout(tick, every);
})();
