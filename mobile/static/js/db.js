// IndexedDB: the outbox of check-ins, their photos' bytes, and the last lists seen (for offline reading).
// Photos are kept as ArrayBuffers, not Blobs: some in-app browsers cannot store Blobs in IndexedDB.

const DB_NAME = "zoufang-m";
const DB_VERSION = 1;
export const OUTBOX = "outbox";
export const PHOTOS = "photos";
export const CACHE = "cache";

let opening = null;

export function openDb() {
  if (!opening) {
    opening = new Promise((resolve, reject) => {
      if (!("indexedDB" in self)) {
        reject(new Error("此浏览器不支持离线保存（IndexedDB）"));
        return;
      }
      const request = indexedDB.open(DB_NAME, DB_VERSION);
      request.onupgradeneeded = () => {
        const db = request.result;
        db.createObjectStore(OUTBOX, { keyPath: "client_id" });
        db.createObjectStore(PHOTOS, { keyPath: "key" });
        db.createObjectStore(CACHE, { keyPath: "key" });
      };
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }
  return opening;
}

// Run `work(stores)` in one transaction over `names`; resolve with its requests' results once committed.
export async function transact(names, mode, work) {
  const db = await openDb();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(names, mode);
    const stores = Object.fromEntries(names.map((name) => [name, tx.objectStore(name)]));
    const pending = work(stores);
    tx.oncomplete = () => resolve(pending && "result" in pending ? pending.result : undefined);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new Error("IndexedDB transaction aborted"));
  });
}

export const get = (store, key) => transact([store], "readonly", (s) => s[store].get(key));
export const getAll = (store) => transact([store], "readonly", (s) => s[store].getAll());
export const put = (store, value) => transact([store], "readwrite", (s) => s[store].put(value));
export const remove = (store, key) => transact([store], "readwrite", (s) => s[store].delete(key));

export async function cacheGet(key) {
  const entry = await get(CACHE, key).catch(() => undefined);
  return entry ? entry.value : undefined;
}

export function cacheSet(key, value) {
  return put(CACHE, { key, value, saved_at: new Date().toISOString() }).catch(() => undefined);
}
