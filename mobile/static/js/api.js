// The public API /api/v1, as any phone client uses it. The token lives in localStorage, never in a URL.

const BASE = "/api/v1";
const TOKEN_KEY = "zoufang.token";
const USER_KEY = "zoufang.user";
const JSON_TIMEOUT_MS = 30000;
const UPLOAD_TIMEOUT_MS = 180000;

export class ApiError extends Error {
  constructor(status, body, headers) {
    const error = (body && body.error) || {};
    super(error.message || `服务器返回 ${status}`);
    this.status = status;
    this.code = error.code || "http_" + status;
    this.fields = error.fields || {};
    this.retryAfter = Number((headers && headers.get && headers.get("Retry-After")) || 0);
  }
}

// The request never reached the server, or its answer never came back: try again later.
export class NetworkError extends Error {
  constructor(message = "网络不可用") {
    super(message);
  }
}

export const session = {
  get token() { return localStorage.getItem(TOKEN_KEY); },
  get user() {
    try { return JSON.parse(localStorage.getItem(USER_KEY) || "null"); } catch { return null; }
  },
  save(login) {
    localStorage.setItem(TOKEN_KEY, login.token);
    localStorage.setItem(USER_KEY, JSON.stringify(login.user));
  },
  // Forget the token only; queued work and cached lists stay for the next login.
  clear() {
    localStorage.removeItem(TOKEN_KEY);
  },
};

function expired(error) {
  if (error.status === 401) {
    session.clear();
    dispatchEvent(new CustomEvent("zoufang:unauthorized", { detail: error }));
  }
}

export async function api(path, { method = "GET", body, auth = true } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (auth) {
    if (!session.token) {
      const error = new ApiError(401, { error: { code: "missing_token", message: "请先登录" } });
      expired(error);
      throw error;
    }
    headers.Authorization = "Bearer " + session.token;
  }
  const controller = "AbortController" in self ? new AbortController() : null;
  const timer = controller && setTimeout(() => controller.abort(), JSON_TIMEOUT_MS);
  let response;
  try {
    response = await fetch(BASE + path, {
      method, headers, cache: "no-store", credentials: "omit",
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: controller ? controller.signal : undefined,
    });
  } catch {
    throw new NetworkError();
  } finally {
    if (timer) clearTimeout(timer);
  }
  if (response.status === 204) return null;
  let data = null;
  try { data = await response.json(); } catch { data = null; }
  if (!response.ok) {
    const error = new ApiError(response.status, data, response.headers);
    if (auth) expired(error);
    throw error;
  }
  return data;
}

// POST /photos with the original bytes; XMLHttpRequest because fetch reports no upload progress.
export function uploadPhoto(blob, filename, onProgress) {
  return new Promise((resolve, reject) => {
    const token = session.token;
    if (!token) {
      const error = new ApiError(401, { error: { code: "missing_token", message: "请先登录" } });
      expired(error);
      reject(error);
      return;
    }
    const form = new FormData();
    form.append("file", blob, filename);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", BASE + "/photos");
    xhr.timeout = UPLOAD_TIMEOUT_MS;
    xhr.setRequestHeader("Authorization", "Bearer " + token);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    };
    xhr.onload = () => {
      let data = null;
      try { data = JSON.parse(xhr.responseText); } catch { data = null; }
      if (xhr.status >= 200 && xhr.status < 300 && data) {
        onProgress(1);
        resolve(data);
        return;
      }
      if (xhr.status === 0) {
        reject(new NetworkError());
        return;
      }
      const error = new ApiError(xhr.status, data, { get: (name) => xhr.getResponseHeader(name) });
      expired(error);
      reject(error);
    };
    xhr.onerror = () => reject(new NetworkError());
    xhr.ontimeout = () => reject(new NetworkError("上传超时"));
    xhr.send(form);
  });
}

// A photo's served copy as an object URL (an <img src> cannot carry the bearer token).
export async function photoObjectUrl(path) {
  const response = await fetch(path, { headers: { Authorization: "Bearer " + session.token }, credentials: "omit" });
  if (!response.ok) throw new ApiError(response.status, null);
  return URL.createObjectURL(await response.blob());
}
