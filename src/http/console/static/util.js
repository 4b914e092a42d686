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

  // A local time, e.g. 2024-05-01 14:03:07.
  HB.time = function (ms) {
    if (ms === null || ms === undefined) return '—';
    const d = new Date(ms);
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
      `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  };

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

  // <input type=datetime-local> value <-> unix ms.
  HB.fromLocalInput = function (value) {
    if (!value) return '';
    const ms = new Date(value).getTime();
    return Number.isFinite(ms) ? String(ms) : '';
  };
  HB.toLocalInput = function (ms) {
    if (!ms) return '';
    const d = new Date(Number(ms));
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T` +
      `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  };

  HB.announce = function (message) {
    const region = document.getElementById('announce');
    region.textContent = '';
    window.setTimeout(() => { region.textContent = message; }, 50);
  };

  // A modal yes/no question; resolves true when confirmed.
  HB.confirm = function (question, confirmLabel) {
    const dialog = document.getElementById('confirm');
    document.getElementById('confirm-text').textContent = question;
    document.getElementById('confirm-ok').textContent = confirmLabel || 'Confirm';
    dialog.returnValue = 'cancel';
    return new Promise((resolve) => {
      dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
      dialog.showModal();
      document.getElementById('confirm-cancel').focus();
    });
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
})();
