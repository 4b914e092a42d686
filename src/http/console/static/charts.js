// Small inline SVG bar charts: one group of bars per time bucket.
'use strict';
(function () {
  const HB = (window.HB = window.HB || {});
  const el = (...a) => HB.el(...a);

  // series: [{key, label}], buckets: [{start, <key>: n}], label: the chart's accessible name.
  HB.barChart = function (buckets, series, label) {
    const width = 240;
    const height = 56;
    const gap = 2;
    const groupWidth = width / Math.max(1, buckets.length);
    const barWidth = Math.max(1, (groupWidth - gap) / series.length);
    const max = Math.max(1, ...buckets.flatMap((b) => series.map((s) => b[s.key] || 0)));
    const svg = el('svg', {
      viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', 'aria-label': label,
      class: 'chart', preserveAspectRatio: 'none',
    }, el('title', { text: label }));
    buckets.forEach((bucket, i) => {
      const group = el('g', {});
      series.forEach((s, j) => {
        const value = bucket[s.key] || 0;
        const h = value === 0 ? 0 : Math.max(2, Math.round((value / max) * (height - 4)));
        group.append(el('rect', {
          x: (i * groupWidth + j * barWidth).toFixed(1), y: height - h,
          width: Math.max(1, barWidth - 0.5).toFixed(1), height: h, class: `bar bar-${s.key}`,
        }, el('title', { text: `${HB.time(bucket.start)}: ${value} ${s.label}` })));
      });
      svg.append(group);
    });
    svg.append(el('line', { x1: 0, y1: height - 0.5, x2: width, y2: height - 0.5, class: 'axis' }));
    return svg;
  };

  HB.legend = function (series) {
    return el('ul', { class: 'legend' }, series.map((s) =>
      el('li', {}, el('span', { class: `swatch bar-${s.key}`, 'aria-hidden': 'true' }), s.label)));
  };
})();
