// Installs the card's service worker, which keeps a copy of this page for when the network is gone.
const script = document.querySelector("script[data-worker]");
if (script && "serviceWorker" in navigator) {
  navigator.serviceWorker
    .register(script.dataset.worker, { scope: script.dataset.scope })
    .catch(() => {
      // Without a worker the card still works online.
    });
}
