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

  // As `form` is typed, fetch `url` with its fields (less the form token) and put the answer into the element
  // `target()` names; only the latest answer is shown, and a failed one keeps what is there.
  function redrawOnInput(form, url, target) {
    if (!window.fetch || !window.URLSearchParams || !window.FormData) { return false; }
    var timer = null, asked = 0;
    var redraw = function () {
      var mine = ++asked, into = target();
      if (!into) { return; }
      var params = new URLSearchParams(new FormData(form));
      params.delete("csrf");
      fetch(url + "?" + params.toString(), { credentials: "same-origin" })
        .then(function (r) { return r.ok && !r.redirected ? r.text() : null; })
        .then(function (html) { if (html !== null && mine === asked) { into.innerHTML = html; } })
        .catch(function () { /* keep what is shown */ });
    };
    var later = function () { clearTimeout(timer); timer = setTimeout(redraw, 250); };
    form.addEventListener("input", later);
    form.addEventListener("change", later);
    document.documentElement.classList.add("js");
    return true;
  }

  // Profile editor: redraw the escalation picture from the form as it is typed (the Preview button does
  // the same without a script).
  var editor = document.querySelector("form[data-picture]");
  var picture = document.getElementById("picture");
  if (editor && picture) {
    redrawOnInput(editor, editor.getAttribute("data-picture"), function () { return picture; });
  }

  // Reminder form: the next times of the schedule as it is typed, under the chosen kind's fields (the
  // "Show the next times" button does the same without a script).
  var reminder = document.querySelector("form[data-occurrences]");
  if (reminder) {
    redrawOnInput(reminder, reminder.getAttribute("data-occurrences"), function () {
      var chosen = reminder.querySelector("input[name=kind]:checked");
      return chosen && document.getElementById("upcoming-" + chosen.value);
    });
  }

  // A reminder's acknowledge, snooze and complete forms (marked data-inplace) post in the background and the
  // page they lead to replaces this one without a reload; a failed request posts the form the usual way.
  if (window.fetch && window.DOMParser && window.history && window.history.pushState) {
    document.addEventListener("submit", function (event) {
      var form = event.target;
      if (!form.hasAttribute || !form.hasAttribute("data-inplace")) { return; }
      event.preventDefault();
      var data = new URLSearchParams(new FormData(form));
      var by = event.submitter;
      if (by && by.name) { data.append(by.name, by.value); }
      // Only a request that never arrived is sent again; an answer that is not a page is opened as one.
      fetch(form.action, { method: "POST", body: data, credentials: "same-origin" })
        .then(function (r) { return r.text().then(function (html) { return { url: r.url, html: html }; }); },
              function () { form.submit(); return null; })
        .then(function (page) {
          if (!page) { return; }
          var next = new DOMParser().parseFromString(page.html, "text/html");
          if (!next.querySelector("main")) { location.href = page.url; return; }
          document.title = next.title;
          document.body.replaceWith(document.adoptNode(next.body));
          if (page.url !== location.href) { history.pushState(null, "", page.url); }
          // Say what happened: the message, else the problem, else the page's heading.
          var said = document.querySelector(".flash") || document.querySelector("main .error") ||
            document.querySelector("main h1");
          if (said) { said.setAttribute("tabindex", "-1"); said.focus(); }
        });
    });
    window.addEventListener("popstate", function () { location.reload(); });
  }

  // Channels: "Notify me in this browser" asks for permission, registers the service worker, subscribes
  // with the server's key and posts the standard PushSubscription JSON with the form.
  var push = document.querySelector("form[data-push-key]");
  if (push) {
    var pushButton = push.querySelector("[data-push-button]");
    var pushStatus = push.querySelector("[data-push-status]");
    var supported = "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
    if (!supported) {
      pushStatus.textContent = "This browser cannot show notifications from websites. On an iPhone or iPad, " +
        "add this site to the home screen and open it from there.";
    } else {
      pushButton.hidden = false;
      var serverKey = function () {
        var text = push.getAttribute("data-push-key").replace(/-/g, "+").replace(/_/g, "/");
        var raw = atob(text + "===".slice((text.length + 3) % 4));
        var bytes = new Uint8Array(raw.length);
        for (var i = 0; i < raw.length; i++) { bytes[i] = raw.charCodeAt(i); }
        return bytes;
      };
      var sameKey = function (subscription, key) {
        var had = subscription.options && subscription.options.applicationServerKey;
        if (!had) { return false; }
        had = new Uint8Array(had);
        if (had.length !== key.length) { return false; }
        for (var i = 0; i < key.length; i++) { if (had[i] !== key[i]) { return false; } }
        return true;
      };
      push.addEventListener("submit", function (event) {
        event.preventDefault();
        pushButton.disabled = true;
        pushStatus.textContent = "Asking this browser…";
        var key = serverKey();
        Notification.requestPermission().then(function (permission) {
          if (permission !== "granted") {
            throw new Error("Notifications are blocked for this site. Allow them in the browser's site settings, then try again.");
          }
          return navigator.serviceWorker.register("/sw.js").then(function () { return navigator.serviceWorker.ready; });
        }).then(function (registration) {
          // A subscription made with another server key would be refused by the push service: replace it.
          return registration.pushManager.getSubscription().then(function (old) {
            if (old && sameKey(old, key)) { return old; }
            var fresh = function () {
              return registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
            };
            return old ? old.unsubscribe().then(fresh) : fresh();
          });
        }).then(function (subscription) {
          push.querySelector("input[name=subscription]").value = JSON.stringify(subscription);
          push.submit();
        }).catch(function (err) {
          pushStatus.textContent = (err && err.message) || "This browser could not subscribe.";
          pushButton.disabled = false;
        });
      });
    }
  }

  // A new API key: select it on focus so it is easy to copy.
  var key = document.getElementById("new-key");
  if (key) { key.addEventListener("focus", function () { key.select(); }); }
})();
