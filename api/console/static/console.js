// The console's only script: keyboard shortcuts and unblurring one evidence item at a time.
(function () {
  "use strict";

  function unblur(figure) {
    var media = figure.querySelector("img, video");
    if (!media || figure.dataset.unblurred) { return; }
    var url = new URL(media.getAttribute("src"), window.location.href);
    url.searchParams.set("unblurred", "true");
    media.setAttribute("src", url.pathname + url.search);
    figure.dataset.unblurred = "1";
    figure.classList.remove("filtered");
    var caption = figure.querySelector(".filter");
    if (caption) { caption.textContent = "unblurred"; }
    var button = figure.querySelector("[data-unblur]");
    if (button) { button.remove(); }
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (target.matches("[data-unblur]")) { unblur(target.closest("figure")); }
    if (target.matches("[data-help]")) {
      var help = document.getElementById("help");
      help.hidden = !help.hidden;
    }
  });

  document.addEventListener("keydown", function (event) {
    var tag = (event.target.tagName || "").toLowerCase();
    if (event.ctrlKey || event.metaKey || event.altKey ||
        tag === "input" || tag === "textarea" || tag === "select") { return; }
    var key = event.key;
    if (key === "?") {
      var help = document.getElementById("help");
      help.hidden = !help.hidden;
      return;
    }
    if (key === "g") { window.location.href = "/console/"; return; }
    if (key === "u") {
      var next = document.querySelector("figure.evidence.filtered");
      if (next) { unblur(next); }
      return;
    }
    var bound = document.querySelector('[data-key="' + key + '"]');
    if (!bound) { return; }
    event.preventDefault();
    if (bound.tagName === "A") { window.location.href = bound.getAttribute("href"); }
    else if (bound.tagName === "BUTTON") { bound.click(); }
    else { bound.focus(); }
  });
}());
