// The outbox: every check-in is saved here first (its body with its client_id, and its photos' bytes),
// then sent when the network allows. The server is idempotent on client_id and on photo bytes, so a
// retry after any failure — a dropped answer, a reload, a crash mid-upload — never makes a duplicate.

import { ApiError, NetworkError, api, session, uploadPhoto } from "./api.js";
import { OUTBOX, PHOTOS, getAll, put, transact } from "./db.js";

const FIRST_RETRY_MS = 5000;
const MAX_RETRY_MS = 5 * 60 * 1000;

// States an item goes through: waiting → sending → (gone when stored) | retry (after a delay) | error (needs the worker).
export const events = new EventTarget();
let running = null;
let runAgain = false;
let timer = null;

function changed() {
  events.dispatchEvent(new Event("change"));
}

function newKey() {
  return (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random().toString(16).slice(2));
}

async function readBytes(file) {
  if (file.arrayBuffer) return file.arrayBuffer();
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsArrayBuffer(file);
  });
}

// Keep a picked photo's original bytes on the phone; return its reference for a draft or an item.
export async function keepPhoto(file) {
  const photo = { key: newKey(), name: file.name || "photo.jpg", type: file.type || "application/octet-stream" };
  const data = await readBytes(file);
  await put(PHOTOS, { ...photo, data });
  return { ...photo, size: data.byteLength, photo_id: null };
}

export async function photoBlob(key) {
  const stored = await transact([PHOTOS], "readonly", (s) => s[PHOTOS].get(key));
  return stored ? new Blob([stored.data], { type: stored.type }) : null;
}

export function forgetPhotos(keys) {
  return transact([PHOTOS], "readwrite", (s) => keys.forEach((key) => s[PHOTOS].delete(key)));
}

export async function items() {
  const all = await getAll(OUTBOX).catch(() => []);
  return all.sort((a, b) => a.created_at.localeCompare(b.created_at));
}

// Queue a check-in. `item` = {client_id, method: "POST"|"PUT", visit_id?, label, body (without photo_ids),
// photos: [{key, name, type, size, photo_id}] (key null for a photo already on the server)}.
export async function enqueue(item) {
  const user = session.user;
  await put(OUTBOX, {
    ...item,
    user_id: user ? user.id : null,
    created_at: item.created_at || new Date().toISOString(),
    state: "waiting", attempts: 0, next_try_at: 0, message: "", fields: {}, progress: null,
  });
  changed();
  syncSoon();
}

export async function discard(clientId) {
  const item = (await items()).find((candidate) => candidate.client_id === clientId);
  if (!item) return;
  await transact([OUTBOX, PHOTOS], "readwrite", (s) => {
    s[OUTBOX].delete(clientId);
    item.photos.filter((photo) => photo.key).forEach((photo) => s[PHOTOS].delete(photo.key));
  });
  changed();
}

async function save(item) {
  await put(OUTBOX, item);
  changed();
}

function retryDelay(attempts, error) {
  if (error instanceof ApiError && error.retryAfter) return error.retryAfter * 1000;
  const delay = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.max(0, attempts - 1));
  return delay * (0.8 + Math.random() * 0.4);
}

function isTransient(error) {
  return error instanceof NetworkError || (error instanceof ApiError && (error.status >= 500 || error.status === 429));
}

async function sendItem(item) {
  item.state = "sending";
  item.message = "";
  await save(item);
  for (let index = 0; index < item.photos.length; index += 1) {
    const photo = item.photos[index];
    if (photo.photo_id) continue;
    const blob = await photoBlob(photo.key);
    if (!blob) throw new ApiError(422, { error: { code: "photo_missing", message: "照片已丢失，请删除后重新拍摄" } });
    item.progress = { index, count: item.photos.length, fraction: 0 };
    changed();
    const stored = await uploadPhoto(blob, photo.name, (fraction) => {
      item.progress = { index, count: item.photos.length, fraction };
      events.dispatchEvent(new CustomEvent("progress", { detail: { client_id: item.client_id, ...item.progress } }));
    });
    photo.photo_id = stored.id;
    await save(item);
  }
  item.progress = null;
  const body = { ...item.body, photo_ids: item.photos.map((photo) => photo.photo_id), client_sent_at: nowWithOffset() };
  if (item.method === "PUT") {
    try {
      return await api(`/visits/${item.visit_id}`, { method: "PUT", body });
    } catch (error) {
      // A resubmission whose answer was lost: the visit is no longer returned, so it went through.
      if (error instanceof ApiError && error.code === "invalid_transition") {
        const visit = await api(`/visits/${item.visit_id}`);
        if (visit.status !== "returned") return visit;
      }
      throw error;
    }
  }
  return api("/visits", { method: "POST", body: { ...body, client_id: item.client_id } });
}

async function runOnce() {
  const user = session.user;
  if (!session.token || !user) return;
  for (const item of await items()) {
    if (item.user_id !== user.id || item.state === "error") continue;
    if (item.state === "retry" && item.next_try_at > Date.now()) continue;
    try {
      const visit = await sendItem(item);
      await transact([OUTBOX, PHOTOS], "readwrite", (s) => {
        s[OUTBOX].delete(item.client_id);
        item.photos.filter((photo) => photo.key).forEach((photo) => s[PHOTOS].delete(photo.key));
      });
      events.dispatchEvent(new CustomEvent("sent", { detail: visit }));
      changed();
    } catch (error) {
      item.progress = null;
      if (error instanceof ApiError && error.status === 401) {
        item.state = "waiting";
        item.message = "登录已失效，重新登录后继续上传";
        await save(item);
        return;
      }
      if (isTransient(error)) {
        item.attempts += 1;
        item.state = "retry";
        item.next_try_at = Date.now() + retryDelay(item.attempts, error);
        item.message = error.message;
      } else {
        item.state = "error";
        item.message = error.message;
        item.fields = error.fields || {};
      }
      await save(item);
      // Without a network the other items would fail the same way: wait for the next try.
      if (error instanceof NetworkError) break;
    }
  }
}

function schedule(all) {
  clearTimeout(timer);
  const waiting = all.filter((item) => item.state === "retry");
  if (!waiting.length) return;
  const next = Math.min(...waiting.map((item) => item.next_try_at));
  timer = setTimeout(syncSoon, Math.max(1000, next - Date.now()));
}

// Send what is due now. One run at a time per page, and across tabs where the browser has Web Locks.
export function syncSoon() {
  if (running) {
    // Something was queued (or the network came back) during this run: look again when it ends.
    runAgain = true;
    return running;
  }
  const work = () => runOnce();
  running = (navigator.locks ? navigator.locks.request("zoufang-outbox", work) : work())
    .catch(() => undefined)
    .then(async () => {
      running = null;
      if (runAgain) {
        runAgain = false;
        return syncSoon();
      }
      schedule(await items());
      return undefined;
    });
  return running;
}

// The network is back, or the worker asked: every item waiting for a retry goes now.
export async function retryAllNow() {
  for (const item of await items()) {
    if (item.state === "retry" || item.state === "waiting") {
      item.next_try_at = 0;
      await put(OUTBOX, item);
    }
  }
  changed();
  return syncSoon();
}

// On opening the page: an upload cut off by a crash or a reload is simply tried again.
export async function recover() {
  for (const item of await items()) {
    if (item.state === "sending") {
      item.state = "waiting";
      item.progress = null;
      await put(OUTBOX, item);
    }
  }
}

export function nowWithOffset(date = new Date()) {
  const pad = (value) => String(Math.floor(Math.abs(value))).padStart(2, "0");
  const offset = -date.getTimezoneOffset();
  const sign = offset >= 0 ? "+" : "-";
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:` +
    `${pad(date.getMinutes())}:${pad(date.getSeconds())}${sign}${pad(offset / 60)}:${pad(offset % 60)}`;
}
