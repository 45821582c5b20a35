/* tinystack: live Instances lists. The console (skyline-console) refreshes a list every
 * 30 s (10 s while an item is in a transition), so a change made elsewhere (the CLI,
 * another session, the cloud itself) would take that long to show. While an Instances
 * list is open and visible, this asks the Compute API (through the dashboard's
 * pass-through, with the page's own session) which of the project's servers changed
 * since the last look (`changes-since`, one indexed query) and, when one did, presses
 * the list's own refresh button. */
(function () {
  "use strict";
  var PERIOD_MS = 700;
  var LIST = /^\/compute\/instance(-admin)?\/?$/;
  var nova = null;
  var since = null;
  var seen = {};
  var busy = false;
  var away = 0;  // performance.now() of the last look away from a list (0: the page's load)

  function iso(ms) {
    return new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");
  }

  function refreshButton() {
    // the list's toolbar: its first icon button (the sync icon) is the console's refresh
    var icon = document.querySelector(".table-header-btns button .anticon-sync");
    return icon ? icon.closest("button") : null;
  }

  function endpoint() {
    if (nova) return Promise.resolve(nova);
    return fetch("/api/openstack/skyline/api/v1/profile", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (p) { nova = p && p.endpoints && p.endpoints.nova; return nova; });
  }

  function look() {
    var path = location.pathname;
    if (busy || document.visibilityState !== "visible" || !LIST.test(path)) {
      if (!LIST.test(path)) { since = null; seen = {}; away = performance.now(); }
      return;
    }
    busy = true;
    endpoint()
      .then(function (base) {
        if (!base) return null;
        var query = since ? "?changes-since=" + encodeURIComponent(since) : "?limit=1";
        if (since && /-admin\/?$/.test(path)) query += "&all_tenants=1";
        return fetch(base + "/v2.1/servers/detail" + query, {
          credentials: "same-origin",
          headers: { Accept: "application/json" },
        });
      })
      .then(function (r) {
        if (!r || !r.ok) { if (r && r.status === 401) nova = null; return null; }
        var now = Date.parse(r.headers.get("Date") || "") || Date.now();
        var first = since === null;
        // the server's clock, with a margin for its seconds; the first look goes back to
        // when the list was opened (its rows were read after that) and only sets the clock:
        // a change between the rows' read and this look is the next look's to find
        since = iso(now - 2000 - (first ? performance.now() - away : 0));
        if (first) return null;
        return r.json().then(function (body) {
          var changed = false;
          (body.servers || []).forEach(function (s) {
            var key = [s.id, s.updated, s.status, s["OS-EXT-STS:task_state"]].join(" ");
            if (!seen[key]) { seen[key] = now; changed = true; }
          });
          Object.keys(seen).forEach(function (k) { if (now - seen[k] > 10000) delete seen[k]; });
          if (changed) {
            var button = refreshButton();
            if (button) button.click();
          }
        });
      })
      .catch(function () { nova = null; })
      .then(function () { busy = false; });
  }

  setInterval(look, PERIOD_MS);
})();
