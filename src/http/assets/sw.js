// The console's service worker: shows a reminder's push notification and acts on its buttons through the
// notification's signed action links (the same POST an email's link confirm page makes).
"use strict";

var DONE = {
  "acknowledge": "Acknowledged: escalation is paused",
  "snooze-30m": "Snoozed for 30 minutes",
  "complete": "Marked as done"
};

self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (event) { event.waitUntil(self.clients.claim()); });

self.addEventListener("push", function (event) {
  var data;
  try {
    data = event.data ? event.data.json() : {};
  } catch (e) {
    data = { title: "Reminder", body: event.data ? event.data.text() : "" };
  }
  var actions = data.actions || [];
  var links = {};
  actions.forEach(function (a) { links[a.action] = a.url; });
  var urgent = data.importance === "high" || data.importance === "critical";
  event.waitUntil(self.registration.showNotification(data.title || "Reminder", {
    body: data.body || "",
    // A later tier of the same reminder replaces the earlier notification, and still alerts.
    tag: data.tag || "reminder",
    renotify: true,
    requireInteraction: urgent,
    data: { url: data.url || "/", links: links },
    actions: actions.map(function (a) { return { action: a.action, title: a.title }; })
  }));
});

// Focus a console tab already showing `url`, else open one.
function openPage(url) {
  return self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (tabs) {
    for (var i = 0; i < tabs.length; i++) {
      if (tabs[i].url === url && "focus" in tabs[i]) { return tabs[i].focus(); }
    }
    return self.clients.openWindow(url);
  });
}

self.addEventListener("notificationclick", function (event) {
  var note = event.notification;
  var data = note.data || {};
  note.close();
  var link = event.action && data.links ? data.links[event.action] : null;
  if (!link) {
    event.waitUntil(openPage(data.url || "/"));
    return;
  }
  // The link acts once; a refusal (used, expired, the reminder moved on) is explained by its page.
  event.waitUntil(fetch(link, { method: "POST", credentials: "omit" }).then(function (answer) {
    if (!answer.ok) { return self.clients.openWindow(link); }
    return self.registration.showNotification(DONE[event.action] || "Done", {
      body: note.title, tag: note.tag, data: { url: data.url }
    });
  }, function () { return self.clients.openWindow(link); }));
});
