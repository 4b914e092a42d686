// The audit view (`GET /admin/audit`, newest first, paged): who did what — when, the token's
// name and role, the action, its targets and count, dry run or not, and the outcome (a refusal
// with its HTTP status). Filters by action and token; every poll reads the shown rows again.
'use strict';
(function () {
  const HB = (window.HB = window.HB || {});
  const el = (...a) => HB.el(...a);
  const PAGE = 50;

  function row(a) {
    const targets = a.targets || [];
    const list = targets.length === 0 ? '—'
      : el('details', {}, el('summary', { text: targets.slice(0, 2).join(', ') + (targets.length > 2 ? ` … (${targets.length})` : '') }),
        el('ul', { class: 'acted' }, ...HB.firstFew(targets, 100)));
    return el('tr', { 'data-id': a.id },
      el('td', { class: 'when', text: HB.time(a.at) }),
      el('td', {}, a.token, a.role ? el('span', { class: 'muted', text: ` (${a.role})` }) : null),
      el('td', {}, a.action, a.dryRun ? el('span', { class: 'badge', text: 'dry run' }) : null),
      el('td', { class: 'targets' }, list),
      el('td', { class: 'num', text: a.count }),
      el('td', {}, el('span', { class: `badge outcome-${a.outcome}`, text: a.outcome }),
        a.status ? el('span', { class: 'muted', text: ` ${a.status}` }) : null));
  }

  HB.auditView = function (view, search) {
    const params = new URLSearchParams(search || '');
    const query = { action: params.get('action') || '', token: params.get('token') || '' };
    const tbody = el('tbody', { id: 'audit-body' });
    const status = el('p', { class: 'muted', id: 'audit-status' });
    const more = el('button', { type: 'button', class: 'secondary', hidden: true, text: 'Load older entries' });
    const input = (name, label) => el('div', { class: 'field' }, el('label', { for: `a-${name}`, text: label }),
      el('input', { id: `a-${name}`, name, type: 'search', value: query[name] }));
    const form = el('form', { class: 'filters', role: 'search', 'aria-label': 'Filter the audit log' },
      input('action', 'Action'), input('token', 'Token name'),
      el('div', { class: 'field buttons' }, el('button', { type: 'submit', text: 'Apply' }),
        el('a', { href: '#/audit', class: 'button secondary', text: 'Reset' })));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const data = new FormData(form);
      window.location.hash = `#/audit${HB.query({ action: (data.get('action') || '').trim(), token: (data.get('token') || '').trim() })}`;
    });
    view.append(el('h1', { text: 'Audit' }), form,
      el('div', { class: 'table-wrap' }, el('table', { class: 'audit', id: 'audit' },
        el('caption', { class: 'visually-hidden', text: 'Operator actions, newest first' }),
        el('thead', {}, el('tr', {}, ['When', 'Token', 'Action', 'Targets', 'Count', 'Outcome']
          .map((h) => el('th', { scope: 'col', text: h })))),
        tbody)),
      status, more);
    let wanted = PAGE;
    const pages = new Map();
    async function refresh() {
      const w = await HB.window('/admin/audit', query, wanted, pages);
      if (!w.changed) return;
      HB.clear(tbody).append(...w.items.map(row));
      status.textContent = w.items.length === 0 ? 'No operator actions recorded.' : `${w.items.length} entries shown.`;
      more.hidden = !w.cursor;
    }
    more.addEventListener('click', () => { wanted += PAGE; refresh(); });
    return HB.every(10000, async () => {
      try { await refresh(); } catch (e) {
        if (e instanceof HB.SignedOut) throw e;
        status.textContent = `The audit log could not be read: ${e.message}`;
      }
    });
  };
})();
