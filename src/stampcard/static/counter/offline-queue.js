// The counter's offline queue: a scan that cannot reach the server waits on this device
// (IndexedDB) with its nonce and scan time, and is sent again when the network returns.
//
// Every scan is kept *before* it is sent and forgotten only once the server has answered
// (done or refused), so a lost answer is sent again with the same nonce: the scan endpoint
// applies one nonce at most once (counter/scan.py). A scan older than a day is refused by the
// server as scan_too_old, and then forgotten like any other answer.
//
// Not every response is an answer (readAnswer):
// - none at all (the network): the scan stays first in line and is sent again;
// - the session ended (a redirect to the login page, a 401 or 403 page such as a stale CSRF
//   token): nothing more is sent from this page, the queue is kept, onSignedOut() tells the
//   screen; signing in again reloads the page, which sends the queue;
// - a server error (5xx, or any page that is not the endpoint's JSON): sent again with
//   backoff, and after SERVER_ATTEMPTS set aside (kept under "failed …", never sent again by
//   itself) so that the scans behind it go on; onLate() reports it as outcome "failed";
// - the endpoint's JSON, done or refused: the scan is done; a refused one is set aside too.
//
// Set aside (kept under "aside …" with the answer that refused it, never sent by itself): a
// queued scan the server refused once it was finally sent (someone stamped the card
// meanwhile, the cooldown), and one set aside after server errors. The screen lists them
// (setAside()); staff send one again (resend(): the same body, so the ORIGINAL nonce, and
// the server applies it at most once, whatever happened to earlier attempts) or discard it
// (discard()). A refusal that the same request can never get past (FINAL) is not sent again.
import { createStore, del, entries, get, set } from "../vendor/idb-keyval/index.js";

const RETRY_MS = 5000;
const SERVER_BACKOFF_MS = [2000, 4000, 8000];
const SERVER_ATTEMPTS = SERVER_BACKOFF_MS.length + 1;

// Refusals the same request meets every time: sending it again changes nothing.
export const FINAL = new Set([
  "card_not_found",
  "wrong_business",
  "invalid_scan",
  "invalid_count",
  "unknown_code",
  "unknown_location",
  "scan_too_old",
  "source_not_allowed",
  "device_unknown",
  "device_revoked",
  "idempotency_key_reused",
  "claim_on_phone",
]);

export function nonce() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export class Offline extends Error {}
export class SignedOut extends Error {}
export class ServerError extends Error {}

// What the scan endpoint said, or why there is no answer to show (see the top of this file).
// The request must be sent with redirect: "manual": the endpoint itself never redirects, the
// door does, to the login page.
export async function readAnswer(response) {
  if (response.type === "opaqueredirect") throw new SignedOut();
  let answer = null;
  if ((response.headers.get("Content-Type") || "").startsWith("application/json")) {
    try {
      answer = await response.json();
    } catch {
      answer = null;
    }
  }
  if (answer && typeof answer === "object" && response.status < 500) return answer;
  if (response.status === 401 || response.status === 403) throw new SignedOut();
  throw new ServerError(String(response.status));
}

export async function postScan(url, csrf, body) {
  let response;
  try {
    response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      redirect: "manual",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(body),
    });
  } catch {
    throw new Offline();
  }
  return readAnswer(response);
}

// One queue per scan URL. onChange(pending) after every change; onLate(answer, body) for each
// answer to a scan that had been queued (the screen says what became of it), and for each
// scan set aside ({ok: false, outcome: "failed", refusal: "server_error"}); onSignedOut()
// once the session has ended. keepRefused: whether a queued scan refused once sent is set
// aside too (a screen that lists them for staff), or only reported by onLate() (the kiosk,
// which the customer uses).
export function createQueue({
  url,
  csrf,
  keepRefused = true,
  onChange = () => {},
  onLate = () => {},
  onSignedOut = () => {},
}) {
  const store = createStore("stampcard-queue", "scans");
  let flushing = null;
  let pendingCount = 0;
  let signedOut = false;
  let retryAt = 0;
  let waitingWhy = "offline"; // why the first scan in line is still waiting
  const serverFailures = new Map(); // key -> server errors so far, for this page

  async function count() {
    pendingCount = (await entries(store)).filter(([key]) => key.startsWith(url + " ")).length;
    onChange(pendingCount);
    return pendingCount;
  }

  function stop() {
    if (!signedOut) {
      signedOut = true;
      onSignedOut();
    }
  }

  // A server error for the scan kept as ``key``: true once it has been set aside.
  async function serverFailed(key, body) {
    const attempts = (serverFailures.get(key) || 0) + 1;
    if (attempts < SERVER_ATTEMPTS) {
      serverFailures.set(key, attempts);
      retryAt = Date.now() + SERVER_BACKOFF_MS[attempts - 1];
      return false;
    }
    serverFailures.delete(key);
    await setAside(key, body, { ok: false, outcome: "failed", refusal: "server_error", message: "" });
    await del(key, store);
    return true;
  }

  async function setAside(key, body, answer) {
    const kept = { refusal: answer.refusal || answer.code || "", outcome: answer.outcome || "" };
    kept.message = answer.message || "";
    kept.customer = answer.card?.customer || "";
    await set(`aside ${key}`, { body, answer: kept, at: new Date().toISOString() }, store);
  }

  // The scans set aside on this device for this screen, oldest first:
  // [{key, body, answer: {refusal, outcome, message, customer}, final}]. (Scans set aside
  // before the answer was kept with them are stored as "failed …": server errors.)
  async function listSetAside() {
    const found = [];
    for (const [key, value] of await entries(store)) {
      if (key.startsWith(`aside ${url} `)) {
        found.push({ key, body: value.body, answer: value.answer });
      } else if (key.startsWith(`failed ${url} `)) {
        const answer = { refusal: "server_error", outcome: "failed", message: "", customer: "" };
        found.push({ key, body: value, answer });
      }
    }
    found.sort((a, b) => (a.body.scanned_at < b.body.scanned_at ? -1 : 1));
    for (const item of found) item.final = FINAL.has(item.answer.refusal);
    return found;
  }

  // Send a scan set aside again, as it was (its nonce too). Answers the server's answer (a
  // done one forgets the scan; a refused one is kept with the new answer), or throws Offline,
  // ServerError or SignedOut (the scan stays set aside).
  async function resend(asideKey) {
    const value = await get(asideKey, store);
    if (value === undefined) return null;
    const body = asideKey.startsWith("failed ") ? value : value.body;
    if (!asideKey.startsWith("failed ") && FINAL.has(value.answer.refusal)) {
      return { ok: false, outcome: "refused", refusal: value.answer.refusal, final: true };
    }
    let answer;
    try {
      answer = await postScan(url, csrf, body);
    } catch (error) {
      if (error instanceof SignedOut) stop();
      throw error;
    }
    await del(asideKey, store);
    if (!answer.ok) await setAside(asideKey.replace(/^(aside|failed) /, ""), body, answer);
    return answer;
  }

  async function discard(asideKey) {
    if (asideKey.startsWith(`aside ${url} `) || asideKey.startsWith(`failed ${url} `)) {
      await del(asideKey, store);
    }
  }

  // Send now; if it cannot be sent now keep it and answer {queued: true, why}, why being
  // "offline", "server_error" or "signed_out".
  async function send(fields) {
    const body = { nonce: nonce(), scanned_at: new Date().toISOString(), ...fields };
    const key = `${url} ${body.scanned_at} ${body.nonce}`;
    await set(key, body, store);
    // Earlier scans first: while some wait, this one waits behind them.
    if (pendingCount > 0 || flushing || signedOut) {
      await count();
      if (!signedOut) flush();
      return { queued: true, why: signedOut ? "signed_out" : waitingWhy, body };
    }
    try {
      const answer = await postScan(url, csrf, body);
      await del(key, store);
      return answer;
    } catch (error) {
      let why = "offline";
      if (error instanceof SignedOut) {
        why = "signed_out";
        stop();
      } else if (error instanceof ServerError) {
        why = "server_error";
        await serverFailed(key, body);
      } else if (error instanceof Offline) {
        retryAt = Date.now() + RETRY_MS;
      } else {
        throw error;
      }
      waitingWhy = why;
      await count();
      return { queued: true, why, body };
    }
  }

  function flush() {
    if (signedOut) return Promise.resolve();
    flushing ??= (async () => {
      try {
        const waiting = (await entries(store))
          .filter(([key]) => key.startsWith(url + " "))
          .sort(([a], [b]) => (a < b ? -1 : 1));
        for (const [key, body] of waiting) {
          let answer;
          try {
            answer = await postScan(url, csrf, body);
          } catch (error) {
            if (error instanceof ServerError) waitingWhy = "server_error";
            if (error instanceof ServerError && (await serverFailed(key, body))) {
              await count();
              onLate({ ok: false, outcome: "failed", refusal: "server_error", message: "" }, body);
              continue;
            }
            throw error;
          }
          serverFailures.delete(key);
          if (!answer.ok && keepRefused) await setAside(key, body, answer);
          await del(key, store);
          await count();
          onLate(answer, body);
        }
      } catch (error) {
        if (error instanceof SignedOut) stop();
        else if (error instanceof Offline) {
          waitingWhy = "offline";
          retryAt = Date.now() + RETRY_MS;
        } else if (!(error instanceof ServerError)) throw error;
      } finally {
        flushing = null;
        await count();
      }
    })();
    return flushing;
  }

  window.addEventListener("online", () => flush());
  setInterval(() => {
    if (pendingCount > 0 && Date.now() >= retryAt) flush();
  }, 1000);
  count().then((n) => n > 0 && flush());
  return {
    send,
    flush,
    count,
    pending: () => pendingCount,
    signedOut: () => signedOut,
    setAside: listSetAside,
    resend,
    discard,
  };
}
