// Installs the service worker (/sw.js, scope /) that keeps the app's shell for offline use. Its address
// carries this page's static version, so a deploy installs a new worker with a fresh cache.

if ("serviceWorker" in navigator) {
  const version = new URL(import.meta.url).searchParams.get("v") || "";
  navigator.serviceWorker
    .register(`/sw.js?v=${encodeURIComponent(version)}`, { scope: "/" })
    .catch(() => {}); // no worker (private mode, an http origin): the site works as before, online only
}
