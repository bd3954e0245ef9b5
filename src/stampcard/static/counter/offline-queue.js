// The counter's offline queue: a scan that cannot reach the server waits on this device
// (IndexedDB) with its nonce and scan time, and is sent again when the network returns.
//
// Every scan is kept *before* it is sent and forgotten only once the server has answered
// (done or refused), so a lost answer is sent again with the same nonce: the scan endpoint
// applies one nonce at most once (counter/scan.py). A scan older than a day is refused by the
// server as scan_too_old, and then forgotten like any other answer.
import { createStore, del, entries, set } from "../vendor/idb-keyval/index.js";

const RETRY_MS = 5000;

export function nonce() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

class Offline extends Error {}

// One queue per scan URL. onChange(pending) after every change; onLate(answer) for each answer
// to a scan that had been queued (the screen says what became of it).
export function createQueue({ url, csrf, onChange = () => {}, onLate = () => {} }) {
  const store = createStore("stampcard-queue", "scans");
  let flushing = null;
  let pendingCount = 0;

  async function post(body) {
    let response;
    try {
      response = await fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
        body: JSON.stringify(body),
      });
    } catch {
      throw new Offline();
    }
    // A proxy's error page or a server down is no answer: keep the scan and try again.
    if (response.status >= 500) throw new Offline();
    try {
      return await response.json();
    } catch {
      throw new Offline();
    }
  }

  async function count() {
    pendingCount = (await entries(store)).filter(([key]) => key.startsWith(url + " ")).length;
    onChange(pendingCount);
    return pendingCount;
  }

  // Send now; if the network is down keep it and answer {queued: true}.
  async function send(fields) {
    const body = { nonce: nonce(), scanned_at: new Date().toISOString(), ...fields };
    const key = `${url} ${body.scanned_at} ${body.nonce}`;
    await set(key, body, store);
    // Earlier scans first: while some wait, this one waits behind them.
    if (pendingCount > 0 || flushing) {
      await count();
      flush();
      return { queued: true, body };
    }
    try {
      const answer = await post(body);
      await del(key, store);
      return answer;
    } catch (error) {
      if (!(error instanceof Offline)) throw error;
      await count();
      return { queued: true, body };
    }
  }

  function flush() {
    flushing ??= (async () => {
      try {
        const waiting = (await entries(store))
          .filter(([key]) => key.startsWith(url + " "))
          .sort(([a], [b]) => (a < b ? -1 : 1));
        for (const [key, body] of waiting) {
          const answer = await post(body);
          await del(key, store);
          await count();
          onLate(answer, body);
        }
      } catch (error) {
        if (!(error instanceof Offline)) throw error;
      } finally {
        flushing = null;
        await count();
      }
    })();
    return flushing;
  }

  window.addEventListener("online", () => flush());
  setInterval(() => {
    if (pendingCount > 0) flush();
  }, RETRY_MS);
  count().then((n) => n > 0 && flush());
  return { send, flush, count, pending: () => pendingCount };
}
