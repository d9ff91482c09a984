// Zoufang phone client: the app shell is served from this cache so the page opens without signal.
// The API is never cached here: visits and photos go through the page's own IndexedDB queue.
const CACHE = "zoufang-m-{{ version }}";
const SHELL = {{ shell_url|tojson }};
const ASSETS = {{ assets|tojson }};

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll([SHELL, ...ASSETS])).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((key) => key.startsWith("zoufang-m-") && key !== CACHE)
        .map((key) => caches.delete(key))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin || !url.pathname.startsWith(SHELL)) return;
  // Cache first: a village's weak signal must not keep the page from opening. A deploy changes this
  // file (the cache name), so phones fetch the new shell once and then run on it.
  const cached = request.mode === "navigate" ? caches.match(SHELL) : caches.match(request, { ignoreSearch: true });
  event.respondWith(cached.then((hit) => hit || fetch(request)));
});
