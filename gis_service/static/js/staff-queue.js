// The staff queue refreshes its counts by itself: it polls /staff/counts.json and, when orders needing a
// person have come in, offers "N neue Aufträge – anzeigen" in a polite live region. The table under the
// clerk's cursor is never replaced and focus never moves; without JavaScript the page is as before.
(function () {
  "use strict";
  var box = document.querySelector(".queue-counts[data-counts-url]");
  if (!box || !window.fetch) return;
  var url = box.getAttribute("data-counts-url");
  var since = parseInt(box.getAttribute("data-since"), 10) || 0;
  var interval = Math.max(2, parseInt(box.getAttribute("data-interval"), 10) || 60) * 1000;
  var news = document.getElementById("queue-news");
  var announced = 0;
  var timer = null;

  function show(count) {
    if (count === announced) return; // the live region speaks only when something changed
    announced = count;
    news.textContent = "";
    if (count <= 0) return;
    var text = document.createElement("span");
    text.textContent = (count === 1 ? "1 neuer Auftrag" : count + " neue Aufträge") + " zu bearbeiten – ";
    var link = document.createElement("a");
    link.href = window.location.pathname + window.location.search;
    link.textContent = "anzeigen";
    news.appendChild(text);
    news.appendChild(link);
  }

  function poll() {
    timer = null;
    fetch(url + "?since=" + since, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        if (!response.ok || type.indexOf("application/json") !== 0) throw new Error("logged out or failing");
        return response.json();
      })
      .then(function (counts) {
        ["needs_person", "mine", "failed_mails"].forEach(function (name) {
          var element = box.querySelector('[data-count="' + name + '"]');
          if (element && element.textContent !== String(counts[name])) element.textContent = String(counts[name]);
        });
        show(counts.new_since);
        schedule();
      })
      .catch(function () { /* stop quietly: a reload shows the state */ });
  }

  function schedule() {
    if (timer === null && !document.hidden) timer = window.setTimeout(poll, interval);
  }

  document.addEventListener("visibilitychange", function () {
    if (document.hidden && timer !== null) { window.clearTimeout(timer); timer = null; }
    else schedule();
  });
  schedule();
})();
