// The events view: filters, counts per state, newest-first pages with a cursor, bulk requeue of
// the dead events the filter covers, and new events appearing by polling the first page (a
// conditional GET: an unchanged page costs a 304). A source with routes lists one row per route's
// delivery (`app › billing`), each linking to the event with all its routes.
'use strict';
(function () {
  const HB = (window.HB = window.HB || {});
  const el = (...a) => HB.el(...a);
  const STATES = ['queued', 'processing', 'succeeded', 'dead', 'skipped'];
  const FILTERS = ['source', 'route', 'state', 'type', 'since', 'until', 'id'];
  const PAGE = 50;

  // One row per record: a route's deliveries of one event share source and id, not location.
  const key = (item) => item.location || `${item.source}/${item.eventId}`;

  // The source names and route names among the summary's streams, for the filters.
  function choices(streams) {
    const sources = new Set();
    const routes = new Set();
    for (const [source, route] of streams.map(HB.splitStream)) {
      sources.add(source);
      if (route) routes.add(route);
    }
    return { sources: [...sources], routes: [...routes].sort() };
  }

  function filterForm(filter, { sources, routes }) {
    const select = (name, label, options) => el('div', { class: 'field' },
      el('label', { for: `f-${name}`, text: label }),
      el('select', { id: `f-${name}`, name },
        el('option', { value: '', text: 'any' }),
        options.map((o) => el('option', { value: o, text: o, selected: filter[name] === o }))));
    const input = (name, label, type, value, extra) => el('div', { class: 'field' },
      el('label', { for: `f-${name}`, text: label }),
      el('input', Object.assign({ id: `f-${name}`, name, type, value: value || '' }, extra || {})));
    const form = el('form', { class: 'filters', role: 'search', 'aria-label': 'Filter events' },
      select('source', 'Source', sources),
      routes.length > 0 || filter.route ? select('route', 'Route', routes) : null,
      select('state', 'State', STATES),
      input('type', 'Event type', 'text', filter.type, { placeholder: 'invoice.* or invoice.paid' }),
      input('since', 'Received from', 'datetime-local', HB.toLocalInput(filter.since)),
      input('until', 'Received before', 'datetime-local', HB.toLocalInput(filter.until)),
      input('id', 'Event id', 'search', filter.id, { placeholder: 'exact id' }),
      el('div', { class: 'field buttons' },
        el('button', { type: 'submit', text: 'Apply' }),
        el('a', { href: '#/events', class: 'button secondary', text: 'Reset' })));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const data = new FormData(form);
      const next = {};
      for (const name of FILTERS) next[name] = (data.get(name) || '').trim();
      next.since = HB.fromLocalInput(next.since);
      next.until = HB.fromLocalInput(next.until);
      window.location.hash = `#/events${HB.query(next)}`;
    });
    return form;
  }

  function row(item) {
    const href = `#/event/${encodeURIComponent(item.source)}/${encodeURIComponent(item.eventId)}`;
    return el('tr', { 'data-key': key(item) },
      el('td', { text: HB.time(item.receivedAt) }),
      el('td', { text: HB.streamLabel(item.source, item.route) }),
      el('td', {}, el('a', { href, class: 'event-link', text: item.eventId })),
      el('td', { text: item.eventType || '—' }),
      el('td', {}, HB.stateBadge(item)),
      el('td', { class: 'num', text: item.attemptCount }),
      el('td', { class: 'error-cell', text: item.lastError || '' }));
  }

  HB.eventsView = function (view, filter) {
    const scope = {
      source: filter.source, route: filter.route, type: filter.type, since: filter.since, until: filter.until,
    };
    const listQuery = Object.assign({}, scope, { state: filter.state, id: filter.id, limit: PAGE });
    const counts = el('ul', { class: 'counts', 'aria-label': 'Events per state' });
    const tbody = el('tbody', { id: 'events-body' });
    const more = el('button', { type: 'button', class: 'secondary', hidden: true, text: 'Load older events' });
    const status = el('p', { class: 'muted', id: 'events-status' });
    const bulk = el('button', { type: 'button', class: 'danger', id: 'bulk-requeue', hidden: true });
    const formSlot = el('div', {});
    view.append(
      el('h1', { text: 'Events' }), formSlot, counts,
      el('div', { class: 'toolbar' }, bulk),
      el('div', { class: 'table-wrap' }, el('table', { class: 'events' },
        el('caption', { class: 'visually-hidden', text: 'Events, newest first' }),
        el('thead', {}, el('tr', {}, ['Received', 'Source', 'Event id', 'Type', 'State', 'Attempts', 'Last error']
          .map((h) => el('th', { scope: 'col', text: h })))),
        tbody)),
      status, more);

    HB.streams().then((streams) => formSlot.append(filterForm(filter, choices(streams))));
    let older = [];     // items of pages past the first, kept across polls
    let cursor = null;  // where "older" continues
    let first = [];
    let etag = null;
    let countsTag = null;

    function render() {
      const seen = new Set(first.map(key));
      const items = first.concat(older.filter((i) => !seen.has(key(i))));
      HB.clear(tbody).append(...items.map(row));
      status.textContent = items.length === 0 ? 'No events match.' : `${items.length} events shown.`;
      more.hidden = !cursor;
    }

    more.addEventListener('click', async () => {
      const page = await HB.get(`/admin/events${HB.query(Object.assign({}, listQuery, { cursor }))}`);
      older = older.concat(page.body.items);
      cursor = page.body.nextCursor || null;
      render();
    });

    function renderCounts(c) {
      HB.clear(counts).append(...STATES.concat(['discarded']).map((s) => {
        const target = s === 'discarded' ? 'dead' : s;
        return el('li', {}, el('a', { href: `#/events${HB.query(Object.assign({}, scope, { state: target }))}`,
          class: `count state-${s}` }, el('span', { class: 'count-n', text: c[s] || 0 }), ` ${s}`));
      }));
      const requeueable = c.dead - c.discarded;
      bulk.hidden = requeueable === 0 || !!filter.id;
      bulk.textContent = `Requeue ${requeueable} dead event${requeueable === 1 ? '' : 's'} matching this filter`;
    }

    bulk.addEventListener('click', async () => {
      const ok = await HB.confirm('Requeue every dead event that matches this filter? ' +
        'Each gets a fresh round of attempts.', 'Requeue dead events');
      if (!ok) return;
      let total = 0;
      let next = null;
      do {
        const done = await HB.call('POST', `/admin/requeue${HB.query(Object.assign({}, scope, { cursor: next }))}`);
        total += done.body.requeued;
        next = done.body.more ? done.body.nextCursor : null;
      } while (next);
      HB.announce(`${total} dead events requeued.`);
      etag = null; countsTag = null;
    });

    // Counts walk many records on the server: fetched when the first page changed, else
    // every 10th poll (30 s).
    let ticks = 0;
    return HB.every(3000, async () => {
      const page = await HB.get(`/admin/events${HB.query(listQuery)}`, { etag });
      const changed = page.status !== 304;
      if (changed) {
        etag = page.etag;
        const wasEmpty = first.length === 0 && older.length === 0;
        const fresh = new Set(page.body.items.map(key));
        // Events pushed off the first page by newer ones stay shown, above the older pages.
        older = first.filter((i) => !fresh.has(key(i))).concat(older);
        first = page.body.items;
        if (wasEmpty) cursor = page.body.nextCursor || null;
        render();
      }
      if (changed || countsTag === null || ticks % 10 === 0) {
        const c = await HB.get(`/admin/counts${HB.query(scope)}`, { etag: countsTag });
        if (c.status !== 304) { countsTag = c.etag; renderCounts(c.body.counts); }
      }
      ticks += 1;
    });
  };

  HB.parseFilter = function (search) {
    const params = new URLSearchParams(search);
    const filter = {};
    for (const name of FILTERS) filter[name] = params.get(name) || '';
    return filter;
  };
})();
