// Reelm's service worker (served at /sw.js, scope /; reelm/web/app_shell.py). It keeps the app's shell for
// this static version, so that the installed app opens offline to a page that says so:
// - navigations go to the network first; when it fails, the cached offline page answers;
// - static files with a version in their address come from the cache first; other static files (ES modules
//   import each other by plain address) from the network, the cache only when offline;
// - nothing else is ever cached or answered from a cache: API answers, media and pages are private to an
//   account, and neither is anything marked private or no-store.
// A deploy changes the version in the worker's address (sw-register.js), which installs a new worker whose
// cache replaces the old one.

const VERSION = new URL(self.location.href).searchParams.get("v") || "unversioned";
const PREFIX = "reelm-shell-";
const CACHE = `${PREFIX}${VERSION}`;
const OFFLINE = "/offline";
const SHELL = [
  OFFLINE,
  `/static/css/app.css?v=${VERSION}`,
  `/static/js/app.js?v=${VERSION}`,
  `/static/favicon.svg?v=${VERSION}`,
  `/static/icons/icon.svg?v=${VERSION}`,
  `/static/icons/icon-192.png?v=${VERSION}`,
  `/static/icons/icon-512.png?v=${VERSION}`,
  `/static/icons/icon-maskable-192.png?v=${VERSION}`,
  `/static/icons/icon-maskable-512.png?v=${VERSION}`,
];

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SHELL))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) =>
        Promise.all(names.filter((name) => name.startsWith(PREFIX) && name !== CACHE).map((name) => caches.delete(name))),
      )
      .then(() => self.clients.claim()),
  );
});

function storable(response) {
  if (!response || !response.ok || response.type !== "basic") return false;
  if (response.headers.has("set-cookie")) return false;
  const control = (response.headers.get("cache-control") || "").toLowerCase();
  return !/\b(private|no-store)\b/.test(control);
}

async function fromCacheFirst(request) {
  const cached = await caches.match(request);
  if (cached) return cached;
  const response = await fetch(request);
  if (storable(response)) {
    const cache = await caches.open(CACHE);
    await cache.put(request, response.clone());
  }
  return response;
}

async function fromNetworkFirst(request) {
  try {
    const response = await fetch(request);
    if (storable(response)) {
      const cache = await caches.open(CACHE);
      await cache.put(request, response.clone());
    }
    return response;
  } catch (error) {
    const cached = await caches.match(request);
    if (cached) return cached;
    throw error;
  }
}

async function pageOrOffline(request) {
  try {
    return await fetch(request);
  } catch {
    const offline = await caches.match(OFFLINE);
    return offline || Response.error();
  }
}

self.addEventListener("fetch", (event) => {
  const { request } = event;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    event.respondWith(pageOrOffline(request));
    return;
  }
  if (!url.pathname.startsWith("/static/")) return; // the API, media and the rest: the network's, untouched
  event.respondWith(url.searchParams.has("v") ? fromCacheFirst(request) : fromNetworkFirst(request));
});
