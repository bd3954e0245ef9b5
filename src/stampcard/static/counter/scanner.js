// The staff scanner: camera (QR + Code 128, our own WebAssembly decoder), typed codes and
// the card search all end in one POST to the scan endpoint (counter/scan.py documents it).
// A claim or receipt code scanned while a card is on screen is offered for that card: one
// tap claims it (action "claim"); with no card on screen the answer asks for the card first.
import { startCamera } from "./camera.js";
import { createQueue, nonce, Offline, postScan, ServerError, SignedOut } from "./offline-queue.js";
import { setAsideList } from "./set-aside.js";

const root = document.getElementById("scanner");
const text = JSON.parse(document.getElementById("scanner-text").textContent);
const $ = (id) => document.getElementById(id);
const video = $("video");
const status = $("camera-status");
const result = $("result");
const locationSelect = $("location");

// The same code seen again this soon is the same scan (the camera sees it on every frame);
// from the server's SCANNER_DEBOUNCE_SECONDS.
const DEBOUNCE_MS = Number(root.dataset.debounceMs);
let busy = false;
let lastCode = "";
let lastAt = 0;
let current = null; // the code whose answer the screen shows, as it was sent
let cardCode = null; // the card on screen: what stamp, hand over, undo and claim act on
let claimCode = null; // the claim or receipt code offered for that card
let heldCode = null; // another code the camera sees while a card is on screen, not yet shown
let keptCode = null; // one the cashier chose not to switch to
let seenEvent = null;
let undoEvent = null;
let count = 1;
let maxPerVisit = 1;
// The card found by the search ("customer forgot the phone"): only it may be handed over to
// the customer's phone, by who may (the page has a hand-over URL only for them).
const handOverUrl = root.dataset.handOverUrl;
let searchedCode = null;
let handOverTimer = null;

function fill(template, values) {
  return template.replace(/%\((\w+)\)s/g, (_, name) => String(values[name] ?? ""));
}

// Signed out (a member's session ended, or a device page's CSRF token went stale): the way
// back is signing in again, or reloading a device's page; either reloads this page.
const signedOutText = root.dataset.device ? text.reload_needed : text.signed_out;
function signInLink() {
  const link = document.createElement("a");
  link.href = root.dataset.signInUrl;
  link.textContent = root.dataset.device ? text.reload : text.sign_in;
  return link;
}

// What a queued scan that could not be sent yet says, by why it waits.
const QUEUED = { offline: text.queued, server_error: text.queued_server, signed_out: signedOutText };

// The queued stamp whose "saved on this device" the result shows, until the screen moves on:
// once it is finally sent, the result says what became of it (showLate).
let queuedNonce = null;

// The scans set aside on this device, until sent again or discarded (set-aside.js). One sent
// again and done shows on the result, as any stamp.
let setAside = null;
const renderSetAside = (notes) => setAside?.render(notes);

// A stamp waits on this device while it cannot be sent (offline-queue.js); looking a card
// up, handing over and undoing need the server's answer, so they are not queued.
const queue = createQueue({
  url: root.dataset.scanUrl,
  csrf: root.dataset.csrf,
  onChange: (n) => {
    const pending = $("pending");
    pending.hidden = n === 0;
    pending.textContent = fill(text.pending, { n });
    root.dataset.pending = String(n);
  },
  onLate: (answer, body) => {
    if (!answer.ok) {
      renderSetAside();
      navigator.vibrate?.([60, 60, 60]);
    }
    if (queuedNonce !== null && body?.nonce === queuedNonce && !result.hidden) showLate(answer);
  },
  onSignedOut: () => {
    const banner = $("signed-out");
    banner.replaceChildren(signedOutText, " ", signInLink());
    banner.hidden = false;
    root.dataset.signedOut = "1";
  },
});

setAside = setAsideList({
  queue,
  view: $("late-view"),
  list: $("late"),
  root,
  text,
  signedOutText,
  onSent: (answer, item) => {
    show(answer, item.body.code, "resend");
    $("message").textContent = fill(text.resent_done, { message: answer.message });
  },
  afterAction: () => {},
});
renderSetAside();

// ---- location (members only; a device has its own) ----
if (locationSelect) {
  const saved = localStorage.getItem("stampcard-location:" + root.dataset.scanUrl);
  if (saved !== null && [...locationSelect.options].some((o) => o.value === saved)) {
    locationSelect.value = saved;
  }
  locationSelect.addEventListener("change", () =>
    localStorage.setItem("stampcard-location:" + root.dataset.scanUrl, locationSelect.value),
  );
}

// ---- talking to the scan endpoint ----
async function send(code, action = "scan", extra = {}) {
  if (busy) return;
  busy = true;
  root.setAttribute("aria-busy", "true");
  const body = { code, nonce: nonce(), scanned_at: new Date().toISOString(), action, ...extra };
  if (locationSelect && locationSelect.value) body.location = Number(locationSelect.value);
  if (action === "scan" && cardCode) body.card = cardCode;
  if (action === "stamp") {
    try {
      const answer = await queue.send(body);
      if (answer.queued) {
        const message = QUEUED[answer.why] || text.queued;
        show({ ok: true, outcome: "queued", queued: answer.why, message }, code, action);
        $("card-view").hidden = true;
        queuedNonce = answer.body.nonce;
      } else {
        show(answer, code, action);
      }
    } finally {
      busy = false;
      root.removeAttribute("aria-busy");
    }
    return;
  }
  try {
    let answer;
    for (let attempt = 0; ; attempt++) {
      try {
        answer = await postScan(root.dataset.scanUrl, root.dataset.csrf, body);
        break;
      } catch (error) {
        // Lost on the way: the same nonce again is applied at most once.
        if (!(error instanceof Offline) || attempt === 2) throw error;
        await new Promise((r) => setTimeout(r, 500 * (attempt + 1)));
      }
    }
    show(answer, code, action);
  } catch (error) {
    let refusal = "offline";
    let message = text.offline;
    if (error instanceof SignedOut) [refusal, message] = ["signed_out", signedOutText];
    else if (error instanceof ServerError) [refusal, message] = ["server_error", text.server_error];
    else if (!(error instanceof Offline)) throw error;
    show({ ok: false, outcome: "refused", refusal, message }, code, action);
  } finally {
    busy = false;
    root.removeAttribute("aria-busy");
  }
}

// ---- what the screen shows ----
function show(answer, code, action = "scan") {
  queuedNonce = null;
  result.hidden = false;
  delete result.dataset.late;
  result.dataset.outcome = answer.outcome || "refused";
  result.dataset.refusal = answer.refusal || "";
  result.className = "result " + (answer.ok ? "ok" : "refused");
  const message = $("message");
  message.textContent = answer.message || "";
  if (answer.refusal === "device_unknown" || answer.refusal === "device_revoked") {
    const link = document.createElement("a");
    link.href = "/device/pair/";
    link.textContent = text.pair_again;
    message.append(" ", link);
  } else if (answer.refusal === "signed_out") {
    message.append(" ", signInLink());
  }
  const card = answer.card;
  $("card-view").hidden = !card;
  $("voucher-view").hidden = !answer.voucher;
  // What the camera sees now is on screen: the code scanned, not the card acted on.
  if (action === "scan") {
    current = code;
    releaseHeld();
  }
  cardCode = card ? card.code : null;
  if (handOverUrl && (!card || bare(card.code) !== searchedCode)) closeHandOver();
  const claim = answer.kind === "claim_code";
  claimCode = claim && answer.ok && answer.outcome === "shown" && card ? code : null;
  $("claim-row").hidden = claimCode === null;
  $("stamp-row").hidden = claimCode !== null;
  if (card) showCard(card, answer);
  if (answer.voucher) showVoucher(answer.voucher);
  if (answer.ok && answer.outcome !== "shown") navigator.vibrate?.(60);
  result.scrollIntoView({ block: "nearest" });
}

// A queued stamp on screen was finally sent: done, refused (now set aside), or set aside
// after server errors with no answer. Only the sentence changes: the card stays closed, so
// the camera goes on taking the next customer's code.
function showLate(answer) {
  queuedNonce = null;
  result.dataset.outcome = answer.outcome || "refused";
  result.dataset.refusal = answer.refusal || "";
  result.dataset.late = "1";
  result.className = "result " + (answer.ok ? "ok" : "refused");
  let message = fill(text.late_done, { message: answer.message });
  if (answer.outcome === "failed") message = text.late_failed;
  else if (!answer.ok) message = fill(text.late_refused, { message: answer.message || answer.refusal });
  $("message").textContent = message;
}

function showCard(card, answer) {
  seenEvent = card.last_event;
  maxPerVisit = Math.max(1, card.max_per_visit);
  if (answer.outcome === "shown") count = 1;
  count = Math.min(count, maxPerVisit);
  $("count").textContent = String(count);
  $("customer").textContent = card.customer || card.email || card.phone || card.code;
  $("contact").textContent = [card.email, card.phone].filter(Boolean).join(" · ");
  $("program").textContent = `${card.program} · ${card.code}`;
  $("progress").max = card.goal;
  $("progress").value = card.stamps;
  $("stamps-text").textContent = fill(text.stamps, { stamps: card.stamps, goal: card.goal });
  const recent = $("recent");
  const last = card.last_stamp;
  recent.hidden = !(last && !last.by_you && last.seconds_ago < 30 && answer.outcome === "shown");
  if (!recent.hidden) recent.textContent = fill(text.recent_other, { s: last.seconds_ago });
  if (handOverUrl) {
    const offer = searchedCode !== null && bare(card.code) === searchedCode;
    $("hand-over-card").hidden = !offer || !$("hand-over").hidden;
  }
  undoEvent = answer.outcome === "stamped" && last && last.by_you ? last.event_id : null;
  $("undo").hidden = undoEvent === null;
  const rewards = $("rewards");
  rewards.replaceChildren();
  for (const reward of card.rewards_ready) {
    const item = document.createElement("li");
    item.className = "reward";
    const label = document.createElement("span");
    label.textContent = `${text.reward_ready}: ${reward.title}`;
    const button = document.createElement("button");
    button.type = "button";
    button.className = "big primary";
    button.textContent = text.hand_over;
    button.addEventListener("click", () => send(cardCode, "hand_over", { reward_id: reward.id }));
    item.append(label, button);
    rewards.append(item);
  }
  // The card's vouchers this screen may redeem (a Staff-Scan one has no code to scan).
  const vouchers = $("vouchers");
  vouchers.replaceChildren();
  for (const voucher of card.vouchers || []) {
    const item = document.createElement("li");
    item.className = "voucher";
    item.dataset.voucherId = String(voucher.id);
    const label = document.createElement("span");
    const title = document.createElement("strong");
    title.textContent = voucher.title;
    const validity = document.createElement("small");
    validity.textContent = voucher.validity;
    label.append(title, validity);
    const button = document.createElement("button");
    button.type = "button";
    button.className = "big primary";
    button.textContent = text.redeem;
    button.addEventListener("click", () => send(cardCode, "redeem", { voucher_id: voucher.id }));
    item.append(label, button);
    vouchers.append(item);
  }
}

function showVoucher(voucher) {
  $("voucher-title").textContent = voucher.title;
  $("voucher-description").textContent = voucher.description;
  $("voucher-customer").textContent = voucher.customer;
  const when = voucher.redeemed_at ? fill(text.redeemed_at, { when: voucher.redeemed_at }) : "";
  const where = voucher.redeemed_where ? fill(text.redeemed_where, { where: voucher.redeemed_where }) : "";
  $("voucher-when").textContent = [when, where].filter(Boolean).join(" ");
}

// The camera never replaces the card on screen by itself: the next customer's phone drifting
// into view must not become the card the next tap stamps. The cashier switches, or keeps it.
function hold(code) {
  heldCode = code;
  $("switch").hidden = false;
  navigator.vibrate?.(30);
}

function releaseHeld() {
  heldCode = null;
  $("switch").hidden = true;
}

function reset() {
  queuedNonce = null;
  releaseHeld();
  closeHandOver();
  searchedCode = null;
  keptCode = null;
  result.hidden = true;
  current = null;
  cardCode = null;
  claimCode = null;
  lastCode = "";
  count = 1;
  $("code").focus({ preventScroll: true });
}

$("stamp").addEventListener("click", () => {
  if (cardCode) send(cardCode, "stamp", { count, seen_event: seenEvent ?? 0 });
});
$("undo").addEventListener("click", () => {
  if (cardCode && undoEvent) send(cardCode, "undo", { event_id: undoEvent });
});
$("claim").addEventListener("click", () => {
  if (cardCode && claimCode) send(claimCode, "claim", { card: cardCode });
});
$("more").addEventListener("click", () => {
  count = Math.min(count + 1, maxPerVisit);
  $("count").textContent = String(count);
});
$("fewer").addEventListener("click", () => {
  count = Math.max(count - 1, 1);
  $("count").textContent = String(count);
});
$("next").addEventListener("click", reset);
$("switch-show").addEventListener("click", () => {
  const code = heldCode;
  releaseHeld();
  keptCode = null;
  if (code) {
    lastCode = code;
    lastAt = Date.now();
    send(code);
  }
});
$("switch-keep").addEventListener("click", () => {
  keptCode = heldCode;
  releaseHeld();
});
$("typed").addEventListener("submit", (event) => {
  event.preventDefault();
  const code = $("code").value.trim();
  if (code) send(code).then(() => ($("code").value = ""));
});

// ---- the customer forgot the phone ----
$("search").addEventListener("submit", async (event) => {
  event.preventDefault();
  const query = $("query").value.trim();
  const list = $("search-results");
  list.replaceChildren();
  if (query.length < 2) return;
  const url = new URL(root.dataset.searchUrl, location.href);
  url.searchParams.set("q", query);
  let found = [];
  try {
    const response = await fetch(url, { credentials: "same-origin" });
    found = response.ok ? (await response.json()).cards : [];
  } catch {
    found = [];
  }
  if (!found.length) {
    const item = document.createElement("li");
    item.textContent = text.no_results;
    list.append(item);
  }
  for (const card of found) {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "result-button";
    const who = card.customer || card.email || card.phone;
    button.textContent = `${who} · ${card.program} · ${fill(text.stamps, card)}`;
    button.addEventListener("click", () => {
      searchedCode = bare(card.code);
      send(card.code);
    });
    item.append(button);
    list.append(item);
  }
});

// ---- handing the card over to the customer's own phone ----
// A one-time link, shown as a QR for a few minutes (customer/hand_over.py): never the card's
// permanent address on this screen.
function closeHandOver() {
  if (!handOverUrl) return;
  clearInterval(handOverTimer);
  handOverTimer = null;
  $("hand-over").hidden = true;
  $("hand-over-qr").removeAttribute("src");
  $("hand-over-card").hidden = !cardCode || bare(cardCode) !== searchedCode;
}

function countDown(until) {
  const left = Math.max(0, Math.round((until - Date.now()) / 1000));
  const expires = $("hand-over-expires");
  if (left === 0) {
    clearInterval(handOverTimer);
    $("hand-over-qr").removeAttribute("src");
    $("hand-over-qr").hidden = true;
    expires.textContent = text.hand_over_expired;
    $("hand-over").dataset.state = "expired";
    return;
  }
  const time = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
  expires.textContent = fill(text.hand_over_expires, { time });
}

async function handOver() {
  if (!cardCode || !handOverUrl) return;
  const url = handOverUrl.replace(/\/CARD\/hand-over$/, `/${encodeURIComponent(cardCode)}/hand-over`);
  const view = $("hand-over");
  let made = null;
  try {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      redirect: "manual",
      headers: { "X-CSRFToken": root.dataset.csrf },
    });
    if (response.type === "opaqueredirect" || response.status === 401) throw new SignedOut();
    if (response.ok) made = await response.json();
  } catch (error) {
    $("message").textContent = error instanceof SignedOut ? signedOutText : text.hand_over_failed;
    if (error instanceof SignedOut) $("message").append(" ", signInLink());
    return;
  }
  if (!made) {
    $("message").textContent = text.hand_over_failed;
    return;
  }
  const until = Date.now() + made.seconds * 1000;
  $("hand-over-qr").src = made.qr;
  $("hand-over-qr").hidden = false;
  view.dataset.url = made.url;
  view.dataset.state = "shown";
  view.hidden = false;
  $("hand-over-card").hidden = true;
  clearInterval(handOverTimer);
  countDown(until);
  handOverTimer = setInterval(() => countDown(until), 1000);
  view.scrollIntoView({ block: "nearest" });
}

if (handOverUrl) {
  $("hand-over-card").addEventListener("click", handOver);
  $("hand-over-done").addEventListener("click", closeHandOver);
}

// ---- the camera ----
const bare = (code) => code.replace(/[\s-]/g, "").toUpperCase();

function detected(code) {
  const now = Date.now();
  // The code on screen stays there until "Scan next": the camera sees it on every frame.
  // So does the card on screen while a code typed for it is offered (a receipt code). Another
  // code while a card is on screen waits for the cashier (hold).
  if (busy || code === current || (code === lastCode && now - lastAt < DEBOUNCE_MS)) return;
  if (cardCode && bare(code) === bare(cardCode)) return;
  if (cardCode && !result.hidden) {
    if (code !== heldCode && code !== keptCode) hold(code);
    return;
  }
  lastCode = code;
  lastAt = now;
  send(code);
}

startCamera({
  video,
  status,
  wasmUrl: root.dataset.wasmUrl,
  text,
  onCode: detected,
  busy: () => busy,
});
