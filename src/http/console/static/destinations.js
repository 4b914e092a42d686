// The destinations view (`GET /admin/destinations`, as the worker last published it): per
// forward destination its circuit (closed, open, half-open), failures in a row, when the next
// probe may go, attempts in flight against its limit, and the last error. Polled every 5 s.
'use strict';
(function () {
  const HB = (window.HB = window.HB || {});
  const el = (...a) => HB.el(...a);

  // When the next probe may go, and how soon: a time only while the circuit is not closed.
  function nextProbe(state, at) {
    if (state === 'closed' || at === null || at === undefined) return ['—'];
    const wait = at - Date.now();
    return [HB.time(at), el('div', { class: 'muted small', text: wait > 0 ? `in ${HB.duration(wait)}` : 'due now' })];
  }

  function row(d) {
    const probe = d.nextProbeAt !== undefined ? d.nextProbeAt : d.openUntil;
    const busy = d.limit > 0 && d.inFlight >= d.limit;
    return el('tr', { 'data-destination': d.destination },
      el('th', { scope: 'row', class: 'mono' }, d.destination),
      el('td', { class: 'state' }, el('span', { class: `badge circuit-${d.state}`, text: d.state })),
      el('td', { class: 'num failures', text: d.consecutiveFailures }),
      el('td', { class: 'when probe' }, ...nextProbe(d.state, probe)),
      el('td', { class: `num load${busy ? ' warn' : ''}`, text: `${d.inFlight} / ${d.limit}` }),
      el('td', { class: 'error-cell' }, d.lastError ? HB.errorText(d.lastError) : null,
        d.lastFailureAt ? el('div', { class: 'muted small', text: HB.time(d.lastFailureAt) }) : null),
      el('td', { text: (d.sources || []).join(', ') }));
  }

  HB.destinationsView = function (view) {
    const tbody = el('tbody', { id: 'destinations-body' });
    const note = el('p', { class: 'muted', id: 'destinations-status' });
    view.append(el('h1', { text: 'Destinations' }),
      el('p', { class: 'muted', text: 'Where forward handlers deliver. An open circuit holds deliveries there until its next probe.' }),
      el('div', { class: 'table-wrap' }, el('table', { class: 'destinations', id: 'destinations' },
        el('caption', { class: 'visually-hidden', text: 'Forward destinations' }),
        el('thead', {}, el('tr', {}, ['Destination', 'Circuit', 'Failures in a row', 'Next probe', 'In flight / limit', 'Last error', 'Sources']
          .map((h) => el('th', { scope: 'col', text: h })))),
        tbody)),
      note);
    // Drawn on every poll, even when nothing changed, so "in 20 s" counts down.
    return HB.every(5000, async () => {
      const res = await HB.get('/admin/destinations');
      const items = res.body.destinations || [];
      HB.clear(tbody).append(...items.map(row));
      note.textContent = items.length === 0 ? 'No forward destinations yet (they appear once the worker has delivered to them).'
        : `As of ${HB.time(Date.now())}.`;
    });
  };
})();
