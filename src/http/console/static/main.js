// The console's shell: sign-in and sign-out, and which view the location's fragment names
// (#/events?filters, #/event/<source>/<id>, #/overview, #/destinations, #/audit), and the zone
// times are shown in (UTC, or local time with its offset; remembered in local storage). The token lives in session storage
// only; it is never put in a URL, a cookie or a log.
'use strict';
(function () {
  const HB = (window.HB = window.HB || {});
  let stopView = null;
  let streamsPromise = null;

  const signin = () => document.getElementById('signin');
  const app = () => document.getElementById('app');

  // Stream names for the filters: those the summary lists (every configured source, and
  // `source:route` for each route of a source with routes).
  HB.streams = function () {
    if (!streamsPromise) {
      streamsPromise = HB.get('/admin/summary')
        .then((res) => res.body.sources.map((s) => s.source))
        .catch(() => { streamsPromise = null; return []; });
    }
    return streamsPromise;
  };

  function stop() {
    if (stopView) stopView();
    stopView = null;
  }

  HB.signedOut = function (message) {
    stop();
    HB.token.clear();
    streamsPromise = null;
    app().hidden = true;
    signin().hidden = false;
    document.getElementById('signin-error').textContent = message || '';
    document.getElementById('token').focus();
  };

  function route() {
    stop();
    if (!HB.token.get()) { HB.signedOut(''); return; }
    signin().hidden = true;
    app().hidden = false;
    const view = HB.clear(document.getElementById('view'));
    const hash = window.location.hash || '#/events';
    const [path, search] = hash.slice(1).split('?');
    const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
    const nav = (name, title) => {
      document.getElementById(`nav-${name}`).setAttribute('aria-current', 'page');
      document.title = `${title} — hookbox console`;
    };
    for (const a of document.querySelectorAll('.top nav a')) a.removeAttribute('aria-current');
    zoneButton();
    if (parts[0] === 'event' && parts.length === 3) {
      document.title = `${parts[1]}/${parts[2]} — hookbox console`;
      stopView = HB.eventView(view, parts[1], parts[2]);
    } else if (parts[0] === 'overview') {
      nav('overview', 'Overview');
      stopView = HB.overviewView(view);
    } else if (parts[0] === 'destinations') {
      nav('destinations', 'Destinations');
      stopView = HB.destinationsView(view);
    } else if (parts[0] === 'audit') {
      nav('audit', 'Audit');
      stopView = HB.auditView(view, search || '');
    } else {
      nav('events', 'Events');
      stopView = HB.eventsView(view, HB.parseFilter(search || ''));
    }
    view.focus();
  }

  // The toggle names the zone shown now; pressing it switches and draws the view again.
  function zoneButton() {
    const button = document.getElementById('zone');
    const local = HB.zone.get() === 'local';
    button.textContent = local ? `Times: local (${HB.offset()})` : 'Times: UTC';
    button.setAttribute('aria-pressed', String(local));
    button.title = local ? 'Show times in UTC' : 'Show times in this browser\'s local time';
  }

  async function submitSignin(e) {
    e.preventDefault();
    const input = document.getElementById('token');
    const error = document.getElementById('signin-error');
    const token = input.value.trim();
    error.textContent = '';
    try {
      await HB.get('/admin/counts', { token });
    } catch (err) {
      error.textContent = err instanceof HB.SignedOut
        ? 'That token was refused. Check it and try again.'
        : `hookbox could not be reached: ${err.message}`;
      input.select();
      return;
    }
    HB.token.set(token);
    input.value = '';
    route();
  }

  document.addEventListener('DOMContentLoaded', () => {
    document.getElementById('signin-form').addEventListener('submit', submitSignin);
    document.getElementById('signout').addEventListener('click', () => {
      HB.signedOut('Signed out.');
      window.history.replaceState(null, '', '/console');
    });
    document.getElementById('zone').addEventListener('click', () => {
      HB.zone.set(HB.zone.get() === 'local' ? 'utc' : 'local');
      route();
    });
    window.addEventListener('hashchange', route);
    route();
  });
})();
