// The web card's service worker: the card page and its files, from the network when it answers,
// from the last copy kept here when it does not, so the card's code can be shown offline.
const SHELL = [/*SHELL*/];
const CACHE = "card-" + self.registration.scope;

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(self.clients.claim());
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET" || new URL(request.url).origin !== self.location.origin) {
    return;
  }
  event.respondWith(
    fetch(request)
      .then((response) => {
        if (response.ok && SHELL.includes(new URL(request.url).pathname)) {
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put(request, copy));
        }
        return response;
      })
      .catch(() =>
        caches.match(request, { ignoreSearch: true, ignoreVary: true }).then(
          (kept) => kept || new Response("", { status: 503, statusText: "Offline" }),
        ),
      ),
  );
});
