// The public REST API, called with the tab's key. Every error becomes an ApiError carrying the
// RFC 9457 problem document the server sent (or one made up for a network failure).

import { getKey } from "./key.js";

export class ApiError extends Error {
  constructor(problem) {
    super(problem.detail || problem.title || "request failed");
    this.problem = problem;
    this.status = problem.status;
  }
}

function headers(extra = {}) {
  return { "X-API-Key": getKey(), ...extra };
}

export function url(path, query) {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === "") continue;
    if (Array.isArray(value)) value.forEach((v) => params.append(name, v));
    else params.append(name, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

async function problemOf(response) {
  const text = await response.text();
  try {
    const body = JSON.parse(text);
    if (body && typeof body === "object") return { status: response.status, ...body };
  } catch (_) {
    /* not JSON */
  }
  return { status: response.status, title: response.statusText || "Error", detail: text.slice(0, 500) };
}

/** One call: method, path (or a `next` URL), optional query object, JSON body, extra headers. */
export async function call(method, path, { query, body, extraHeaders } = {}) {
  const init = { method, headers: headers(extraHeaders) };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = init.headers["Content-Type"] || "application/json";
  }
  let response;
  try {
    response = await fetch(url(path, query), init);
  } catch (error) {
    throw new ApiError({ status: 0, title: "Network error", detail: String(error) });
  }
  if (!response.ok) throw new ApiError(await problemOf(response));
  if (response.status === 204) return { body: null, response };
  const type = response.headers.get("content-type") || "";
  const parsed = type.includes("json") ? await response.json() : await response.text();
  return { body: parsed, response };
}

export async function get(path, query) {
  return (await call("GET", path, { query })).body;
}

export async function post(path, body, query) {
  return (await call("POST", path, { body, query })).body;
}

export async function del(path, query, extraHeaders) {
  return (await call("DELETE", path, { query, extraHeaders })).body;
}

/** A download of an API answer (an export) as a file: fetched with the key, saved through a blob. */
export async function download(path, query, filename) {
  let response;
  try {
    response = await fetch(url(path, query), { headers: headers() });
  } catch (error) {
    throw new ApiError({ status: 0, title: "Network error", detail: String(error) });
  }
  if (!response.ok) throw new ApiError(await problemOf(response));
  const blob = await response.blob();
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
  return blob.size;
}

/** An upload with progress: XMLHttpRequest reports the bytes sent, fetch does not. */
export function upload(path, file, contentType, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", path);
    xhr.setRequestHeader("X-API-Key", getKey());
    xhr.setRequestHeader("Content-Type", contentType);
    xhr.upload.addEventListener("progress", (event) => {
      onProgress(event.loaded, event.lengthComputable ? event.total : file.size);
    });
    xhr.addEventListener("load", () => {
      let body = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch (_) {
        body = { detail: xhr.responseText.slice(0, 500) };
      }
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(file.size, file.size);
        resolve(body);
      } else {
        reject(new ApiError({ status: xhr.status, title: xhr.statusText, ...body }));
      }
    });
    xhr.addEventListener("error", () =>
      reject(new ApiError({ status: 0, title: "Network error", detail: "upload failed" })),
    );
    xhr.send(file);
  });
}

export const paths = {
  sessions: () => "/sessions",
  session: (sid) => `/sessions/${encodeURIComponent(sid)}`,
  datasets: (sid) => `/sessions/${encodeURIComponent(sid)}/datasets`,
  dataset: (sid, did) => `/sessions/${encodeURIComponent(sid)}/datasets/${encodeURIComponent(did)}`,
};
