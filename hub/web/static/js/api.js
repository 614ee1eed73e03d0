// REST calls with the bearer token, refreshed before it expires; a session that cannot be
// refreshed goes back to the login page.

const AUTH_KEY = "hub.auth";
const REFRESH_MARGIN_MS = 60_000;

export class ApiError extends Error {
  constructor(status, body) {
    super((body && (body.message || body.error)) || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

export function session() {
  try {
    return JSON.parse(localStorage.getItem(AUTH_KEY) || "null");
  } catch {
    return null;
  }
}

function store(tokens) {
  const value = {
    access_token: tokens.access_token,
    refresh_token: tokens.refresh_token,
    expires_at: Date.now() + tokens.expires_in * 1000,
  };
  localStorage.setItem(AUTH_KEY, JSON.stringify(value));
  return value;
}

export function clearSession() {
  localStorage.removeItem(AUTH_KEY);
  meCache = null;
}

export function toLogin() {
  const next = location.pathname + location.search;
  location.assign(`/login?next=${encodeURIComponent(next)}`);
}

async function parse(response) {
  const text = await response.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return { message: text.slice(0, 200) };
  }
}

export async function login(username, password) {
  const body = new URLSearchParams({ username, password });
  const r = await fetch("/api/v1/auth/token", { method: "POST", body });
  const data = await parse(r);
  if (!r.ok) throw new ApiError(r.status, data);
  meCache = null;
  return store(data);
}

let refreshing = null;

async function refresh() {
  const current = session();
  if (!current) throw new ApiError(401, { message: "not logged in" });
  refreshing ??= (async () => {
    try {
      const r = await fetch("/api/v1/auth/refresh", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ refresh_token: current.refresh_token }),
      });
      const data = await parse(r);
      if (!r.ok) throw new ApiError(r.status, data);
      return store(data);
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

/** A valid access token, refreshed if it is about to expire (the websocket needs one too). */
export async function accessToken({ force = false } = {}) {
  let current = session();
  if (!current) throw new ApiError(401, { message: "not logged in" });
  if (force || current.expires_at - Date.now() < REFRESH_MARGIN_MS) current = await refresh();
  return current.access_token;
}

/** `api("/cases", {method, json, form, query})` against /api/v1; JSON in, JSON out. */
export async function api(path, { method = "GET", json, form, query, headers: extra, raw = false, retry = true } = {}) {
  let token;
  try {
    token = await accessToken();
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) toLogin();
    throw err;
  }
  const url = new URL(`/api/v1${path}`, location.origin);
  for (const [k, v] of Object.entries(query || {})) {
    if (v == null || v === "") continue;
    for (const item of Array.isArray(v) ? v : [v]) url.searchParams.append(k, item);
  }
  const headers = { ...(extra || {}), Authorization: `Bearer ${token}` };
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form !== undefined) {
    body = form;
  }
  const r = await fetch(url, { method, headers, body });
  if (r.status === 401 && retry) {
    try {
      await accessToken({ force: true });
    } catch {
      clearSession();
      toLogin();
      throw new ApiError(401, { message: "session ended" });
    }
    return api(path, { method, json, form, query, headers: extra, raw, retry: false });
  }
  if (raw && r.ok) return r;
  const data = await parse(r);
  if (!r.ok) throw new ApiError(r.status, data);
  return data;
}

let meCache = null;

export async function me() {
  meCache ??= api("/auth/me");
  return meCache;
}

export async function logout() {
  try {
    await api("/auth/logout", { method: "POST", retry: false });
  } catch {
    // the tokens are dropped below whatever the server said
  }
  clearSession();
  location.assign("/login");
}

export function homeFor(role) {
  if (role === "wall" || role === "auditor") return "/wall";
  if (role === "dept_staff" || role === "grid_worker") return "/staff";
  return "/console";
}
