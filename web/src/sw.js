// Service worker (scope "/"): the form page and its assets, cache-first, so a loaded form works
// offline. API requests are never cached (network only, untouched). Cache keys never carry a query
// string, so an enrolment URL's token is never stored in the cache.
/* global BUILD_ID */
const CACHE = `quietpoll-${BUILD_ID}`;
const ASSETS = ["/static/form.js", "/static/form.css"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(ASSETS)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("quietpoll-") && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

async function cacheFirst(request, key) {
  const cache = await caches.open(CACHE);
  const hit = await cache.match(key);
  if (hit) return hit;
  const response = await fetch(request);
  if (response.ok && response.type === "basic") await cache.put(key, response.clone());
  return response;
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || url.pathname.startsWith("/api/")) return;
  if (url.pathname.startsWith("/static/") || url.pathname.startsWith("/f/")) {
    event.respondWith(cacheFirst(request, url.origin + url.pathname));
  }
});
