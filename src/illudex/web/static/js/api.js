// Talking to the REST API: JSON in and out; every change carries the X-Illudex header
// (the server refuses changes without it, which keeps other web sites out).

export class ApiError extends Error {
  constructor(status, message, data = null) {
    super(message);
    this.status = status;
    this.data = data; // the whole answer: a 409 says what a change would do
  }
}

async function request(method, url, body, options = {}) {
  const headers = { Accept: "application/json" };
  let payload;
  if (method !== "GET") headers["X-Illudex"] = "1";
  if (body instanceof Blob) {
    headers["Content-Type"] = body.type || "application/octet-stream";
    payload = body;
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, { method, headers, body: payload, credentials: "same-origin",
                                  signal: options.signal });
  } catch (e) {
    if (e.name === "AbortError") throw e;
    throw new ApiError(0, "the illudex server does not answer (is `illudex serve` running?)");
  }
  let data = null;
  try { data = await response.json(); } catch { /* an empty or non-JSON body */ }
  if (!response.ok) throw new ApiError(response.status, (data && data.error) || response.statusText, data);
  return data;
}

export const api = {
  get: (url, options) => request("GET", url, undefined, options),
  post: (url, body) => request("POST", url, body === undefined ? {} : body),
};

export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}
