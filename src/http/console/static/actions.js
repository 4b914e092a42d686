// The actions of the event view. A routed event's main action requeues its dead routes only
// (the server's default); delivering succeeded routes again is a separate, secondary action
// whose confirmation names each route it will deliver again. Both first ask the server for a
// dry run, so the confirmation lists what the real call will take. An unrouted event is one
// delivery: its requeue says so when it succeeded. Discard throws the dead ones away.
'use strict';
(function () {
  const HB = (window.HB = window.HB || {});
  const el = (...a) => HB.el(...a);

  // `act({method, target, question, label, items, done})`: asks (naming `items`), calls, shows
  // what the answer says it took and refreshes (see detail.js).
  HB.eventActions = function ({ event, path, source, id, act }) {
    const routes = event.routes || null;
    const what = `${source}/${id}`;
    const actions = el('div', { class: 'toolbar', role: 'group', 'aria-label': 'Actions' });
    // What a dry run of `query` would take, or null when the server cannot say.
    const preview = async (query) => {
      try {
        const res = await HB.post(`${path}/requeue${HB.query(Object.assign({}, query, { dry_run: 'true' }))}`);
        return res.body && res.body.dryRun ? res.body.targets : null;
      } catch (e) {
        if (e instanceof HB.SignedOut || e.status === 403) throw e;
        return null;
      }
    };
    const routeName = (t) => t.route || t.source || source;

    if (routes) {
      const dead = routes.filter((r) => r.state === 'dead' && !r.discarded && !r.bodyPurged);
      if (dead.length > 0) {
        actions.append(el('button', {
          type: 'button', id: 'requeue', text: 'Requeue dead routes',
          onclick: () => act({
            method: 'POST', target: `${path}/requeue`, label: 'Requeue dead routes', done: 'Dead routes requeued.',
            prepare: async () => {
              const targets = await preview({});
              const names = (targets || dead).map((t) => `${routeName(t)} (dead): gets a fresh round of attempts`);
              return {
                question: `Requeue the dead routes of ${what}? Routes that succeeded are left alone.`,
                items: names,
              };
            },
          }),
        }));
      }
      if (routes.some(HB.canRequeue)) {
        actions.append(el('button', {
          type: 'button', id: 'deliver-again', class: 'secondary', text: 'Deliver again: all routes incl. succeeded…',
          onclick: () => act({
            method: 'POST', target: `${path}/requeue?include=succeeded`, label: 'Deliver again',
            done: 'Requeued, succeeded routes included.',
            prepare: async () => {
              const targets = (await preview({ include: 'succeeded' })) || routes.filter(HB.canRequeue);
              const items = targets.map((t) => (t.state === 'succeeded'
                ? `${routeName(t)} (succeeded): will be delivered again — its application receives this event a second time`
                : `${routeName(t)} (${t.state}): gets a fresh round of attempts`));
              return {
                question: `Deliver ${what} again to ${targets.length === 1 ? 'this route' : `these ${targets.length} routes`}?`,
                items,
              };
            },
          }),
        }));
      }
    } else if (HB.canRequeue(event)) {
      const again = event.state === 'succeeded'
        ? ' It succeeded: it will be delivered again, and its handler receives it a second time.'
        : '';
      actions.append(el('button', {
        type: 'button', id: 'requeue', text: 'Requeue',
        onclick: () => act({
          method: 'POST', target: `${path}/requeue`, label: 'Requeue', done: 'Requeued.',
          prepare: async () => ({ question: `Requeue ${what} now? It gets a fresh round of attempts.${again}` }),
        }),
      }));
    }
    const discardable = routes ? routes.some((r) => r.state === 'dead' && !r.discarded) : event.state === 'dead' && !event.discarded;
    if (discardable) {
      actions.append(el('button', {
        type: 'button', id: 'discard', class: 'danger', text: 'Discard',
        onclick: () => act({
          method: 'DELETE', target: path, label: 'Discard', done: 'Discarded.',
          prepare: async () => ({
            question: `Discard${routes ? ' the dead routes of' : ''} ${what}? The body is deleted and it can ` +
              'never be processed again; the provider\'s retries stay duplicates.',
          }),
        }),
      }));
    }
    return actions;
  };
})();
