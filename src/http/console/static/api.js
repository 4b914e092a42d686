// The admin API as the console uses it: the token from session storage as a bearer token,
// problem details turned into errors, and any 401 sending the user back to sign-in.
'use strict';
(function () {
  const HB = (window.HB = window.HB || {});
  const KEY = 'hookbox.adminToken';

  HB.token = {
    get: () => window.sessionStorage.getItem(KEY),
    set: (token) => window.sessionStorage.setItem(KEY, token),
    clear: () => window.sessionStorage.removeItem(KEY),
  };

  // Thrown after a 401: the view stops, the sign-in form shows.
  HB.SignedOut = class SignedOut extends Error {};

  HB.query = function (params) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
    const text = q.toString();
    return text ? `?${text}` : '';
  };

  HB.eventPath = (source, id) =>
    `/admin/events/${encodeURIComponent(source)}/${encodeURIComponent(id)}`;

  // What a refused action says when the token has the `read` role only.
  HB.READ_ONLY = 'This token may only read: requeue and discard need a token with the operate role.';

  // fetch with the token; `options.etag` makes it conditional (status 304: nothing new),
  // `options.json` sends a JSON body.
  HB.call = async function (method, path, options) {
    const opts = options || {};
    const token = opts.token || HB.token.get();
    const headers = { Authorization: `Bearer ${token}` };
    if (opts.etag) headers['If-None-Match'] = opts.etag;
    let body;
    if (opts.json !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(opts.json);
    }
    const res = await fetch(path, {
      method, headers, body, cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer',
    });
    if (res.status === 401) {
      if (!opts.token) HB.signedOut('Your session ended or the token was refused. Sign in again.');
      throw new HB.SignedOut('unauthorized');
    }
    if (res.status === 304) return { status: 304, etag: opts.etag };
    if (!res.ok) {
      let detail = `${res.status} ${res.statusText}`;
      try { detail = (await res.json()).detail || detail; } catch (_) { /* not a problem body */ }
      const error = new Error(res.status === 403 ? `${HB.READ_ONLY} (${detail})` : detail);
      error.status = res.status;
      throw error;
    }
    const type = res.headers.get('Content-Type') || '';
    const text = opts.text ? await res.text() : type.includes('json') ? await res.json() : await res.text();
    return { status: res.status, etag: res.headers.get('ETag'), body: text };
  };

  HB.get = (path, options) => HB.call('GET', path, options);
  HB.post = (path, json) => HB.call('POST', path, json === undefined ? {} : { json });

  // The newest `wanted` items of a paged listing (`path` answering `{items, nextCursor}`), read
  // again from the top in pages of at most 1000, each a conditional GET remembered in `cache`
  // (url -> {etag, body}), and at most `calls` of them (a body search: each call scans a
  // bounded stretch of the store). Answers the items, where older ones continue, the last
  // page, and whether any page changed since the last call.
  HB.window = async function (path, query, wanted, cache, calls = Infinity) {
    let items = [];
    let cursor = null;
    let changed = false;
    let page = null;
    const seen = new Map();
    do {
      const limit = Math.min(1000, wanted - items.length);
      const url = `${path}${HB.query(Object.assign({}, query, { limit, cursor }))}`;
      const known = cache.get(url);
      const res = await HB.get(url, { etag: known && known.etag });
      if (res.status !== 304 || !known) changed = true;
      page = res.status === 304 ? known.body : res.body;
      seen.set(url, { etag: res.etag, body: page });
      items = items.concat(page.items);
      cursor = page.nextCursor || null;
    } while (cursor && items.length < wanted && seen.size < calls);
    if (cache.size !== seen.size) changed = true;
    cache.clear();
    for (const [url, entry] of seen) cache.set(url, entry);
    return { items, cursor, changed, last: page };
  };
})();
