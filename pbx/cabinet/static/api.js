// The cabinet's one door to the PBX's JSON API (/api/v1).
//
// The session is the API's own bearer tokens, kept in sessionStorage: they go out only in the
// Authorization header this code writes, never in a cookie, so another site cannot make the
// browser send them (no CSRF surface), and they end with the tab. An access token that has
// expired is traded once for a new pair at /auth/refresh, then the request is made again.

const BASE = '/api/v1';
const SESSION_KEY = 'talker.cabinet.session';

// What the API refused, or why it could not be asked: `status` (0: no answer at all), the API's
// machine-readable `code` (see docs/pbx-api.md), its English `message`, and the `fields` of a 422.
export class ApiError extends Error {
  constructor(status, code, message, fields = [], details = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.fields = fields;
    this.details = details;  // what a refusal names: value, owner, retry_after_s
  }

  get stale() { return this.status === 412; }
}

let session = readSession();
let refreshing = null;
const endListeners = [];

function readSession() {
  try { return JSON.parse(sessionStorage.getItem(SESSION_KEY) || 'null'); } catch { return null; }
}

function keep(value) {
  session = value;
  if (value) sessionStorage.setItem(SESSION_KEY, JSON.stringify(value));
  else sessionStorage.removeItem(SESSION_KEY);
}

async function call(method, path, body, { etag, auth = true, contentType } = {}) {
  const headers = { Accept: 'application/json' };
  if (auth && session) headers.Authorization = `Bearer ${session.access_token}`;
  // contentType: a body sent as it is (the calendar's XML import), not as JSON.
  if (body !== undefined) headers['Content-Type'] = contentType || 'application/json';
  if (etag) headers['If-Match'] = etag;
  let response;
  try {
    response = await fetch(BASE + path, {
      method, headers, cache: 'no-store', credentials: 'omit',
      body: body === undefined ? undefined : (contentType ? body : JSON.stringify(body)),
    });
  } catch (e) {
    throw new ApiError(0, 'network', String(e && e.message || e));
  }
  const text = await response.text();
  let parsed = null;
  if (text) {
    try { parsed = JSON.parse(text); } catch { parsed = text; }
  }
  if (!response.ok) {
    const err = (parsed && parsed.error) || {};
    throw new ApiError(response.status, err.code || `http_${response.status}`, err.message || response.statusText,
      err.fields || [], { value: err.value, owner: err.owner, retry_after_s: err.retry_after_s });
  }
  return { status: response.status, body: parsed, etag: response.headers.get('ETag') };
}

async function refresh() {
  if (!session || !session.refresh_token) return false;
  if (!refreshing) {
    const used = session.refresh_token;
    refreshing = call('POST', '/auth/refresh', { refresh_token: used }, { auth: false })
      .then((r) => { keep({ access_token: r.body.access_token, refresh_token: r.body.refresh_token }); return true; })
      .catch(() => false)
      .finally(() => { refreshing = null; });
  }
  return refreshing;
}

async function request(method, path, body, options = {}) {
  try {
    return await call(method, path, body, options);
  } catch (e) {
    if (e.status === 401 && session && !path.startsWith('/auth/')) {
      if (await refresh()) return call(method, path, body, options);
      keep(null);
      endListeners.forEach((listener) => listener());
    }
    throw e;
  }
}

export const api = {
  get: (path) => request('GET', path),
  // send(method, path, body, {etag}): etag goes out as If-Match (the API refuses a versioned write
  // without one with 428, and a stale one with 412).
  send: (method, path, body, options = {}) => request(method, path, body, options),
};

export const auth = {
  get loggedIn() { return Boolean(session); },
  async login(login, password) {
    const r = await call('POST', '/auth/login', { login, password }, { auth: false });
    keep({ access_token: r.body.access_token, refresh_token: r.body.refresh_token });
    return r.body.employee;
  },
  async logout() {
    if (session) {
      try { await call('POST', '/auth/logout', { refresh_token: session.refresh_token }); } catch { /* ended anyway */ }
    }
    keep(null);
  },
  // Called when the PBX no longer takes this session (expired, revoked, password changed).
  onEnded(listener) { endListeners.push(listener); },
};
