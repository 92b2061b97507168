/* Client-side search over search.json. Substring matching, so Chinese queries work
   without word splitting; every space-separated word must occur somewhere in a post. */
(function () {
  "use strict";
  var box = document.getElementById("search");
  if (!box) return;
  var input = document.getElementById("search-input");
  var form = box.querySelector("form");
  var status = document.getElementById("search-status");
  var list = document.getElementById("search-results");
  var PAGE = 20;
  var posts = null, hits = [], shown = 0, timer = 0, moreButton = null;

  function norm(s) { return String(s || "").normalize("NFKC").toLowerCase(); }
  function words(q) { return norm(q).split(/\s+/).filter(Boolean); }

  function prepare(items) {
    return items.map(function (p, i) {
      var cats = (p.categories || []).join(" "), tags = (p.tags || []).join(" ");
      return { p: p, order: i, title: norm(p.title), meta: norm(cats + " " + tags),
               author: norm(p.author), text: norm(p.excerpt) };
    });
  }

  function score(item, terms) {
    var total = 0;
    for (var i = 0; i < terms.length; i++) {
      var w = terms[i], s = 0;
      if (item.title.indexOf(w) >= 0) s += 10;
      if (item.meta.indexOf(w) >= 0) s += 5;
      if (item.author.indexOf(w) >= 0) s += 3;
      if (item.text.indexOf(w) >= 0) s += 1;
      if (!s) return 0;
      total += s;
    }
    return total;
  }

  // Text with every occurrence of the query words wrapped in <mark>, built as DOM nodes.
  function marked(text, terms) {
    var frag = document.createDocumentFragment();
    text = String(text || "");
    var lower = text.toLowerCase(), pos = 0;
    while (pos < text.length) {
      var best = -1, len = 0;
      terms.forEach(function (w) {
        var at = lower.indexOf(w, pos);
        if (at >= 0 && (best < 0 || at < best || (at === best && w.length > len))) { best = at; len = w.length; }
      });
      if (best < 0) break;
      if (best > pos) frag.appendChild(document.createTextNode(text.slice(pos, best)));
      var m = document.createElement("mark");
      m.textContent = text.slice(best, best + len);
      frag.appendChild(m);
      pos = best + len;
    }
    frag.appendChild(document.createTextNode(text.slice(pos)));
    return frag;
  }

  function entry(item, terms) {
    var p = item.p, li = document.createElement("li");
    var h = document.createElement("h2"), a = document.createElement("a");
    a.href = p.url;
    a.appendChild(marked(p.title || p.url, terms));
    h.appendChild(a);
    li.appendChild(h);
    var meta = document.createElement("p");
    meta.className = "meta";
    [String(p.date || "").slice(0, 10), p.author].concat(p.categories || []).forEach(function (s) {
      if (!s) return;
      var span = document.createElement("span");
      span.appendChild(marked(s, terms));
      meta.appendChild(span);
    });
    li.appendChild(meta);
    if (p.excerpt) {
      var ex = document.createElement("p");
      ex.appendChild(marked(p.excerpt, terms));
      li.appendChild(ex);
    }
    return li;
  }

  function showMore(terms) {
    var end = Math.min(hits.length, shown + PAGE);
    for (; shown < end; shown++) list.appendChild(entry(hits[shown], terms));
    if (moreButton) moreButton.hidden = shown >= hits.length;
  }

  function run() {
    var q = input.value.trim(), terms = words(q);
    var url = new URL(location.href);
    if (q) url.searchParams.set("q", q); else url.searchParams.delete("q");
    history.replaceState(null, "", url);
    list.textContent = "";
    shown = 0;
    if (moreButton) moreButton.hidden = true;
    if (!terms.length) { status.textContent = ""; return; }
    if (!posts) { status.textContent = box.dataset.loading; return; }
    hits = posts.map(function (item) { return { item: item, s: score(item, terms) }; })
      .filter(function (h) { return h.s > 0; })
      .sort(function (a, b) { return b.s - a.s || a.item.order - b.item.order; })
      .map(function (h) { return h.item; });
    status.textContent = hits.length ? box.dataset.found.replace("{0}", hits.length) : box.dataset.none;
    var lowered = terms.map(function (w) { return w.toLowerCase(); });
    if (!moreButton) {
      moreButton = document.createElement("button");
      moreButton.type = "button";
      moreButton.className = "search-more";
      moreButton.textContent = box.dataset.more;
      list.parentNode.appendChild(moreButton);
    }
    moreButton.onclick = function () { showMore(lowered); };
    showMore(lowered);
  }

  form.addEventListener("submit", function (e) { e.preventDefault(); run(); });
  input.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(run, 150); });

  var initial = new URLSearchParams(location.search).get("q");
  if (initial) input.value = initial;
  if (input.value.trim()) run();
  fetch(box.dataset.index)
    .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
    .then(function (items) { posts = prepare(items); if (input.value.trim()) run(); })
    .catch(function () { status.textContent = box.dataset.error; });
})();
