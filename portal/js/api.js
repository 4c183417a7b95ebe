// The management API as the page calls it: the key from the tab's session storage in
// `x-functions-key` (never in a URL or a cookie), every call with a deadline, every refusal an ApiError.

const KEY = "certgate.managementKey";
const DEADLINE_MS = 60_000;
const MAX_PAGES = 200;

export const session = {
  get key() {
    return sessionStorage.getItem(KEY);
  },
  set key(value) {
    sessionStorage.setItem(KEY, value);
  },
  forget() {
    sessionStorage.removeItem(KEY);
  },
};

/** An answer of the API that is not a success, in the contract's words. */
export class ApiError extends Error {
  constructor(status, code, message, target, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.target = target;
    this.details = details ?? [];
  }
}

/** A 401: the key was refused. The page forgets it and asks again. */
export class KeyRefused extends ApiError {}

let reauthenticate = null;

/** `handler(refused)`: asks for the key again over the current view; answers true once a new key
 * is accepted (the refused call is then sent again), false when the operator signs out instead. */
export function onKeyRefused(handler) {
  reauthenticate = handler;
}

/** Calls `method path` (relative to the page: `management/...`); answers {status, data, etag}.
 * A 401 asks for the key again (unless `reauth: false`) and repeats the call with the new one. */
export async function call(method, path, { body, ifMatch, ifNoneMatch, reauth = true } = {}) {
  const headers = { Accept: "application/json", "x-functions-key": session.key ?? "" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (ifMatch) headers["If-Match"] = ifMatch;
  if (ifNoneMatch) headers["If-None-Match"] = ifNoneMatch;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), DEADLINE_MS);
  let response;
  let text;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
      credentials: "omit",
      redirect: "error",
      signal: controller.signal,
    });
    text = await response.text();
  } catch (error) {
    const message = controller.signal.aborted
      ? `The management API did not answer within ${DEADLINE_MS / 1000} s.`
      : `The management API could not be reached (${error.message}).`;
    throw new ApiError(0, "NetworkError", message);
  } finally {
    clearTimeout(timer);
  }
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (response.ok) return { status: response.status, data, etag: response.headers.get("ETag") };
  const error = data && typeof data === "object" ? data.error : null;
  const message = error?.message ?? `The management API answered ${response.status} ${response.statusText}.`.replace(" .", ".");
  const code = error?.code ?? `Http${response.status}`;
  if (response.status === 401) {
    const refused = new KeyRefused(401, code, message, error?.target, error?.details);
    if (reauth && reauthenticate && (await reauthenticate(refused))) {
      return call(method, path, { body, ifMatch, ifNoneMatch, reauth });
    }
    throw refused;
  }
  throw new ApiError(response.status, code, message, error?.target, error?.details);
}

/** Every item of a list, following `nextLink` (only on this page's own origin). */
export async function listAll(path) {
  const items = [];
  let next = path;
  for (let page = 0; next && page < MAX_PAGES; page += 1) {
    const { data } = await call("GET", next);
    items.push(...(data?.value ?? []));
    next = data?.nextLink ?? null;
    if (next && new URL(next, location.href).origin !== location.origin) {
      throw new ApiError(0, "UnexpectedNextLink", `The list's next page is on another origin (${next}).`);
    }
  }
  return items;
}

/** A path segment of the API (`management/certificates/${id(name)}`). */
export function id(text) {
  return encodeURIComponent(text);
}
