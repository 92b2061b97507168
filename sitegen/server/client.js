/* sitegen live preview: reloads a page when its output changes, swaps stylesheets
   in place, and shows build errors as an overlay. Injected only into served HTML.

   One event stream per browser: this same file runs as a SharedWorker that holds
   the EventSource and relays events to every tab (browsers allow only six HTTP/1.1
   connections per host, so one stream per tab would stall the seventh tab). Where
   SharedWorker is missing, the tab opens its own EventSource. */
(function () {
  'use strict';
  var EVENTS = '/__sitegen/events';
  var OVERLAY = '__sitegen_overlay';

  if (typeof document === 'undefined') { relay(); return; }

  var me = document.currentScript || document.querySelector('script[data-sitegen-epoch]');
  if (!me || window.__sitegenLive) return;
  window.__sitegenLive = true;
  var epoch = me.getAttribute('data-sitegen-epoch');
  var notFound = me.getAttribute('data-sitegen-status') === '404';

  function handle(d) {
    if (d.type === 'nostream') return direct();
    if (d.type === 'hello') {
      if (d.epoch !== epoch) return location.reload();  // changed while we were away
      return d.problems && d.problems.length ? show(d.problems) : hide();
    }
    if (d.type === 'error') return show(d.problems || []);
    hide();
    if (d.type === 'reload' && affects(d.paths)) return location.reload();
    epoch = d.epoch;
    if (d.type === 'css') swapStyles();
  }

  /* ---- which pages reload: this page, or a page that loaded a changed file ---- */
  function norm(path) {
    try { path = decodeURIComponent(path); } catch (e) { /* keep it as it is */ }
    return path.replace(/index\.html$/, '').replace(/\.html?$/, '');
  }
  function pathOf(url) {
    try {
      var u = new URL(url, location.href);
      return u.origin === location.origin ? norm(u.pathname) : null;
    } catch (e) { return null; }
  }
  function affects(paths) {
    if (!paths || notFound) return true;
    var mine = {};
    mine[norm(location.pathname)] = 1;
    var urls = [];
    if (window.performance && performance.getEntriesByType) {
      performance.getEntriesByType('resource').forEach(function (r) { urls.push(r.name); });
    }
    // Files this page uses (not links it merely names, like rel=alternate feeds).
    var used = 'img, script[src], source, video, audio, iframe, link[rel~="stylesheet"], ' +
      'link[rel~="icon"], link[rel~="preload"], link[rel~="modulepreload"], link[rel="manifest"]';
    document.querySelectorAll(used).forEach(function (el) {
      urls.push(el.currentSrc || el.src || el.href || '');
    });
    urls.forEach(function (u) { var p = pathOf(u); if (p !== null) mine[p] = 1; });
    return paths.some(function (p) { return mine[norm(p)] === 1; });
  }

  /* ---- stylesheets: take the new <link> hrefs from the fresh page, swap without reload ---- */
  function styleKey(href) {
    var u = new URL(href, location.href);
    return u.origin + u.pathname.replace(/\.[0-9a-f]{10}(\.css)$/i, '$1');
  }
  function swapStyles() {
    fetch(location.href, { cache: 'no-store' }).then(function (r) { return r.text(); })
      .then(function (text) {
        var fresh = new DOMParser().parseFromString(text, 'text/html');
        var next = {};
        fresh.querySelectorAll('link[rel~="stylesheet"][href]').forEach(function (l) {
          var href = new URL(l.getAttribute('href'), location.href).href;
          next[styleKey(href)] = href;
        });
        var matched = 0;
        document.querySelectorAll('link[rel~="stylesheet"][href]').forEach(function (link) {
          var href = next[styleKey(link.href)];
          if (!href) return;
          matched += 1;
          if (new URL(href).pathname === new URL(link.href).pathname) {
            href += (href.indexOf('?') < 0 ? '?' : '&') + '__sitegen=' + Date.now();
          }
          var copy = link.cloneNode();
          copy.href = href;
          copy.onload = copy.onerror = function () { link.remove(); };  // no flash of unstyled page
          link.after(copy);
        });
        if (matched !== Object.keys(next).length) location.reload();  // sheets added or removed
      })
      .catch(function () { location.reload(); });
  }

  /* ---- the error overlay (the server also puts it into pages served during the error) ---- */
  var STYLE = 'position:fixed;inset:0;z-index:2147483647;overflow:auto;margin:0;padding:2rem;' +
    'background:rgba(24,24,27,.94);color:#fafafa;font:14px/1.5 ui-monospace,Menlo,Consolas,monospace;' +
    'text-align:left';
  function show(problems) {
    var el = document.getElementById(OVERLAY);
    if (!el) {
      el = document.createElement('div');
      el.id = OVERLAY;
      el.setAttribute('role', 'alert');
      document.body.appendChild(el);
    }
    el.style.cssText = STYLE;
    el.textContent = '';
    var title = document.createElement('strong');
    title.textContent = 'sitegen: the last rebuild failed';
    var pre = document.createElement('pre');
    pre.style.cssText = 'white-space:pre-wrap;color:#fca5a5;background:#27272a;border:0;' +
      'border-radius:6px;padding:1rem;margin:1rem 0;font:inherit;overflow:auto';
    pre.textContent = problems.join('\n');
    var note = document.createElement('div');
    note.textContent = 'The page shows the last good build. Fix the file and save; ' +
      'this message goes away by itself. (Click to hide.)';
    el.append(title, pre, note);
    el.onclick = hide;
  }
  function hide() {
    var el = document.getElementById(OVERLAY);
    if (el) el.remove();
  }

  /* ---- connecting ---- */
  var source = null;
  function direct() {
    if (source) return;
    source = new EventSource(EVENTS);
    source.onmessage = function (m) { handle(JSON.parse(m.data)); };
    source.onerror = function () {
      if (source.readyState === 2) {  // refused for good (e.g. server gone mid-handshake): retry
        source = null;
        setTimeout(direct, 1000);
      }
    };
  }
  function connect() {
    if (!window.SharedWorker) return direct();
    try {
      var worker = new SharedWorker(me.src.split('?')[0] + '?worker', { name: 'sitegen-live' });
      worker.onerror = direct;
      worker.port.onmessage = function (m) { handle(m.data); };
      worker.port.start();
      addEventListener('pagehide', function () { worker.port.postMessage('bye'); });
    } catch (e) {
      direct();
    }
  }
  var el = document.getElementById(OVERLAY);
  if (el) el.onclick = hide;
  addEventListener('pageshow', function (e) { if (e.persisted) location.reload(); });
  connect();

  /* ---- the shared worker: one EventSource, relayed to every tab ---- */
  function relay() {
    var ports = [];
    var state = null;  // the server's last known epoch and error, for tabs that join later
    function open() {
      var es = new EventSource(EVENTS);
      es.onmessage = function (m) {
        var d = JSON.parse(m.data);
        var problems = (d.type === 'error' || d.type === 'hello') ? (d.problems || []) : [];
        state = { type: 'hello', epoch: d.epoch, problems: problems };
        ports.forEach(function (p) { p.postMessage(d); });
      };
      es.onerror = function () {
        state = null;  // unknown until the server says hello again
        if (es.readyState === 2) setTimeout(open, 1000);
      };
    }
    self.onconnect = function (e) {
      var port = e.ports[0];
      ports.push(port);
      port.onmessage = function (m) {
        if (m.data === 'bye') ports = ports.filter(function (p) { return p !== port; });
      };
      if (typeof EventSource === 'undefined') port.postMessage({ type: 'nostream' });
      else if (state) port.postMessage(state);
    };
    if (typeof EventSource !== 'undefined') open();
  }
})();
