/* sitegen default theme: light/dark toggle that remembers, and the table of contents. */
(function () {
  "use strict";
  var root = document.documentElement;
  var prefersDark = window.matchMedia("(prefers-color-scheme: dark)");

  function isDark() {
    var chosen = root.getAttribute("data-theme");
    return chosen ? chosen === "dark" : prefersDark.matches;
  }

  function store(value) {
    try {
      if (value) localStorage.setItem("theme", value); else localStorage.removeItem("theme");
    } catch (e) { /* private mode: the choice lasts for this page only */ }
  }

  function sync(button) {
    button.setAttribute("aria-pressed", isDark() ? "true" : "false");
  }

  var button = document.querySelector(".theme-toggle");
  if (button) {
    sync(button);
    button.addEventListener("click", function () {
      var next = isDark() ? "light" : "dark";
      root.setAttribute("data-theme", next);
      // A choice equal to the OS preference is forgotten, so the page follows the OS again.
      store(next === (prefersDark.matches ? "dark" : "light") ? "" : next);
      sync(button);
    });
    prefersDark.addEventListener("change", function () { sync(button); });
  }

  // On wide screens the table of contents is a sidebar, so it starts open.
  var toc = document.getElementById("toc");
  if (toc && window.matchMedia("(min-width: 80rem)").matches) toc.open = true;
  if (toc && "IntersectionObserver" in window) {
    var links = {};
    toc.querySelectorAll("a[href^='#']").forEach(function (a) {
      links[decodeURIComponent(a.getAttribute("href").slice(1))] = a;
    });
    var current = null;
    var observer = new IntersectionObserver(function (entries) {
      entries.forEach(function (entry) {
        if (!entry.isIntersecting) return;
        if (current) current.classList.remove("active");
        current = links[entry.target.id];
        if (current) current.classList.add("active");
      });
    }, { rootMargin: "0px 0px -70% 0px" });
    Object.keys(links).forEach(function (id) {
      var heading = document.getElementById(id);
      if (heading) observer.observe(heading);
    });
  }
})();
