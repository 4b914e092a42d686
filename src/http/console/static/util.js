// Small DOM and formatting helpers shared by the console's views.
'use strict';
(function () {
  const HB = (window.HB = window.HB || {});

  // el('a', {href: '#', class: 'x', text: 'hi', onclick: f}, child, ...)
  HB.el = function (tag, attrs, ...children) {
    const svg = ['svg', 'rect', 'g', 'title', 'line'].includes(tag);
    const node = svg
      ? document.createElementNS('http://www.w3.org/2000/svg', tag)
      : document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === 'text') node.textContent = String(value);
      else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? '' : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  };

  HB.clear = function (node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  };

  const pad = (n) => String(n).padStart(2, '0');
  const ZONE_KEY = 'hookbox.timeZone';

  // The zone times are shown in: 'utc' (the default, as the CLI and logs print) or 'local'.
  HB.zone = {
    get: () => (window.localStorage.getItem(ZONE_KEY) === 'local' ? 'local' : 'utc'),
    set: (zone) => window.localStorage.setItem(ZONE_KEY, zone === 'local' ? 'local' : 'utc'),
  };

  // The browser's offset from UTC at `d`, e.g. +01:00 (it changes with daylight saving).
  HB.offset = function (d) {
    const minutes = -(d || new Date()).getTimezoneOffset();
    const abs = Math.abs(minutes);
    return `${minutes < 0 ? '-' : '+'}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
  };

  // The fields of `d` in the chosen zone.
  function parts(d) {
    return HB.zone.get() === 'local'
      ? [d.getFullYear(), d.getMonth() + 1, d.getDate(), d.getHours(), d.getMinutes(), d.getSeconds()]
      : [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()];
  }

  // A time with its zone, e.g. 2026-12-08 01:02:03 UTC or 2026-12-08 02:02:03 +01:00.
  HB.time = function (ms) {
    if (ms === null || ms === undefined) return '—';
    const d = new Date(ms);
    const [y, mo, day, h, mi, s] = parts(d);
    const zone = HB.zone.get() === 'local' ? HB.offset(d) : 'UTC';
    return `${y}-${pad(mo)}-${pad(day)} ${pad(h)}:${pad(mi)}:${pad(s)} ${zone}`;
  };

  // How an event reached hookbox: a webhook, or the provider's API (reconciliation).
  HB.origin = function (event) {
    if (event.origin !== 'reconciled') return 'webhook';
    return event.reconciledFrom ? `reconciled (${event.reconciledFrom})` : 'reconciled';
  };

  // What the zone toggle and the filters' labels say the zone is.
  HB.zoneName = () => (HB.zone.get() === 'local' ? `local time (${HB.offset()})` : 'UTC');

  HB.duration = function (ms) {
    if (ms === null || ms === undefined) return '—';
    if (ms < 1000) return `${ms} ms`;
    if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
    if (ms < 3600000) return `${Math.round(ms / 60000)} min`;
    return `${(ms / 3600000).toFixed(1)} h`;
  };

  HB.ago = function (ms, now) {
    if (ms === null || ms === undefined) return 'never';
    return `${HB.duration(Math.max(0, (now || Date.now()) - ms))} ago`;
  };

  // <input type=datetime-local> value (in the chosen zone) <-> unix ms.
  HB.fromLocalInput = function (value) {
    if (!value) return '';
    const local = HB.zone.get() === 'local';
    const ms = local ? new Date(value).getTime() : Date.parse(`${value}Z`);
    return Number.isFinite(ms) ? String(ms) : '';
  };
  HB.toLocalInput = function (ms) {
    if (!ms) return '';
    const [y, mo, day, h, mi] = parts(new Date(Number(ms)));
    return `${y}-${pad(mo)}-${pad(day)}T${pad(h)}:${pad(mi)}`;
  };

  HB.announce = function (message) {
    const region = document.getElementById('announce');
    region.textContent = '';
    window.setTimeout(() => { region.textContent = message; }, 50);
  };

  // A modal yes/no question; resolves true when confirmed. `items` (optional) name what the
  // action touches, the first few of them.
  HB.confirm = function (question, confirmLabel, items) {
    const dialog = document.getElementById('confirm');
    document.getElementById('confirm-text').textContent = question;
    HB.clear(document.getElementById('confirm-list')).append(...HB.firstFew(items || []));
    document.getElementById('confirm-ok').textContent = confirmLabel || 'Confirm';
    dialog.returnValue = 'cancel';
    return new Promise((resolve) => {
      dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
      dialog.showModal();
      document.getElementById('confirm-cancel').focus();
    });
  };

  // List items for the first `n` of `names` and how many more there are.
  HB.firstFew = function (names, n) {
    const max = n || 10;
    const shown = names.slice(0, max).map((name) => HB.el('li', {}, name));
    if (names.length > max) shown.push(HB.el('li', { class: 'muted', text: `… and ${names.length - max} more` }));
    return shown;
  };

  // The console's link for a status `location` (`/events/<stream>/<id>`, or `?id=` for a dot id).
  HB.eventHref = function (location) {
    const m = /^\/events\/([^/?]+)(?:\/(.+)|\?id=(.+))$/.exec(location || '');
    return m ? `#/event/${m[1]}/${m[2] || m[3]}` : '#/events';
  };

  // Runs `tick` now and every `ms` until the returned function is called.
  HB.every = function (ms, tick) {
    let stopped = false;
    let timer = null;
    const loop = async () => {
      if (stopped) return;
      try { await tick(); } catch (e) { if (!(e instanceof HB.SignedOut)) console.warn(e); }
      if (!stopped) timer = window.setTimeout(loop, ms);
    };
    loop();
    return () => { stopped = true; window.clearTimeout(timer); };
  };

  // `app:billing` -> ['app', 'billing']; a source's own stream has no route (null).
  HB.splitStream = function (stream) {
    const at = stream.indexOf(':');
    return at < 0 ? [stream, null] : [stream.slice(0, at), stream.slice(at + 1)];
  };

  // How a record's source and route read: `app › billing`, or just `stripe`.
  HB.streamLabel = (source, route) => (route ? `${source} › ${route}` : source);

  HB.stateBadge = function (item) {
    const state = item.discarded ? 'discarded' : item.state;
    return HB.el('span', { class: `badge state-${state}`, text: state });
  };

  // A last error cut to one line, in full on hover (title) and when clicked (expand/collapse).
  // `open` and `toggled(open)` let a list keep it expanded across re-renders.
  HB.errorText = function (text, open, toggled) {
    return HB.el('button', {
      type: 'button', class: 'error-text', title: text, text, 'aria-expanded': String(!!open),
      onclick: (e) => {
        const now = e.currentTarget.getAttribute('aria-expanded') !== 'true';
        e.currentTarget.setAttribute('aria-expanded', String(now));
        if (toggled) toggled(now);
      },
    });
  };

  // What holds a record back (its status' `hold`, or else its older `waitingFor`), with a link
  // to its ordering key's head; null when nothing holds it.
  HB.holdNote = function (record) {
    const w = record.waitingFor;
    const hold = record.hold || (w && w.eventId ? {
      head: w, text: `waiting behind ${w.eventId} (${w.state}), the head of ordering key ${record.orderingKey || '—'}`,
    } : null);
    if (!hold || !hold.text) return null;
    const head = hold.head && hold.head.location
      ? [' ', HB.el('a', { href: HB.eventHref(hold.head.location), class: 'hold-head', text: `open ${hold.head.eventId || 'the head'}` })]
      : null;
    // The server words its times in UTC; in local time the probe's time is added in that zone.
    const local = HB.zone.get() === 'local' && hold.nextProbeAt ? ` (${HB.time(hold.nextProbeAt)})` : '';
    return HB.el('span', { class: 'hold' }, HB.el('span', { class: 'hold-text', text: hold.text + local }), head);
  };
})();
