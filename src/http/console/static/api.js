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

  // fetch with the token; `options.etag` makes it conditional (status 304: nothing new).
  HB.call = async function (method, path, options) {
    const opts = options || {};
    const token = opts.token || HB.token.get();
    const headers = { Authorization: `Bearer ${token}` };
    if (opts.etag) headers['If-None-Match'] = opts.etag;
    const res = await fetch(path, {
      method, headers, cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer',
    });
    if (res.status === 401) {
      if (!opts.token) HB.signedOut('Your session ended or the token was refused. Sign in again.');
      throw new HB.SignedOut('unauthorized');
    }
    if (res.status === 304) return { status: 304, etag: opts.etag };
    if (!res.ok) {
      let detail = `${res.status} ${res.statusText}`;
      try { detail = (await res.json()).detail || detail; } catch (_) { /* not a problem body */ }
      const error = new Error(detail);
      error.status = res.status;
      throw error;
    }
    const type = res.headers.get('Content-Type') || '';
    const body = opts.text ? await res.text() : type.includes('json') ? await res.json() : await res.text();
    return { status: res.status, etag: res.headers.get('ETag'), body };
  };

  HB.get = (path, options) => HB.call('GET', path, options);
})();
