// A routed event's deliveries in the event view: one row per route with its state, attempts and
// last error, a link to the route's own page, and a requeue of that route alone at the admin path
// its status `location` names (`/admin/events/<source>:<route>/<id>/requeue`).
'use strict';
(function () {
  const HB = (window.HB = window.HB || {});
  const el = (...a) => HB.el(...a);

  // The admin API's path for the status resource at `location` (`/events/…`), plus `suffix`.
  HB.adminPath = (location, suffix) => `/admin${location}${suffix || ''}`;

  // Whether a delivery can be requeued: it delivered or gave up, and its body is kept.
  HB.canRequeue = (status) => (status.state === 'dead' || status.state === 'succeeded') && !status.bodyPurged;

  // What the event view shows of a routed event as a whole, from its routes: the payload is
  // gone once every route lost its body; `discarded` when an operator threw one away.
  HB.routedBody = function (event) {
    const purged = event.routes.every((r) => r.bodyPurged);
    return { bodyPurged: purged, discarded: purged && event.routes.some((r) => r.discarded) };
  };

  // `act({method, target, label, done, prepare})` asks, calls and refreshes (see detail.js).
  HB.routesSection = function (event, act) {
    const what = `${event.source}/${event.eventId}`;
    const rows = event.routes.map((r) => {
      const name = r.route || event.source;
      const stream = r.route ? `${event.source}:${r.route}` : event.source;
      const href = `#/event/${encodeURIComponent(stream)}/${encodeURIComponent(event.eventId)}`;
      const again = r.state === 'succeeded'
        ? ' It succeeded: it will be delivered again, and its application receives this event a second time.'
        : ' It gets a fresh round of attempts.';
      const requeue = HB.canRequeue(r) ? el('button', {
        type: 'button', class: 'secondary requeue-route',
        'aria-label': r.state === 'succeeded' ? `Deliver route ${name} again` : `Requeue route ${name}`,
        text: r.state === 'succeeded' ? 'Deliver again…' : 'Requeue',
        onclick: () => act({
          method: 'POST', target: HB.adminPath(r.location, '/requeue'),
          label: r.state === 'succeeded' ? 'Deliver again' : 'Requeue', done: `Route ${name} requeued.`,
          prepare: async () => ({ question: `Requeue route ${name} of ${what} now? Only this route is taken.${again}` }),
        }),
      }) : null;
      return el('tr', { 'data-route': name },
        el('th', { scope: 'row' }, el('a', { href, text: name })),
        el('td', { class: 'state' }, HB.stateBadge(r), HB.holdNote(r)),
        el('td', { class: 'num', text: r.attemptCount }),
        el('td', { class: 'error-cell' }, r.lastError ? HB.errorText(r.lastError) : null),
        el('td', {}, requeue));
    });
    return el('section', { 'aria-labelledby': 'routes-title' },
      el('h2', { id: 'routes-title', text: 'Routes' }),
      el('div', { class: 'table-wrap' }, el('table', { class: 'routes', id: 'routes' },
        el('caption', { class: 'visually-hidden', text: 'Each route of the event' }),
        el('thead', {}, el('tr', {}, ['Route', 'State', 'Attempts', 'Last error', 'Action']
          .map((h) => el('th', { scope: 'col', text: h })))),
        el('tbody', {}, rows))));
  };

  // Each route's attempts and requeues, one timeline per route.
  HB.routeTimelines = function (event, timeline) {
    return event.routes.map((r) => [el('h3', { text: r.route || event.source }), timeline(r)]);
  };
})();
