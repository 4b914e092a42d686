// One event: its state and times, kept headers, payload (pretty or raw, with copy), attempts and
// requeues as one timeline, and the actions its state allows (requeue, discard). An event of a
// source with routes shows its overall state and each route (see routes.js); a route's delivery
// (`#/event/<source>:<route>/<id>`) shows like an event of its own.
'use strict';
(function () {
  const HB = (window.HB = window.HB || {});
  const el = (...a) => HB.el(...a);

  function timeline(event) {
    const entries = event.attempts.map((a) => ({ at: a.startedAt, attempt: a }))
      .concat(event.requeues.map((r) => ({ at: r.at, requeue: r })))
      .sort((x, y) => x.at - y.at);
    if (entries.length === 0 && event.state === 'skipped') {
      return el('p', { class: 'muted', text: 'Skipped: the route\'s filter did not match, so nothing was delivered.' });
    }
    if (entries.length === 0) return el('p', { class: 'muted', text: 'No attempts yet.' });
    return el('ol', { class: 'timeline', 'aria-label': 'Attempts and requeues, oldest first' },
      entries.map(({ attempt, requeue }) => {
        if (requeue) {
          return el('li', { class: 'requeue' },
            el('strong', { text: 'Requeued' }), ` at ${HB.time(requeue.at)} — was ${requeue.previousState}` +
            ` after ${requeue.previousAttempts} attempt${requeue.previousAttempts === 1 ? '' : 's'}`,
            requeue.previousError ? el('pre', { class: 'excerpt', text: requeue.previousError }) : null);
        }
        const code = attempt.status !== null && attempt.status !== undefined ? `HTTP ${attempt.status}`
          : attempt.exitCode !== null && attempt.exitCode !== undefined ? `exit ${attempt.exitCode}` : null;
        return el('li', { class: `attempt outcome-${attempt.outcome}` },
          el('strong', { text: `Attempt ${attempt.number}` }), ' ',
          el('span', { class: `badge outcome-${attempt.outcome}`, text: attempt.outcome }),
          ` started ${HB.time(attempt.startedAt)}, took ${HB.duration(attempt.durationMs)}`,
          code ? ` · ${code}` : '',
          attempt.error ? el('pre', { class: 'excerpt', text: attempt.error }) : null);
      }));
  }

  function facts(event) {
    const row = (label, value) => [el('dt', { text: label }), el('dd', {}, value)];
    const note = HB.holdNote(event);
    const hold = note ? row('Waiting', note) : null;
    if (event.routes) {
      return el('dl', { class: 'facts' },
        row('State', HB.stateBadge(event)), hold,
        row('Event type', event.eventType || '—'),
        row('Origin', HB.origin(event)),
        row('Received', HB.time(event.receivedAt)),
        row('Finished', HB.time(event.finishedAt)),
        row('Attempts (all routes)', String(event.attemptCount)));
    }
    return el('dl', { class: 'facts' },
      row('State', HB.stateBadge(event)), hold,
      row('Event type', event.eventType || '—'),
      row('Origin', HB.origin(event)),
      row('Received', HB.time(event.receivedAt)),
      row('Next attempt', HB.time(event.nextAttemptAt)),
      row('Finished', HB.time(event.finishedAt)),
      row('Attempts (this round)', String(event.attemptCount)),
      row('Last error', event.lastError || '—'));
  }

  function headersTable(headers) {
    if (headers.length === 0) return el('p', { class: 'muted', text: 'No headers kept.' });
    return el('div', { class: 'table-wrap' }, el('table', {},
      el('caption', { class: 'visually-hidden', text: 'Kept headers' }),
      el('thead', {}, el('tr', {}, el('th', { scope: 'col', text: 'Name' }), el('th', { scope: 'col', text: 'Value' }))),
      el('tbody', {}, headers.map((h) => el('tr', {}, el('td', { text: h.name }), el('td', { class: 'mono', text: h.value }))))));
  }

  async function payloadSection(source, id, event) {
    const section = el('section', { 'aria-labelledby': 'payload-title' }, el('h2', { id: 'payload-title', text: 'Payload' }));
    if (event.bodyPurged) {
      section.append(el('p', { class: 'muted', text: event.discarded ? 'Discarded: the body was deleted.' : 'Purged by retention.' }));
      return section;
    }
    let raw = '';
    try {
      raw = (await HB.get(`${HB.eventPath(source, id)}/payload`, { text: true })).body;
    } catch (e) {
      if (e instanceof HB.SignedOut) throw e;
      section.append(el('p', { class: 'error', text: `The payload could not be read: ${e.message}` }));
      return section;
    }
    let pretty = null;
    try { pretty = JSON.stringify(JSON.parse(raw), null, 2); } catch (_) { /* not JSON */ }
    const pre = el('pre', { class: 'payload', id: 'payload', tabindex: '0', text: pretty || raw });
    const prettyBtn = el('button', { type: 'button', class: 'secondary', 'aria-pressed': String(!!pretty), text: 'Pretty', disabled: !pretty });
    const rawBtn = el('button', { type: 'button', class: 'secondary', 'aria-pressed': String(!pretty), text: 'Raw' });
    const show = (asPretty) => {
      pre.textContent = asPretty ? pretty : raw;
      prettyBtn.setAttribute('aria-pressed', String(asPretty));
      rawBtn.setAttribute('aria-pressed', String(!asPretty));
    };
    prettyBtn.addEventListener('click', () => show(true));
    rawBtn.addEventListener('click', () => show(false));
    const copy = el('button', { type: 'button', class: 'secondary', text: 'Copy raw body' });
    copy.addEventListener('click', async () => {
      try { await navigator.clipboard.writeText(raw); HB.announce('Payload copied.'); } catch (_) {
        const range = document.createRange(); range.selectNodeContents(pre);
        const sel = window.getSelection(); sel.removeAllRanges(); sel.addRange(range);
        HB.announce('Copying is not allowed here: the payload is selected, press Ctrl+C.');
      }
    });
    section.append(el('div', { class: 'toolbar', role: 'group', 'aria-label': 'Payload view' }, prettyBtn, rawBtn, copy), pre);
    return section;
  }

  HB.eventView = function (view, source, id) {
    const path = HB.eventPath(source, id);
    const [base, route] = HB.splitStream(source);
    const heading = el('h1', {}, el('span', { class: 'muted', text: `${HB.streamLabel(base, route)} / ` }), id);
    const message = el('div', { class: 'notice', role: 'status', id: 'event-message' });
    const top = el('div', {});
    // Filled (heading included) by refresh(): a missing event shows no empty sections.
    const history = el('section', { 'aria-labelledby': 'history-title' });
    const payloadSlot = el('div', {});
    const back = el('p', {}, el('a', { href: '#/events', text: '← All events' }),
      route ? [' · ', el('a', { href: `#/event/${encodeURIComponent(base)}/${encodeURIComponent(id)}`, text: 'The event with all its routes' })] : null);
    view.append(back, heading, message, top, history, payloadSlot);
    let etag = null;
    let shownBody = null;

    // Asks what `prepare()` says the action touches, calls, then shows what the answer says
    // it took (`targets`) and reads the event again.
    async function act({ method, target, label, done, prepare }) {
      try {
        const { question, items } = await prepare();
        if (!(await HB.confirm(question, label, items))) return;
        const res = await HB.call(method, target);
        const targets = res.body && Array.isArray(res.body.targets) ? res.body.targets : null;
        if (targets) {
          HB.actionResults(message, `${done} Acted on:`, targets.map((t) => Object.assign({ outcome: 'requeued' }, t)));
        } else {
          message.textContent = done;
        }
        etag = null;
        await refresh();
      } catch (e) {
        if (!(e instanceof HB.SignedOut)) message.textContent = `Refused: ${e.message}`;
      }
    }

    async function refresh() {
      const res = await HB.get(path, { etag });
      if (res.status === 304) return;
      etag = res.etag;
      const event = res.body;
      const routes = event.routes || null;
      const body = routes ? HB.routedBody(event) : event;
      const actions = HB.eventActions({ event, path, source, id, act });
      const headers = el('section', { 'aria-labelledby': 'headers-title' },
        el('h2', { id: 'headers-title', text: 'Kept headers' }), headersTable(event.headers));
      HB.clear(top).append(facts(event), actions, ...(routes ? [HB.routesSection(event, act)] : []), headers);
      HB.clear(history).append(el('h2', { id: 'history-title', text: 'Attempts' }),
        ...(routes ? HB.routeTimelines(event, timeline).flat() : [timeline(event)]));
      const bodyKey = `${body.bodyPurged}`;
      if (shownBody !== bodyKey) {
        shownBody = bodyKey;
        HB.clear(payloadSlot).append(await payloadSection(source, id, body));
      }
    }

    return HB.every(2000, async () => {
      try { await refresh(); } catch (e) {
        if (e instanceof HB.SignedOut) throw e;
        if (e.status === 404) {
          // Gone since it was shown (purged, or a wrong link): nothing below still applies.
          HB.clear(top); HB.clear(history); HB.clear(payloadSlot);
          etag = null; shownBody = null;
          message.textContent = 'No such event.';
        } else {
          message.textContent = `Could not load the event: ${e.message}`;
        }
      }
    });
  };
})();
