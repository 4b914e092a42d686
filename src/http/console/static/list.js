// The events view: filters, counts per state, newest-first pages with a cursor, selection and
// bulk actions (bulk.js). Every poll reads every shown row again from the top (conditional GETs:
// an unchanged page costs a 304), so a row shows the store's current state and a row that left
// the filter goes; "Load older events" widens what is shown. A source with routes lists one row
// per route's delivery (`app › billing`), each linking to the event with all its routes.
'use strict';
(function () {
  const HB = (window.HB = window.HB || {});
  const el = (...a) => HB.el(...a);
  const STATES = ['queued', 'processing', 'succeeded', 'dead', 'skipped'];
  const FILTERS = ['source', 'route', 'state', 'type', 'since', 'until', 'id', 'where', 'contains'];
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
      input('since', `Received from (${HB.zoneName()})`, 'datetime-local', HB.toLocalInput(filter.since)),
      input('until', `Received before (${HB.zoneName()})`, 'datetime-local', HB.toLocalInput(filter.until)),
      input('id', 'Event id', 'search', filter.id, { placeholder: 'exact id' }),
      input('where', 'Body field equals', 'search', filter.where, { placeholder: '/data/object/customer=cus_Z' }),
      input('contains', 'Body contains', 'search', filter.contains, { placeholder: 'any text' }),
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

  // `invoice.payment_succeeded` with a line break allowed after each dot.
  const breakable = (text) => text.split('.').flatMap((part, i) => (i === 0 ? [part] : ['.', el('wbr', {}), part]));

  // One row; `view` holds the selection and the expanded errors, which outlive a re-render.
  function row(item, view) {
    const k = key(item);
    const href = `#/event/${encodeURIComponent(item.source)}/${encodeURIComponent(item.eventId)}`;
    const error = item.lastError
      ? HB.errorText(item.lastError, view.expanded.has(k), (open) => (open ? view.expanded.add(k) : view.expanded.delete(k)))
      : null;
    return el('tr', { 'data-key': k },
      el('td', { class: 'pick' }, el('input', {
        type: 'checkbox', class: 'select-row', 'aria-label': `Select ${HB.streamLabel(item.source, item.route)} ${item.eventId}`,
        checked: view.selected.has(k), onchange: (e) => view.select(k, e.currentTarget.checked),
      })),
      el('td', { class: 'when', text: HB.time(item.receivedAt) }),
      el('td', { class: 'state' }, HB.stateBadge(item), HB.holdNote(item)),
      el('td', { class: 'stream', text: HB.streamLabel(item.source, item.route) }),
      el('td', { class: 'id' }, el('a', { href, class: 'event-link', text: item.eventId })),
      el('td', { class: 'type' }, breakable(item.eventType || '—'),
        item.origin === 'reconciled' ? el('span', { class: 'origin', title: `fetched from the provider's API (${item.reconciledFrom || ''})`, text: ' · reconciled' }) : null),
      el('td', { class: 'num attempts', 'data-unit': item.attemptCount === 1 ? 'attempt' : 'attempts', text: item.attemptCount }),
      el('td', { class: 'error-cell' }, error));
  }

  HB.eventsView = function (view, filter) {
    const scope = {
      source: filter.source, route: filter.route, type: filter.type, since: filter.since, until: filter.until,
    };
    const listQuery = Object.assign({}, scope, {
      state: filter.state, id: filter.id, where: filter.where, contains: filter.contains,
    });
    // A body search scans a bounded stretch of the store per call: one more per "Search older".
    const searching = !!(filter.where || filter.contains);
    let calls = searching ? 1 : Infinity;
    const counts = el('ul', { class: 'counts', 'aria-label': 'Events per state' });
    const tbody = el('tbody', { id: 'events-body' });
    const more = el('button', { type: 'button', class: 'secondary', hidden: true, text: 'Load older events' });
    const status = el('p', { class: 'muted', id: 'events-status' });
    const formSlot = el('div', {});
    // The filter-wide bulk requeue acts on `scope`, which an id or a body search narrows further.
    const bulk = HB.bulkActions({ scope, byId: !!filter.id || searching, key, refresh: () => refresh(true) });
    view.append(
      el('h1', { text: 'Events' }), formSlot, counts, bulk.toolbar, bulk.results,
      el('div', { class: 'table-wrap' }, el('table', { class: 'events' },
        el('caption', { class: 'visually-hidden', text: 'Events, newest first' }),
        el('thead', {}, el('tr', {}, el('th', { scope: 'col', class: 'pick' }, el('span', { class: 'visually-hidden', text: 'Select' })),
          ['Received', 'State', 'Source', 'Event id', 'Type', 'Attempts', 'Last error']
            .map((h) => el('th', { scope: 'col', text: h })))),
        tbody)),
      status, more);

    HB.streams().then((streams) => formSlot.append(filterForm(filter, choices(streams))));
    let wanted = PAGE;         // how many of the newest matching rows are shown
    let items = [];
    const pages = new Map();   // the conditional GETs of the shown pages
    let countsTag = null;
    let ticks = 0;

    function render(last) {
      bulk.shown(items);
      HB.clear(tbody).append(...items.map((item) => row(item, bulk)));
      status.textContent = items.length === 0 ? 'No events match.' : `${items.length} events shown.`;
      const back = last && last.search && last.nextCursor ? last.search.searchedBack : null;
      if (back !== null) status.textContent += ` Searched back to ${HB.time(back)}.`;
    }

    function renderCounts(c) {
      HB.clear(counts).append(...STATES.concat(['discarded']).map((s) => {
        const target = s === 'discarded' ? 'dead' : s;
        return el('li', {}, el('a', { href: `#/events${HB.query(Object.assign({}, scope, { state: target }))}`,
          class: `count state-${s}`, 'data-state': s }, el('span', { class: 'count-n', text: c[s] || 0 }), ` ${s}`));
      }));
      // `dead` counts the events a requeue takes: discarded ones are counted apart.
      bulk.deadCount(c.dead || 0);
    }

    // Reads the shown rows again, and the counts when rows changed, every 10th poll or `now`.
    async function refresh(now) {
      const w = await HB.window('/admin/events', listQuery, wanted, pages, calls);
      if (w.changed) {
        items = w.items;
        more.hidden = !w.cursor;
        more.textContent = searching ? 'Search older events' : 'Load older events';
        render(w.last);
      }
      if (now || w.changed || countsTag === null || ticks % 10 === 0) {
        const c = await HB.get(`/admin/counts${HB.query(scope)}`, { etag: now ? null : countsTag });
        if (c.status !== 304) { countsTag = c.etag; renderCounts(c.body.counts); }
      }
      ticks += 1;
    }

    more.addEventListener('click', async () => {
      wanted += PAGE;
      calls += 1;
      await refresh(false);
    });

    return HB.every(3000, () => refresh(false));
  };

  HB.parseFilter = function (search) {
    const params = new URLSearchParams(search);
    const filter = {};
    for (const name of FILTERS) filter[name] = params.get(name) || '';
    return filter;
  };
})();
