// The API, as the page calls it: same origin, the member's bearer token on every call,
// errors as problem+json whose `detail` is shown to the member as it is.
//
// Streams (the answer, a job's progress) are server-sent events read with fetch: the
// browser's EventSource can neither send an Authorization header nor POST a question.

import { accessToken } from "./session.js";

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

/** Called when the API refuses the token for good (the page shows the sign-in again). */
let onSignedOut = () => {};
export function whenSignedOut(callback) { onSignedOut = callback; }

async function problemOf(response) {
  const body = await response.json().catch(() => null);
  const detail = body && (body.detail || body.title);
  return new ApiError(response.status, detail || `the service answered ${response.status}`);
}

/** fetch() with the member's token; a 401 refreshes a Supabase session once and retries. */
export async function call(path, options = {}, retried = false) {
  const token = await accessToken({ forceRefresh: retried });
  const headers = new Headers(options.headers || {});
  if (token) headers.set("Authorization", `Bearer ${token}`);
  const response = await fetch(path, { ...options, headers, credentials: "omit" });
  if (response.status === 401) {
    if (!retried && (await accessToken({ forceRefresh: true }))) {
      return call(path, options, true);
    }
    const error = await problemOf(response);
    onSignedOut(error.message);
    throw error;
  }
  return response;
}

export async function json(path, options = {}) {
  const response = await call(path, options);
  if (!response.ok) throw await problemOf(response);
  return response.status === 204 ? null : response.json();
}

export function postJson(path, body, headers = {}) {
  return call(path, {
    method: "POST", body: JSON.stringify(body),
    headers: { "Content-Type": "application/json", ...headers },
  });
}

export { problemOf };

/** Reads a text/event-stream body, calling onEvent({event, data, id}) for each event. */
export async function readEvents(response, onEvent) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value.replace(/\r\n?/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = { event: "message", data: [], id: null };
      for (const line of block.split("\n")) {
        if (!line || line.startsWith(":")) continue; // a comment: keep-alive
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "event") event.event = value;
        else if (field === "data") event.data.push(value);
        else if (field === "id") event.id = value;
      }
      if (event.data.length) {
        if (onEvent({ ...event, data: event.data.join("\n") }) === false) {
          await reader.cancel();
          return;
        }
      }
    }
  }
}

/** Uploads one file (multipart field `file`), reporting progress (0..1) as it is sent.
 *  XMLHttpRequest, because fetch() cannot report an upload's progress. */
export async function upload(file, onProgress) {
  const token = await accessToken();
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("POST", "/api/v1/documents");
    if (token) request.setRequestHeader("Authorization", `Bearer ${token}`);
    request.responseType = "json";
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    request.addEventListener("load", () => {
      const body = request.response;
      if (request.status === 200 || request.status === 202) {
        resolve(body);
      } else {
        if (request.status === 401) onSignedOut((body && body.detail) || "");
        reject(new ApiError(request.status, (body && (body.detail || body.title))
          || `the upload was refused (${request.status})`));
      }
    });
    request.addEventListener("error", () => reject(new ApiError(0,
      "the upload did not reach the service: check your connection and try again")));
    const form = new FormData();
    form.append("file", file, file.name);
    request.send(form);
  });
}
