// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";

  // Sign-up: offer the browser's time zone when the field still holds the server's default.
  var zone = document.querySelector("[data-browser-zone]");
  if (zone && zone.value === "UTC" && window.Intl) {
    try {
      var guess = Intl.DateTimeFormat().resolvedOptions().timeZone;
      if (guess) { zone.value = guess; }
    } catch (e) { /* keep UTC */ }
  }

  // New reminder: show only the fields of the chosen kind of schedule.
  var radios = document.querySelectorAll("input[name=kind]");
  function sync() {
    var chosen = document.querySelector("input[name=kind]:checked");
    var subs = document.querySelectorAll(".sub[data-kind]");
    for (var i = 0; i < subs.length; i++) {
      subs[i].hidden = !chosen || subs[i].getAttribute("data-kind") !== chosen.value;
    }
  }
  for (var i = 0; i < radios.length; i++) { radios[i].addEventListener("change", sync); }
  if (radios.length) { document.documentElement.classList.add("js"); sync(); }

  // Profile editor: redraw the escalation picture from the form as it is typed (the Preview button does
  // the same without a script). Only the latest answer is shown.
  var editor = document.querySelector("form[data-picture]");
  var picture = document.getElementById("picture");
  if (editor && picture && window.fetch && window.URLSearchParams && window.FormData) {
    document.documentElement.classList.add("js");
    var timer = null, asked = 0;
    var redraw = function () {
      var mine = ++asked;
      var params = new URLSearchParams(new FormData(editor));
      params.delete("csrf");
      fetch(editor.getAttribute("data-picture") + "?" + params.toString(), { credentials: "same-origin" })
        .then(function (r) { return r.ok && !r.redirected ? r.text() : null; })
        .then(function (html) { if (html !== null && mine === asked) { picture.innerHTML = html; } })
        .catch(function () { /* keep the last picture */ });
    };
    var later = function () { clearTimeout(timer); timer = setTimeout(redraw, 250); };
    editor.addEventListener("input", later);
    editor.addEventListener("change", later);
  }

  // A new API key: select it on focus so it is easy to copy.
  var key = document.getElementById("new-key");
  if (key) { key.addEventListener("focus", function () { key.select(); }); }
})();
