/** A failed API call: the HTTP status and the manager's `error_code`, message and field errors. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly body: Record<string, unknown> = {}
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** Field errors of a 400 `validation_error`: `{path, message, type}`. */
  get fieldErrors(): { path: string; message: string; type: string }[] {
    return Array.isArray(this.body.errors) ? (this.body.errors as { path: string; message: string; type: string }[]) : [];
  }
}

function cookie(name: string): string | undefined {
  return document.cookie
    .split('; ')
    .find((c) => c.startsWith(`${name}=`))
    ?.slice(name.length + 1);
}

/** Where a signed-out user is sent: the login page, coming back here afterwards. */
export function loginUrl(next = window.location.pathname + window.location.search): string {
  return next && next !== '/' && !next.startsWith('/login') ? `/login?next=${encodeURIComponent(next)}` : '/login';
}

let onUnauthorized: () => void = () => window.location.assign(loginUrl());

/** The app replaces the 401 handling (client-side navigation instead of a reload). */
export function setUnauthorizedHandler(handler: () => void): void {
  onUnauthorized = handler;
}

export interface ApiResponse<T> {
  data: T;
  headers: Headers;
}

/** Writes in flight: one of them may be moving the browser to a fresh session (a password change). */
const pendingWrites = new Set<Promise<unknown>>();

/**
 * Resolves once every write started before the call has settled. Asking "am I still signed
 * in?" must wait for them: the old session can end (and the live feed close) before the
 * response that carries the new session cookie has arrived.
 */
export async function writesSettled(): Promise<void> {
  await Promise.allSettled([...pendingWrites]);
}

/**
 * Calls the manager's API with the session cookie; writes carry the CSRF header. A 401
 * outside the login endpoints means the session ended: back to the login page.
 */
export function request<T>(method: string, path: string, body?: unknown): Promise<ApiResponse<T>> {
  const call = send<T>(method, path, body);
  if (method !== 'GET') {
    pendingWrites.add(call);
    const forget = () => pendingWrites.delete(call);
    call.then(forget, forget);
  }
  return call;
}

async function send<T>(method: string, path: string, body?: unknown): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET') {
    const csrf = cookie('csrf_token');
    if (csrf) headers['x-csrf-token'] = decodeURIComponent(csrf);
  }
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin' });
  const text = await res.text();
  let data: unknown;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { message: text };
  }
  if (!res.ok) {
    if (res.status === 401 && !path.startsWith('/api/v1/auth/login') && !path.startsWith('/api/v1/auth/mfa/verify') && path !== '/api/v1/auth/me')
      onUnauthorized();
    // An error answer is normally `{error_code, message, …}`; anything else still makes an ApiError.
    const body = (data && typeof data === 'object' ? data : {}) as Record<string, unknown>;
    const message = errorText(body.message) || errorText(body.error) || `${res.status} ${res.statusText}`;
    throw new ApiError(res.status, errorText(body.error_code) || 'error', message, body);
  }
  return { data: data as T, headers: res.headers };
}

/** A field of an error answer as text ('' when absent or empty, as the `||` fallbacks expect). */
function errorText(value: unknown): string {
  if (!value) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

export const api = {
  get: async <T>(path: string) => (await request<T>('GET', path)).data,
  post: async <T>(path: string, body?: unknown) => (await request<T>('POST', path, body ?? {})).data,
  put: async <T>(path: string, body: unknown) => (await request<T>('PUT', path, body)).data,
  delete: async <T>(path: string) => (await request<T>('DELETE', path)).data
};
