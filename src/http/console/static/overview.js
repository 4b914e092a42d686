// The overview: per source (per route, for a source with routes), the last hour in 5-minute buckets (accepted, succeeded, dead) as
// small SVG charts, with queue depth, the last event's time and the oldest queued event's age.
'use strict';
(function () {
  const HB = (window.HB = window.HB || {});
  const el = (...a) => HB.el(...a);
  const SERIES = [
    { key: 'accepted', label: 'accepted' },
    { key: 'succeeded', label: 'succeeded' },
    { key: 'dead', label: 'dead' },
  ];

  function card(s, now) {
    const total = (key) => s.buckets.reduce((n, b) => n + (b[key] || 0), 0);
    const [accepted, succeeded, dead] = SERIES.map((x) => total(x.key));
    const [source, route] = HB.splitStream(s.source);
    const name = HB.streamLabel(source, route);
    const label = `${name}, last hour: ${accepted} accepted, ${succeeded} succeeded, ${dead} dead`;
    const href = `#/events${HB.query({ source, route })}`;
    return el('article', { class: 'card', 'aria-labelledby': `src-${s.source}` },
      el('h2', { id: `src-${s.source}` }, el('a', { href, text: name })),
      HB.barChart(s.buckets, SERIES, label),
      el('dl', { class: 'facts compact' },
        el('dt', { text: 'Last hour' }), el('dd', { text: `${accepted} accepted · ${succeeded} succeeded · ${dead} dead` }),
        el('dt', { text: 'Queue depth' }), el('dd', { class: s.queueDepth > 0 ? 'warn' : '', text: String(s.queueDepth) }),
        el('dt', { text: 'Last event' }), el('dd', { text: HB.ago(s.lastEventAt, now) }),
        el('dt', { text: 'Oldest queued' }), el('dd', { text: s.oldestQueuedAt ? HB.ago(s.oldestQueuedAt, now) : 'none queued' })));
  }

  HB.overviewView = function (view) {
    const grid = el('div', { class: 'cards' });
    const note = el('p', { class: 'muted' });
    view.append(el('h1', { text: 'Overview' }), HB.legend(SERIES), grid, note);
    let etag = null;
    return HB.every(15000, async () => {
      const res = await HB.get('/admin/summary', { etag });
      if (res.status === 304) return;
      etag = res.etag;
      const summary = res.body;
      HB.clear(grid).append(...summary.sources.map((s) => card(s, summary.now)));
      note.textContent = summary.complete ? `As of ${HB.time(summary.now)}.`
        : `As of ${HB.time(summary.now)}, from the newest 50 000 events only.`;
    });
  };
})();
