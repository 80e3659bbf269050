// issue 27: click-to-call. A [data-phone-call] button in #phone-pane (lead and customer cards) or
// in the workspace dials the lead or customer from the user's own seat: the seat rings first, then
// the customer. The server checks do-not-call, calling hours and attempts first and answers why
// it refused; nothing is dialled then. The workspace's event stream passes `phone` events to
// `window.leadlinePhone.show`, which pops the caller's lead or customer up and, once a
// click-to-call ended, fills the call form with its start and length.
(function () {
  "use strict";

  function dial(button) {
    var pane = button.closest("[data-target]");
    var status = document.getElementById("phone-status");
    var body = {};
    body[pane.dataset.target] = Number(pane.dataset.id);
    button.disabled = true;
    fetch("/api/v1/calls/dial", {
      method: "POST",
      credentials: "same-origin",
      headers: { Accept: "application/json", "Content-Type": "application/json", "X-CSRF-Token": pane.dataset.csrf },
      body: JSON.stringify(body),
    })
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (d) {
          if (status) status.textContent = r.ok ? pane.dataset.msgDialling : (d.message || String(r.status));
          if (status) status.className = r.ok ? "muted" : "error";
        });
      })
      .catch(function (e) { if (status) status.textContent = String(e); })
      .then(function () { button.disabled = false; });
  }

  document.addEventListener("click", function (e) {
    var button = e.target.closest && e.target.closest("[data-phone-call]");
    if (button) {
      e.preventDefault();
      dial(button);
    }
  });

  function text(el, value) {
    if (el) el.textContent = value == null ? "" : String(value);
  }

  // The workspace pop-up.
  window.leadlinePhone = {
    show: function (view) {
      var box = document.getElementById("phone-popup");
      var call = view && view.phone;
      if (!box || !call) return;
      var d = box.dataset;
      text(document.getElementById("phone-popup-kind"), call.direction === "inbound" ? d.msgIncoming : d.msgOutgoing);
      text(document.getElementById("phone-popup-state"), d["msgState" + call.state.charAt(0).toUpperCase() + call.state.slice(1)]);
      text(document.getElementById("phone-popup-number"), call.number);
      var who = document.getElementById("phone-popup-who");
      who.textContent = "";
      var m = call.matched || {};
      var holder = m.lead || m.customer;
      if (m.unknown || !holder) {
        who.textContent = d.msgUnknown;
      } else if (holder.visible) {
        var a = document.createElement("a");
        a.href = (holder.kind === "lead" ? "/leads/" : "/customers/") + holder.id;
        a.textContent = holder.name;
        a.id = "phone-popup-name";
        who.append(a, " · " + d.msgOwner + " " + (holder.owner_name || ""));
      } else {
        who.textContent = d.msgHidden + " · " + d.msgOwner + " " + (holder.owner_name || "");
      }
      box.hidden = call.state === "ended" && call.direction === "inbound";
      // A click-to-call that ended on the lead in the form: its start and length, linked.
      var placed = call.placed;
      var form = document.getElementById("call-form");
      if (placed && form && String(placed.lead_id) === form.dataset.lead && !placed.call_record_id) {
        var id = document.getElementById("call-phone-id");
        if (id) id.value = placed.id;
        var duration = document.getElementById("call-duration");
        if (duration) duration.value = placed.duration_s;
        var pick = { busy: "busy", no_answer: "no_answer", failed: "no_answer" }[placed.result];
        var disposition = document.getElementById("call-disposition");
        var button = pick && document.querySelector('#dispositions [data-code="' + pick + '"]');
        if (button && disposition && !disposition.value) button.click();
        text(document.getElementById("phone-popup-prefilled"), d.msgPrefilled);
      }
    },
  };
})();
