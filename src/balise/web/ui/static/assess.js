// Balise assessment screen: save an item's classification and record a decision without a page
// load, and the keyboard shortcuts of the queue and the report page (the `?` dialog lists them).
// Without this script every form still works as a plain form post.
(function () {
  "use strict";
  var FRAGMENT = "x-balise-fragment";
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  // The body is read before the buttons are disabled: a disabled button sends no value.
  function post(form, submitter, kind) {
    var body = new URLSearchParams(new FormData(form, submitter));
    form.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
    return fetch(form.action, {
      method: "POST", credentials: "same-origin", cache: "no-store",
      headers: {"x-csrftoken": csrf, "content-type": "application/x-www-form-urlencoded", "x-balise-fragment": kind},
      body: body.toString()
    });
  }

  // Anything but the fragment asked for (the form guard's refusal page, a lost session): the
  // form is sent again the plain way, so the reader sees the server's own page.
  function plain(form, submitter) {
    form.setAttribute("data-plain", "1");
    form.requestSubmit(submitter || undefined);
  }

  function items() { return Array.prototype.slice.call(document.querySelectorAll("article.item")); }
  var current = -1;

  function focusItem(index) {
    var all = items();
    if (!all.length) { return; }
    current = Math.max(0, Math.min(all.length - 1, index));
    all[current].focus();
    all[current].scrollIntoView({block: "start"});
  }

  // After a save: the next item still to classify, else the decision.
  function focusNext(after) {
    var all = items();
    var start = all.indexOf(after);
    for (var i = start + 1; i < all.length; i++) {
      if (all[i].querySelector("form.classify")) { focusItem(i); return; }
    }
    var decision = document.getElementById("decision");
    if (decision) { decision.focus(); decision.scrollIntoView({block: "start"}); }
  }

  function saveItem(form, submitter) {
    var article = form.closest("article.item");
    var panel = form.closest(".item-assess");
    var buttons = form.querySelectorAll("button");
    post(form, submitter, "item").then(function (response) {
      if (response.headers.get(FRAGMENT) !== "item") { throw "not a fragment"; }
      return response.text().then(function (html) {
        var holder = document.createElement("div");
        holder.innerHTML = html;
        var fresh = holder.querySelector(".item-assess");
        panel.replaceWith(fresh);
        if (response.ok) { focusNext(article); }
        else { var alert = fresh.querySelector('[role="alert"]'); if (alert) { alert.setAttribute("tabindex", "-1"); alert.focus(); } }
      });
    }).catch(function () {
      buttons.forEach(function (b) { b.disabled = false; });
      plain(form, submitter);
    });
  }

  function decide(form, submitter) {
    var error = document.getElementById("decision-error");
    if (error) { error.hidden = true; }
    post(form, submitter, "decision").then(function (response) {
      if (response.headers.get(FRAGMENT) !== "decision") { throw "not a fragment"; }
      return response.json().then(function (answer) {
        if (answer.location) { window.location.assign(answer.location); return; }
        if (error) { error.textContent = answer.error || ""; error.hidden = false; error.setAttribute("tabindex", "-1"); error.focus(); }
      });
    }).catch(function () { plain(form, submitter); })
      .finally(function () { form.querySelectorAll("button").forEach(function (b) { b.disabled = false; }); });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.getAttribute("data-plain") === "1" || typeof FormData === "undefined" || !window.fetch) { return; }
    if (form.matches("form.classify")) { event.preventDefault(); saveItem(form, event.submitter); }
    else if (form.matches("form.decide")) { event.preventDefault(); decide(form, event.submitter); }
  });

  // The shortcuts list: a modal dialog (Esc closes it, focus returns to where it was).
  var dialog = document.getElementById("shortcuts");
  var opener = document.querySelector("button.help-open");
  function toggleHelp() {
    if (!dialog || !dialog.showModal) { return; }
    if (dialog.open) { dialog.close(); } else { dialog.showModal(); }
  }
  if (opener && dialog && dialog.showModal) {
    opener.hidden = false;
    opener.addEventListener("click", toggleHelp);
  }

  // Queue rows.
  var row = -1;
  function rows() { return Array.prototype.slice.call(document.querySelectorAll("table.queue tbody tr")); }
  function focusRow(index) {
    var all = rows();
    if (!all.length) { return; }
    all.forEach(function (r) { r.classList.remove("current"); });
    row = Math.max(0, Math.min(all.length - 1, index));
    all[row].classList.add("current");
    var link = all[row].querySelector("a");
    if (link) { link.focus(); }
  }

  function typing(target) {
    var tag = (target.tagName || "").toLowerCase();
    if (tag === "textarea" || tag === "select" || target.isContentEditable) { return true; }
    if (tag !== "input") { return false; }
    return ["checkbox", "radio", "button", "submit", "reset"].indexOf((target.type || "").toLowerCase()) < 0;
  }

  function currentItem() {
    var all = items();
    var inside = document.activeElement && document.activeElement.closest && document.activeElement.closest("article.item");
    if (inside) { current = all.indexOf(inside); return inside; }
    return all[current] || all[0];
  }

  function clickIf(selector, scope) {
    var el = (scope || document).querySelector(selector);
    if (el) { el.click(); }
    return el;
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) { return; }
    if (dialog && dialog.open) { return; }  // the dialog handles Esc itself
    var key = event.key;
    if (key === "?") { event.preventDefault(); toggleHelp(); return; }
    if (document.querySelector("table.queue")) {
      if (key === "j") { focusRow(row + 1); }
      else if (key === "k") { focusRow(row - 1); }
      else if (key === "c") { var r = rows()[row]; if (r) { clickIf("button.claim", r); } }
      else if (key === "/") { event.preventDefault(); var q = document.querySelector('input[name="q"]'); if (q) { q.focus(); } }
      return;
    }
    if (!document.querySelector("article.item, form.decide, button.claim")) { return; }
    var item = currentItem();
    if (key === "j") { focusItem(current + 1); }
    else if (key === "k") { focusItem(current - 1); }
    else if (key === "c") { clickIf(".actions button.claim"); }
    else if (key === "r" && item) { clickIf("figure.media:not(.download) button.reveal", item); }
    else if (/^[1-9]$/.test(key) && item) {
      var choice = item.querySelector('form.classify button[data-choice="' + key + '"]');
      if (choice) {
        item.querySelectorAll("form.classify button[data-choice]").forEach(function (b) { b.setAttribute("aria-pressed", "false"); });
        choice.setAttribute("aria-pressed", "true");
        choice.focus();
      }
    } else if (key === "s" && item) {
      var chosen = item.querySelector('form.classify button[aria-pressed="true"]');
      if (chosen) { chosen.click(); }
      else { var first = item.querySelector("form.classify button[data-choice]"); if (first) { first.focus(); } }
    } else if (key === "d") {
      var decision = document.getElementById("decision");
      if (decision) { decision.scrollIntoView({block: "start"}); var b = decision.querySelector("fieldset.decisions button"); if (b) { b.focus(); } }
    } else { return; }
    event.preventDefault();
  });
})();
