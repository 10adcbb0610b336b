/**
 * The status page's script and style sheet, served from netmgrd itself (/page.js, /page.css): no CDN, no build
 * chain, and a Content-Security-Policy of 'self' holds (no inline script or style).
 */

/** How often the page asks for a fresh panel. */
export const PAGE_UPDATE_MS = 2000;

/**
 * Polls /panel and swaps it in: the server renders the HTML (one renderer for the first load and every update).
 * body[data-updates-started] and body[data-updates] count updates begun and done, so a test can tell when an
 * update that began after a change has completed. On a failed poll the page is marked stale and keeps trying.
 */
export const PAGE_JS = `'use strict';
(function () {
  var panel = document.getElementById('panel');
  var body = document.body;
  var started = 0;
  var done = 0;
  function finish(ok) {
    body.classList.toggle('stale', !ok);
    done += 1;
    body.dataset.updates = String(done);
    setTimeout(update, ${PAGE_UPDATE_MS});
  }
  function update() {
    started += 1;
    body.dataset.updatesStarted = String(started);
    fetch('/panel', { cache: 'no-store' })
      .then(function (r) {
        if (!r.ok) throw new Error(String(r.status));
        return r.text();
      })
      .then(function (html) {
        panel.innerHTML = html;
        finish(true);
      })
      .catch(function () {
        finish(false);
      });
  }
  body.dataset.updates = '0';
  setTimeout(update, ${PAGE_UPDATE_MS});
})();
`;

export const PAGE_CSS = `body { font: 14px/1.4 system-ui, sans-serif; margin: 1em 2em; color: #222; }
h1 { font-size: 1.3em; margin: 0 0 0.3em; }
h2 { font-size: 1.1em; margin: 1.2em 0 0.4em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.3em 0; }
th, td { padding: 0.15em 0.6em; text-align: right; border-bottom: 1px solid #eee; }
th:first-child, td:first-child, td.text, th.text { text-align: left; }
.meta { color: #555; }
.ok { color: #176f2c; }
.bad, tr.link-down td.link { color: #b00020; font-weight: bold; }
tr.link-down { background: #fde8ea; }
tr.held td.loop { color: #b35c00; font-weight: bold; }
.topology svg { max-width: 100%; height: auto; }
body.stale .updated::after { content: ' (not updating: netmgrd does not answer)'; color: #b00020; }
ul.diff { margin: 0.2em 0; }
`;
