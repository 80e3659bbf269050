// The agent workspace: "next call" (key N) asks /api/v1/agent/next-call and opens the served lead;
// disposition buttons have hotkeys; the call form is saved with fetch (session cookie + CSRF
// header), then the counters and the revisit list update without reloading; reminders and
// recorded calls arrive over server-sent events. (The supervisor's live view has live.js.)
// Nothing the agent typed is lost: choosing another script replaces the script pane in place,
// leaving the page (next call, skip) with an unsaved form asks first, and after a save the lead
// card's status and history are fetched again instead of reloading the page.
(function () {
  "use strict";

  var root = document.getElementById("workspace");
  if (!root) return;

  var csrf = root.dataset.csrf;
  var statusLine = document.getElementById("ws-status");
  var nextButton = document.getElementById("next-call");
  var form = document.getElementById("call-form");
  var buttons = form ? Array.prototype.slice.call(form.querySelectorAll("button.disp")) : [];
  var saving = false;
  // The call form holds input not saved yet.
  var unsaved = false;
  var skipButton = document.getElementById("skip-lead");

  function mayLeave() {
    if (unsaved && !window.confirm(root.dataset.msgUnsaved)) return false;
    unsaved = false;
    return true;
  }

  // The workspace page fetched again for this lead (`part=card`: no notices consumed), parsed.
  function fetchCard(script) {
    var params = new URLSearchParams({ lead: form.dataset.lead, part: "card" });
    if (script) params.set("script", script);
    return fetch("/workspace?" + params.toString(), { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.text(); })
      .then(function (html) { return new DOMParser().parseFromString(html, "text/html"); });
  }

  function replaceFrom(doc, selector) {
    var mine = document.querySelector(selector);
    var theirs = doc.querySelector(selector);
    if (mine && theirs) mine.replaceWith(document.importNode(theirs, true));
  }

  // After a save: the lead's status and its calls and timeline, as the server now has them.
  function refreshCard() {
    if (!form) return;
    var select = document.getElementById("script-select");
    fetchCard(select ? select.value : "")
      .then(function (doc) {
        replaceFrom(doc, "#ws-lead-status");
        replaceFrom(doc, "#ws-history");
      })
      .catch(function () {});
  }

  // Another script in the pane: only the pane's script changes, the call form keeps its input.
  document.addEventListener("change", function (e) {
    var select = e.target;
    if (!form || !select || select.id !== "script-select") return;
    // Before the select's own handler (forms.js) would submit the pane's form and reload.
    e.stopPropagation();
    fetchCard(select.value)
      .then(function (doc) {
        var pane = select.closest(".pane");
        var fresh = doc.getElementById("script-select");
        if (pane && fresh) pane.replaceWith(document.importNode(fresh.closest(".pane"), true));
        var used = document.getElementById("call-script");
        if (used && !used.dataset.touched) used.value = select.value;
        var url = new URL(window.location.href);
        url.searchParams.set("script", select.value);
        window.history.replaceState(null, "", url.toString());
      })
      .catch(function () { if (select.form) select.form.submit(); });
  }, true);

  function say(text, bad) {
    statusLine.textContent = text || "";
    statusLine.className = bad ? "error" : "muted";
  }

  function api(method, url, body) {
    var headers = { Accept: "application/json", "X-CSRF-Token": csrf };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    return fetch(url, {
      method: method,
      credentials: "same-origin",
      headers: headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  function setText(id, value) {
    var el = document.getElementById(id);
    if (el && value !== undefined && value !== null) el.textContent = String(value);
  }

  function setCounts(d) {
    setText("ws-target", d.target);
    setText("ws-done", d.done);
    setText("ws-remaining", d.remaining);
  }

  function localTime(iso) {
    var t = new Date(iso);
    function two(n) { return (n < 10 ? "0" : "") + n; }
    return t.getFullYear() + "-" + two(t.getMonth() + 1) + "-" + two(t.getDate()) + " " + two(t.getHours()) + ":" + two(t.getMinutes());
  }

  // The revisit list, rebuilt from /api/v1/agent/today (which also carries the counters).
  function refreshToday() {
    return fetch("/api/v1/agent/today", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (d) {
        if (!d) return;
        setCounts(d);
        var list = document.getElementById("ws-revisits");
        if (!list) return;
        list.replaceChildren();
        if (!d.revisits.length) {
          var none = document.createElement("li");
          none.className = "muted";
          none.textContent = list.dataset.empty || "";
          list.appendChild(none);
        }
        d.revisits.forEach(function (r) {
          var li = document.createElement("li");
          li.dataset.lead = r.lead_id;
          if (r.overdue) li.className = "overdue"; else if (r.due) li.className = "due";
          var a = document.createElement("a");
          a.href = "/workspace?lead=" + r.lead_id;
          a.textContent = r.name;
          var time = document.createElement("time");
          time.dataset.utc = r.due_at;
          time.textContent = localTime(r.due_at);
          li.append(a, " ", time);
          if (r.overdue || r.due) {
            var tag = document.createElement("span");
            tag.className = r.overdue ? "tag bad" : "tag";
            tag.textContent = r.overdue ? list.dataset.overdue : list.dataset.due;
            li.append(" ", tag);
          }
          list.appendChild(li);
        });
      })
      .catch(function () {});
  }

  // Nothing to call: outside the calling hours (and when they open), or simply no lead.
  function sayWhyNothing() {
    say(root.dataset.msgNothing);
    fetch("/api/v1/agent/calling-now", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (c) {
        if (c && !c.open && c.says) say(c.says);
      })
      .catch(function () {});
  }

  function nextCall(skip) {
    if (nextButton.disabled) return;
    if (!mayLeave()) return;
    nextButton.disabled = true;
    if (skipButton) skipButton.disabled = true;
    var url = "/api/v1/agent/next-call";
    if (skip) url += "?skip=" + encodeURIComponent(skip);
    api("POST", url)
      .then(function (r) {
        if (r.status === 204) {
          return r.text().then(function () {
            // Nothing to call: a skipped lead was given back all the same.
            if (skip) window.location.href = "/workspace";
            else sayWhyNothing();
            nextButton.disabled = false;
          });
        }
        if (!r.ok) throw new Error(String(r.status));
        return r.json().then(function (d) {
          var url = "/workspace?lead=" + encodeURIComponent(d.lead.id);
          if (d.reserved_until) url += "&until=" + encodeURIComponent(d.reserved_until);
          unsaved = false;
          window.location.href = url;
        });
      })
      .catch(function () {
        say(root.dataset.msgFailed, true);
        nextButton.disabled = false;
        if (skipButton) skipButton.disabled = false;
      });
  }

  // The revisit the rules would schedule fills the field until the agent changes it; an
  // untouched field is sent empty, so the server applies the same rule when recording.
  var revisitField = document.getElementById("call-revisit");
  function localInput(iso) {
    var t = new Date(iso);
    t.setMinutes(t.getMinutes() - t.getTimezoneOffset());
    return t.toISOString().slice(0, 16);
  }
  function previewRevisit() {
    var disposition = document.getElementById("call-disposition").value;
    if (!form || !disposition || revisitField.dataset.touched) return;
    var params = new URLSearchParams({
      lead_id: form.dataset.lead,
      disposition: disposition,
      intent: document.getElementById("call-intent").value,
    });
    fetch("/api/v1/agent/revisit-preview?" + params.toString(), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (p) {
        if (!p || revisitField.dataset.touched) return;
        revisitField.value = p.next_revisit_at ? localInput(p.next_revisit_at) : "";
        revisitField.dataset.rule = p.next_revisit_at || "";
      })
      .catch(function () {});
  }
  if (revisitField) {
    revisitField.addEventListener("input", function () { revisitField.dataset.touched = "1"; });
    document.getElementById("call-script").addEventListener("change", function (e) { e.target.dataset.touched = "1"; });
    document.getElementById("call-intent").addEventListener("change", previewRevisit);
  }

  function choose(code) {
    buttons.forEach(function (b) {
      b.setAttribute("aria-pressed", b.dataset.code === code ? "true" : "false");
    });
    document.getElementById("call-disposition").value = code;
    unsaved = true;
    form.classList.remove("saved");
    previewRevisit();
  }

  function newRequestId() {
    var bytes = new Uint8Array(12);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return (b < 16 ? "0" : "") + b.toString(16); }).join("");
  }

  function save() {
    if (!form || saving) return;
    var disposition = document.getElementById("call-disposition").value;
    if (!disposition) {
      say(root.dataset.msgPickDisposition, true);
      return;
    }
    var revisit = revisitField.dataset.touched ? revisitField.value : "";
    var script = document.getElementById("call-script").value;
    var body = {
      disposition: disposition,
      intent: document.getElementById("call-intent").value || null,
      duration_s: Number(document.getElementById("call-duration").value) || 0,
      notes: document.getElementById("call-notes").value,
      next_revisit_at: revisit ? new Date(revisit).toISOString() : null,
      script_id: script ? Number(script) : null,
      request_id: form.dataset.requestId || (form.dataset.requestId = newRequestId()),
      // issue 27: the click-to-call this records (its start and length are the call's).
      phone_call_id: Number((document.getElementById("call-phone-id") || {}).value) || null,
    };
    saving = true;
    api("POST", "/api/v1/leads/" + encodeURIComponent(form.dataset.lead) + "/calls", body)
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (d) {
          if (!r.ok) throw new Error(d.message || String(r.status));
          return d;
        });
      })
      .then(function (d) {
        // Count the call at once; the refresh below brings the server's numbers.
        var done = document.getElementById("ws-done");
        var remaining = document.getElementById("ws-remaining");
        if (done) done.textContent = String(Number(done.textContent) + 1);
        if (remaining) remaining.textContent = String(Math.max(0, Number(remaining.textContent) - 1));
        form.dataset.requestId = "";
        form.classList.add("saved");
        unsaved = false;
        var revisitAt = d.next_revisit_at || (d.call && d.call.next_revisit_at);
        if (d.collision) {
          // 撞单: the call is kept, the customer stays with its owner.
          say(root.dataset.msgCollision.replace("{owner}", d.collision.owner_name).replace("{since}", localTime(d.collision.owned_since)), true);
        } else {
          say(root.dataset.msgSaved + (revisitAt ? " · " + localTime(revisitAt) : ""));
        }
        refreshToday();
        refreshCard();
        nextButton.focus();
      })
      .catch(function (e) { say(root.dataset.msgFailed + ": " + e.message, true); })
      .then(function () { saving = false; });
  }

  nextButton.addEventListener("click", function () { nextCall(); });
  if (skipButton && form) {
    skipButton.addEventListener("click", function () { nextCall(form.dataset.lead); });
  }
  buttons.forEach(function (b) {
    b.addEventListener("click", function () { choose(b.dataset.code); });
  });
  if (form) {
    // Typing in the form (notes, duration, intent, revisit) is input not saved yet.
    form.addEventListener("input", function () { unsaved = true; form.classList.remove("saved"); });
    form.addEventListener("change", function () { unsaved = true; form.classList.remove("saved"); });
    window.addEventListener("beforeunload", function (e) {
      if (unsaved) { e.preventDefault(); e.returnValue = ""; }
    });
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      save();
    });
  }

  document.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey) && form) {
      e.preventDefault();
      save();
      return;
    }
    var t = e.target;
    if (e.ctrlKey || e.metaKey || e.altKey || e.isComposing) return;
    if (t && t.closest && t.closest("input, textarea, select, [contenteditable]")) return;
    var key = (e.key || "").toLowerCase();
    var hit = buttons.filter(function (b) { return b.dataset.hotkey && b.dataset.hotkey.toLowerCase() === key; })[0];
    if (hit) {
      e.preventDefault();
      choose(hit.dataset.code);
      return;
    }
    if (key === "n") {
      e.preventDefault();
      nextCall();
    }
  });

  // Reminders and recorded calls (from this tab or another) arrive live.
  if (window.EventSource) {
    var events = new EventSource("/api/v1/agent/events");
    events.addEventListener("ready", function (e) { setCounts(JSON.parse(e.data)); });
    events.addEventListener("call_recorded", function (e) { setCounts(JSON.parse(e.data)); });
    // issue 27: the seat's phone (an inbound call's lead, a click-to-call's progress).
    events.addEventListener("phone", function (e) {
      if (window.leadlinePhone) window.leadlinePhone.show(JSON.parse(e.data));
    });
    events.addEventListener("reminder", function (e) {
      var n = JSON.parse(e.data);
      var card = document.getElementById("ws-reminders-card");
      var list = document.getElementById("ws-reminders");
      var li = document.createElement("li");
      var a = document.createElement("a");
      if (n.text) {
        // A notice worded by the server (reclaim, discount, payment): a link to its lead or order.
        a.href = n.href || "/leads/" + n.lead_id;
        a.textContent = n.text;
        li.append(a);
      } else {
        a.href = "/workspace?lead=" + n.lead_id;
        a.textContent = (n.lead_name || "#" + n.lead_id);
        li.append(root.dataset.msgReminder + ": ", a, n.due_at ? " " + localTime(n.due_at) : "");
      }
      list.prepend(li);
      card.hidden = false;
      refreshToday();
    });
  }
})();
