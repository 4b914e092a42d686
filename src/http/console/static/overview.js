// The overview: per source (per route, for a source with routes), the last hour in 5-minute
// buckets (accepted, succeeded, dead, skipped) as small SVG charts, with queue depth, the last
// event's time and the oldest queued event's age. A route's deliveries its filter skipped are
// counted too, so accepted adds up; where the summary's buckets do not carry `skipped`, they
// come from the counts of the route's events received in the window.
'use strict';
(function () {
  const HB = (window.HB = window.HB || {});
  const el = (...a) => HB.el(...a);
  const SERIES = [
    { key: 'accepted', label: 'accepted' },
    { key: 'succeeded', label: 'succeeded' },
    { key: 'dead', label: 'dead' },
    { key: 'skipped', label: 'skipped' },
  ];

  // `skipped`: the window's skipped deliveries when the buckets do not say.
  function card(s, now, skipped) {
    const total = (key) => s.buckets.reduce((n, b) => n + (b[key] || 0), 0);
    const [accepted, succeeded, dead, bucketed] = SERIES.map((x) => total(x.key));
    const skips = bucketed || (skipped === null ? '?' : skipped || 0);
    const [source, route] = HB.splitStream(s.source);
    const name = HB.streamLabel(source, route);
    const line = `${accepted} accepted · ${succeeded} succeeded · ${dead} dead · ${skips} skipped`;
    const label = `${name}, last hour: ${accepted} accepted, ${succeeded} succeeded, ${dead} dead, ${skips} skipped`;
    const href = `#/events${HB.query({ source, route })}`;
    return el('article', { class: 'card', 'aria-labelledby': `src-${s.source}` },
      el('h2', { id: `src-${s.source}` }, el('a', { href, text: name })),
      HB.barChart(s.buckets, SERIES, label),
      el('dl', { class: 'facts compact' },
        el('dt', { text: 'Last hour' }), el('dd', { text: line }),
        el('dt', { text: 'Queue depth' }), el('dd', { class: s.queueDepth > 0 ? 'warn' : '', text: String(s.queueDepth) }),
        el('dt', { text: 'Last event' }), el('dd', { text: HB.ago(s.lastEventAt, now) }),
        el('dt', { text: 'Oldest queued' }), el('dd', { text: s.oldestQueuedAt ? HB.ago(s.oldestQueuedAt, now) : 'none queued' })));
  }

  // Skipped deliveries of a route's events received since `from` (only a route has a filter).
  async function skippedSince(stream, from, buckets) {
    const [source, route] = HB.splitStream(stream);
    if (!route || buckets.some((b) => b.skipped !== undefined)) return 0;
    try {
      const res = await HB.get(`/admin/counts${HB.query({ source, route, since: from })}`);
      return res.body.counts.skipped || 0;
    } catch (e) {
      if (e instanceof HB.SignedOut) throw e;
      return null; // unknown: shown as such rather than as 0
    }
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
      const skipped = await Promise.all(summary.sources.map((s) => skippedSince(s.source, summary.from, s.buckets)));
      HB.clear(grid).append(...summary.sources.map((s, i) => card(s, summary.now, skipped[i])));
      note.textContent = summary.complete ? `As of ${HB.time(summary.now)}.`
        : `As of ${HB.time(summary.now)}, from the newest 50 000 events only.`;
    });
  };
})();
