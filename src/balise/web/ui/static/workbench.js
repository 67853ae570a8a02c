// Balise workbench: reveal one blurred item at a time (each reveal is logged, with its
// purpose), re-blur automatically, a break reminder.
(function () {
  "use strict";
  var body = document.body;
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var revealSeconds = parseInt(body.getAttribute("data-reveal-seconds") || "10", 10);
  var breakMinutes = parseInt(body.getAttribute("data-break-minutes") || "0", 10);
  var timer = null;

  // The page only ever holds the server's blurred derivative. A reveal asks the server, with
  // a purpose, for a single-use URL (the server records it first), fetches it once into
  // memory and shows it until the timer, Esc or another reveal takes it away again.
  function reblurAll() {
    document.querySelectorAll("figure.media.revealed").forEach(function (fig) {
      fig.classList.remove("revealed");
      var button = fig.querySelector("button.reveal");
      if (button) { button.setAttribute("aria-pressed", "false"); }
      fig.querySelectorAll(".unblurred").forEach(function (el) {
        if (el.pause) { el.pause(); }
        if (el.src) { URL.revokeObjectURL(el.src); }
        el.remove();
      });
    });
    if (timer) { clearTimeout(timer); timer = null; }
  }

  // The messages are the page's own (translated), or Balise's own words for a refusal that
  // says why (the daily cap); a stored item's bytes are never shown as text.
  function refuse(fig, status, message) {
    var p = fig.querySelector(".reveal-error");
    if (!p) { return; }
    p.textContent = message || p.getAttribute(status === 400 ? "data-purpose" : "data-refused") || "";
    p.hidden = false;
  }

  function show(fig, url) {
    var view = fig.getAttribute("data-view");
    if (view === "download") {
      // Not a picture or video Balise decodes: the server sends it as an attachment only.
      window.location.assign(url);
      return;
    }
    fetch(url, {credentials: "same-origin", cache: "no-store"}).then(function (response) {
      if (!response.ok) { throw response.status; }
      return response.blob();
    }).then(function (blob) {
      var el = document.createElement(view === "video" ? "video" : "img");
      el.className = "unblurred";
      if (view === "video") { el.muted = true; el.defaultMuted = true; el.setAttribute("muted", ""); el.controls = true; el.playsInline = true; }
      else { el.alt = fig.querySelector("img.derivative").alt; }
      el.src = URL.createObjectURL(blob);
      fig.insertBefore(el, fig.firstChild);
      fig.classList.add("revealed");
      var button = fig.querySelector("button.reveal");
      if (button) { button.setAttribute("aria-pressed", "true"); }
      timer = setTimeout(reblurAll, revealSeconds * 1000);
    }).catch(function (status) { refuse(fig, status); });
  }

  function reveal(button) {
    var fig = button.closest("figure.media");
    if (!fig) { return; }
    if (fig.classList.contains("revealed")) { reblurAll(); return; }
    reblurAll();
    var form = new URLSearchParams();
    var purpose = fig.querySelector("select.purpose");
    var detail = fig.querySelector("input.purpose-detail");
    form.set("purpose", purpose ? purpose.value : "");
    form.set("detail", detail ? detail.value : "");
    var error = fig.querySelector(".reveal-error");
    if (error) { error.hidden = true; }
    fetch("/ui/items/" + button.getAttribute("data-item") + "/reveal", {
      method: "POST", credentials: "same-origin",
      headers: {"x-csrftoken": csrf, "content-type": "application/x-www-form-urlencoded"},
      body: form.toString()
    }).then(function (response) {
      // Nothing is shown unless the reveal was recorded.
      if (response.status === 403 && (response.headers.get("content-type") || "").indexOf("application/json") === 0) {
        return response.json().then(function (answer) { refuse(fig, 403, answer.message); });
      }
      if (response.status !== 200) { refuse(fig, response.status); return; }
      return response.json().then(function (answer) { show(fig, answer.url); });
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button.reveal");
    if (button) { event.preventDefault(); reveal(button); }
    // A report id shown short: the button copies it whole.
    var copy = event.target.closest && event.target.closest("button.copy[data-copy]");
    if (copy) {
      event.preventDefault();
      var text = copy.getAttribute("data-copy");
      var done = function () {
        copy.classList.add("copied");
        setTimeout(function () { copy.classList.remove("copied"); }, 1500);
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done);
      } else {  // plain http: the older way
        var area = document.createElement("textarea");
        area.value = text;
        area.setAttribute("readonly", "");
        area.className = "offscreen";
        document.body.appendChild(area);
        area.select();
        try { if (document.execCommand("copy")) { done(); } } finally { document.body.removeChild(area); }
      }
    }
  });

  // Esc hides a revealed item again (the other shortcuts are in assess.js).
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { reblurAll(); }
  });

  // Session timer and break reminder.
  var started = Date.now();
  var clock = document.getElementById("session-timer");
  var reminder = document.getElementById("break-reminder");
  if (clock && breakMinutes > 0) {
    setInterval(function () {
      var minutes = Math.floor((Date.now() - started) / 60000);
      clock.textContent = minutes + " min";
      if (reminder && minutes >= breakMinutes) { reminder.hidden = false; }
    }, 15000);
  }
})();
