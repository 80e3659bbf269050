// The supervisor's live view follows the server: /api/v1/supervisor/live/events sends the whole
// view (`live`) whenever its numbers change, and the table, team totals and overdue list are
// updated in place without reloading. When the set of agents changes, the server draws the new
// table (one reload). Without EventSource the page reloads itself every data-refresh seconds.
(function () {
  "use strict";

  var root = document.getElementById("live");
  if (!root) return;
  if (!window.EventSource) {
    setTimeout(function () { window.location.reload(); }, (Number(root.dataset.refresh) || 15) * 1000);
    return;
  }
  var status = document.getElementById("live-status");

  function two(n) { return (n < 10 ? "0" : "") + n; }
  function minutes(s) { return Math.floor(s / 60) + ":" + two(s % 60); }
  function localTime(iso) {
    var t = new Date(iso);
    return t.getFullYear() + "-" + two(t.getMonth() + 1) + "-" + two(t.getDate()) + " " + two(t.getHours()) + ":" + two(t.getMinutes());
  }

  function set(row, key, value) {
    var el = row.querySelector('[data-k="' + key + '"]');
    if (el && el.textContent !== String(value)) el.textContent = String(value);
    return el;
  }

  function setCounts(row, s) {
    set(row, "calls", s.calls);
    set(row, "connected", s.connected);
    set(row, "valid_conversations", s.valid_conversations);
    set(row, "qualified", s.qualified);
    set(row, "talk", minutes(s.talk_s));
  }

  function rowsBy(selector, attr) {
    var map = {};
    Array.prototype.forEach.call(document.querySelectorAll(selector), function (r) {
      map[r.getAttribute(attr)] = r;
    });
    return map;
  }

  function apply(view) {
    var agents = rowsBy("#live-agents tbody tr[data-agent]", "data-agent");
    var teams = rowsBy("#live-agents tfoot tr[data-team]", "data-team");
    var same = Object.keys(agents).length === view.agents.length &&
      Object.keys(teams).length === view.teams.length &&
      view.agents.every(function (a) { return agents[String(a.agent_id)]; }) &&
      view.teams.every(function (t) { return teams[t.team_id === null ? "" : String(t.team_id)]; });
    if (!same) {
      window.location.reload();
      return;
    }
    document.getElementById("live-day").textContent = view.day;
    view.agents.forEach(function (a) {
      var row = agents[String(a.agent_id)];
      setCounts(row, a);
      set(row, "pct", a.progress_pct + "%");
      var bar = row.querySelector("progress");
      if (bar) bar.value = a.progress_pct;
      var overdue = set(row, "overdue", a.overdue_revisits);
      if (overdue) overdue.classList.toggle("bad", a.overdue_revisits > 0);
      var target = row.querySelector('input[name="daily_calls"]');
      if (target && document.activeElement !== target) target.value = a.target;
    });
    view.teams.forEach(function (t) {
      var row = teams[t.team_id === null ? "" : String(t.team_id)];
      setCounts(row, t.stats);
      set(row, "target", t.target);
    });
    var list = document.getElementById("live-overdue");
    list.replaceChildren();
    view.overdue.forEach(function (o) {
      var li = document.createElement("li");
      li.className = "overdue";
      var a = document.createElement("a");
      a.href = "/leads/" + o.lead_id;
      a.textContent = o.name;
      var time = document.createElement("time");
      time.textContent = localTime(o.due_at);
      li.append(a, " · " + o.agent_name + " · ", time);
      list.appendChild(li);
    });
    document.getElementById("live-no-overdue").hidden = view.overdue.length > 0;
  }

  var source = new EventSource("/api/v1/supervisor/live/events");
  source.addEventListener("live", function (e) {
    apply(JSON.parse(e.data));
    status.textContent = status.dataset.live;
    status.className = "tag";
  });
  source.addEventListener("error", function () {
    status.textContent = status.dataset.reconnecting;
    status.className = "tag bad";
  });
})();
