// Acting on many rows of the events view: the rows picked with checkboxes (requeue or discard
// them through `POST /admin/batch`) and every dead event the filter covers (`POST
// /admin/requeue`, after a dry run that names them). Each confirmation names what it will touch,
// and afterwards the view lists what was acted on, as the server answered.
'use strict';
(function () {
  const HB = (window.HB = window.HB || {});
  const el = (...a) => HB.el(...a);
  const BATCH = 500; // the most locations one `POST /admin/batch` takes

  const plural = (n, word, many) => `${n} ${n === 1 ? word : many || `${word}s`}`;

  // How a target or result names its record: `stripe › billing / evt_1 (dead)`.
  HB.targetName = (t) => `${HB.streamLabel(t.source, t.route)} / ${t.eventId}${t.state ? ` (${t.state})` : ''}`;

  // Fills `box` with what an action did: `title`, then one line per entry (a target or a batch
  // result) linking to its record, with its outcome and the server's detail when refused.
  HB.actionResults = function (box, title, entries) {
    const lines = entries.map((r) => el('li', { class: `outcome ${r.outcome || ''}` },
      el('a', { href: HB.eventHref(r.location), text: HB.targetName(Object.assign({}, r, { state: null })) }),
      r.outcome ? ` — ${r.outcome}` : '', r.detail ? `: ${r.detail}` : ''));
    HB.clear(box).append(
      el('p', {}, el('strong', { text: title }), ' ',
        el('button', { type: 'button', class: 'secondary small', text: 'Dismiss', onclick: () => HB.clear(box) })),
      lines.length ? el('ul', { class: 'acted' }, ...HB.firstFew(lines, 50)) : null);
    HB.announce(title);
  };

  // The toolbar and its state for one events view. `scope` is the filter without state and id;
  // `refresh()` reads the rows and counts again at once.
  HB.bulkActions = function ({ scope, byId, key, refresh }) {
    const selected = new Set();
    const expanded = new Set();
    let shown = new Map();
    let dead = 0;
    const all = el('input', { type: 'checkbox', id: 'select-all' });
    const requeue = el('button', { type: 'button', class: 'secondary', id: 'requeue-selected' });
    const discard = el('button', { type: 'button', class: 'danger', id: 'discard-selected' });
    const byFilter = el('button', { type: 'button', class: 'danger', id: 'bulk-requeue', hidden: true });
    const results = el('section', { class: 'notice results', id: 'action-results', 'aria-live': 'polite' });
    const toolbar = el('div', { class: 'toolbar' },
      el('label', { class: 'select-all' }, all, ' Select all shown'), requeue, discard, byFilter);

    function update() {
      const n = selected.size;
      requeue.textContent = `Requeue selected (${n})`;
      discard.textContent = `Discard selected (${n})`;
      // Shown once something is picked, so the toolbar stays short on a phone.
      requeue.hidden = discard.hidden = n === 0;
      all.checked = shown.size > 0 && n === shown.size;
      all.indeterminate = n > 0 && n < shown.size;
      byFilter.hidden = dead === 0 || byId;
      byFilter.textContent = `Requeue ${plural(dead, 'dead event')} matching this filter`;
    }

    const self = {
      toolbar, results, selected, expanded,
      select(k, on) { if (on) selected.add(k); else selected.delete(k); update(); },
      // The rows now shown: a selected row that left the view is no longer selected.
      shown(items) {
        shown = new Map(items.map((i) => [key(i), i]));
        for (const k of [...selected]) if (!shown.has(k)) selected.delete(k);
        for (const k of [...expanded]) if (!shown.has(k)) expanded.delete(k);
        update();
      },
      deadCount(n) { dead = n; update(); },
    };

    all.addEventListener('change', () => {
      for (const k of shown.keys()) if (all.checked) selected.add(k); else selected.delete(k);
      for (const box of document.querySelectorAll('#events-body .select-row')) box.checked = all.checked;
      update();
    });

    async function batch(action) {
      const picked = [...selected].map((k) => shown.get(k)).filter(Boolean);
      if (picked.length === 0) return;
      const succeeded = picked.filter((i) => i.state === 'succeeded').length;
      const question = action === 'requeue'
        ? `Requeue ${plural(picked.length, 'selected delivery', 'selected deliveries')}? Each gets a fresh round of attempts.` +
          (succeeded ? ` ${succeeded} of them succeeded and will be delivered again.` : '')
        : `Discard ${plural(picked.length, 'selected event')}? Their bodies are deleted and they can never be processed again; ` +
          'the provider\'s retries stay duplicates. Only dead ones can be discarded.';
      const label = action === 'requeue' ? 'Requeue selected' : 'Discard selected';
      if (!(await HB.confirm(question, label, picked.map((i) => HB.targetName(i))))) return;
      const done = [];
      try {
        for (let at = 0; at < picked.length; at += BATCH) {
          const events = picked.slice(at, at + BATCH).map((i) => i.location);
          const res = await HB.post('/admin/batch', { action, events, dryRun: false });
          done.push(...res.body.results);
        }
      } catch (e) {
        if (e instanceof HB.SignedOut) throw e;
        HB.clear(results).append(el('p', { class: 'error', text: `Refused: ${e.message}` }));
        await refresh();
        return;
      }
      const acted = done.filter((r) => r.outcome !== 'refused').length;
      const verb = action === 'requeue' ? 'Requeued' : 'Discarded';
      HB.actionResults(results, `${verb} ${acted} of ${picked.length}.`, done);
      selected.clear();
      await refresh();
    }
    requeue.addEventListener('click', () => batch('requeue'));
    discard.addEventListener('click', () => batch('discard'));

    byFilter.addEventListener('click', async () => {
      const path = (extra) => `/admin/requeue${HB.query(Object.assign({}, scope, extra))}`;
      let preview = null;
      try {
        preview = (await HB.post(path({ dry_run: 'true' }))).body;
      } catch (e) {
        if (e instanceof HB.SignedOut) throw e;
        if (e.status === 403) { HB.clear(results).append(el('p', { class: 'error', text: e.message })); return; }
        // A server without dry runs: the counts say how many.
      }
      const n = preview ? preview.count : dead;
      const names = preview ? preview.targets.map(HB.targetName) : [];
      const question = `Requeue ${preview && preview.more ? 'at least ' : ''}${plural(n, 'dead event')} matching this filter? ` +
        'Each gets a fresh round of attempts.';
      if (!(await HB.confirm(question, 'Requeue dead events', names))) return;
      let total = 0;
      const targets = [];
      let next = null;
      try {
        do {
          const done = (await HB.post(path({ cursor: next }))).body;
          total += done.requeued;
          targets.push(...(done.targets || []).map((t) => Object.assign({ outcome: 'requeued' }, t)));
          next = done.more ? done.nextCursor : null;
        } while (next);
      } catch (e) {
        if (e instanceof HB.SignedOut) throw e;
        HB.clear(results).append(el('p', { class: 'error', text: `Refused after ${total} requeued: ${e.message}` }));
        await refresh();
        return;
      }
      HB.actionResults(results, `${plural(total, 'dead event')} requeued.`, targets);
      await refresh();
    });

    update();
    return self;
  };
})();
