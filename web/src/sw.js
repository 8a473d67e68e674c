// Service worker (scope "/"). Registered as /sw.js?v=VERSION, VERSION a hash of the served pages and
// the bundle (collect/web.py): a new form version or bundle is a new worker URL, so the browser
// installs it and its cache "quietpoll-BUILD-VERSION" replaces the old ones on activation.
// Form pages (/f/...): network first, the cached copy when offline, so an online load always gets
// the current page (and with it the current worker). Assets (/static/...): cache first. API
// requests, the questionnaire (/f/FORM/questionnaire, kept by the page only encrypted under its PIN
// key) and the enrolment exchange are never cached (network only, untouched). Cache keys never carry a
// query string or fragment. The cached shell holds no question text.
/* global BUILD_ID */
const VERSION = new URL(self.location.href).searchParams.get("v") || "0";
const CACHE = `quietpoll-${BUILD_ID}-${VERSION}`;
const ASSETS = ["/static/form.js", "/static/form.css"];

const keyOf = (url) => url.origin + url.pathname;
const PAGE = /^\/f\/[^/]+$/; // a form's shell page, nothing under it

async function install() {
  const cache = await caches.open(CACHE);
  await cache.addAll(ASSETS.map((path) => new Request(path, { cache: "reload" })));
  // the page that registered this worker was loaded before any worker controlled it: cache it now
  const pages = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  for (const client of pages) {
    const url = new URL(client.url);
    if (url.origin !== self.location.origin || !PAGE.test(url.pathname)) continue;
    const response = await fetch(new Request(url.pathname, { cache: "reload", credentials: "omit" }));
    if (response.ok) await cache.put(keyOf(url), response);
  }
}

self.addEventListener("install", (event) => {
  event.waitUntil(install().then(() => self.skipWaiting()));
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

async function networkFirst(request, key) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok && response.type === "basic") await cache.put(key, response.clone());
    return response;
  } catch (e) {
    const hit = await cache.match(key);
    if (hit) return hit;
    throw e;
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || url.pathname.startsWith("/api/")) return;
  if (url.pathname.startsWith("/static/")) event.respondWith(cacheFirst(request, keyOf(url)));
  else if (PAGE.test(url.pathname) && !request.headers.has("authorization")) event.respondWith(networkFirst(request, keyOf(url)));
});
