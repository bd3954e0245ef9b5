// The self-service kiosk: the customer shows their card (a stamp for this visit, and their
// progress) or a Self-Redeem voucher to the camera. A voucher is first only looked at (action
// "look": its title, description and validity, or why it cannot be used here, nothing
// written), then used up only after the same press-and-hold as on the web card (js/hold.js),
// never by being seen. A card shown lists its Self-Redeem vouchers: one chosen is held the same
// way and redeemed by its id on that card (action "redeem" with voucher_id). The screen returns to
// idle by itself. What a kiosk may do is the server's to judge (cooldown, the visit's maximum, a
// revoked device refused at once); the kiosk never chooses a count.
//
// While the network is down a card's stamp waits on the kiosk (offline-queue.js, as on the
// scanner and Autopilot) and is sent, once, when it returns: the screen says it is saved, not
// stamped (the rules are the server's to judge then), and how many wait. A voucher needs the
// server's answer before the hold: offline, the kiosk says so and asks for a team member.
//
// The first tap makes the page full screen and the screen is kept awake (kiosk-screen.js);
// installed from its manifest (kiosk.webmanifest) it opens full screen by itself.
import { holdToConfirm } from "../js/hold.js";
import { startCamera } from "./camera.js";
import { keepScreen } from "./kiosk-screen.js";
import { createQueue, nonce } from "./offline-queue.js";

const root = document.getElementById("kiosk");
// The screen's timers come from the server's settings (KIOSK_*_SECONDS), read once.
const IDLE_MS = Number(root.dataset.idleMs);
const CONFIRM_MS = Number(root.dataset.confirmMs); // a voucher not held by then is left alone
// A code not seen for this long has left the camera: shown again, it is a new presentation.
const GONE_MS = Number(root.dataset.goneMs);
// "Not now", then the same voucher shown again: asked again after this long.
const AGAIN_MS = Number(root.dataset.againMs);
// A voucher's QR: its token, or a link ending in it (counter/scan.py reads it the same way).
const VOUCHER_TOKEN = /^[A-Za-z0-9_-]{32,100}$/;

const text = JSON.parse(document.getElementById("kiosk-text").textContent);
const $ = (id) => document.getElementById(id);
let busy = false;
let idleTimer = null;
let lastCode = "";
let lastSeenAt = 0; // when the camera last read lastCode, sent or not
let againAt = Infinity; // "Not now": when the same voucher may be asked about again
// Full screen from the first tap, and kept awake (kiosk-screen.js); never needed to work.
const releaseScreen = keepScreen(root, { hint: $("tap-start") });

function fill(template, values) {
  return template.replace(/%\((\w+)\)s/g, (_, name) => String(values[name] ?? ""));
}

function switchOff(message) {
  root.dataset.state = "off";
  releaseScreen();
  $("stage").hidden = true;
  $("off").hidden = false;
  $("off").textContent = message || text.switched_off;
  const video = $("video");
  video.srcObject?.getTracks().forEach((track) => track.stop());
}

function isVoucher(code) {
  return VOUCHER_TOKEN.test(code.replace(/\/+$/, "").split("/").pop());
}

// The customer is at this screen, not staff: a stamp refused once sent is not kept to be sent
// again (the scanner and Autopilot list theirs, set-aside.js).
const queue = createQueue({
  url: root.dataset.scanUrl,
  csrf: root.dataset.csrf,
  keepRefused: false,
  onChange: (waiting) => {
    root.dataset.pending = String(waiting);
    $("pending").hidden = waiting === 0;
    $("pending").textContent = fill(text.pending, { n: waiting });
  },
});

let pending = ""; // the code of the voucher (or of the card whose voucher) waiting for the hold
let pendingVoucherId = null; // the card's voucher chosen from the list, or null
const rearm = holdToConfirm($("hold"), () => send(pending, "redeem", pendingVoucherId), {
  holding: "holding",
  held: "held",
});

function confirmVoucher(code, voucher, voucherId = null) {
  pending = code;
  pendingVoucherId = voucherId;
  rearm();
  $("voucher-title").textContent = voucher.title;
  $("voucher-description").textContent = voucher.description || "";
  $("voucher-description").hidden = !voucher.description;
  $("voucher-validity").textContent = voucher.validity;
  $("idle").hidden = true;
  $("last").hidden = true;
  $("confirm").hidden = false;
  root.dataset.state = "confirm";
  $("hold").focus();
  clearTimeout(idleTimer);
  idleTimer = setTimeout(idle, CONFIRM_MS);
}

function idle() {
  clearTimeout(idleTimer);
  pending = "";
  pendingVoucherId = null;
  $("confirm").hidden = true;
  $("last").hidden = true;
  $("idle").hidden = false;
  root.dataset.state = "idle";
  // Still paired? A revoked kiosk stops at once, also between customers.
  fetch(root.dataset.whoamiUrl, { credentials: "same-origin" })
    .then((response) => {
      if (response.status === 401 || response.status === 403) switchOff();
    })
    .catch(() => {});
}

function show(answer) {
  const last = $("last");
  $("idle").hidden = true;
  $("confirm").hidden = true;
  last.hidden = false;
  const state = answer.queued ? "queued" : answer.ok ? answer.outcome : "refused";
  last.className = "last " + (answer.queued ? "queued" : answer.ok ? "ok" : "refused");
  root.dataset.state = state;
  $("message").textContent = answer.message || text.offline;
  const card = answer.card;
  $("customer").textContent = card ? card.customer || "" : "";
  $("progress-row").hidden = !card;
  const rewards = $("rewards");
  rewards.replaceChildren();
  if (card) {
    $("progress").max = card.goal;
    $("progress").value = Math.min(card.stamps, card.goal);
    $("stamps-text").textContent = fill(text.stamps, { stamps: card.stamps, goal: card.goal });
    for (const reward of card.rewards_ready) {
      const item = document.createElement("li");
      item.className = "reward-ready";
      item.textContent = fill(text.reward_ready, { title: reward.title });
      rewards.append(item);
    }
    // The card's vouchers this kiosk may redeem (Self-Redeem ones): each opens the hold.
    for (const voucher of card.vouchers || []) {
      const item = document.createElement("li");
      const use = document.createElement("button");
      use.type = "button";
      use.className = "big kiosk-use";
      use.dataset.voucherId = String(voucher.id);
      use.textContent = fill(text.use_voucher, { title: voucher.title });
      use.addEventListener("click", () => confirmVoucher(card.code, voucher, voucher.id));
      item.append(use);
      rewards.append(item);
    }
  }
  $("voucher").textContent = answer.voucher ? answer.voucher.title : "";
  $("voucher-text").textContent = answer.voucher ? answer.voucher.description : "";
  clearTimeout(idleTimer);
  idleTimer = setTimeout(idle, IDLE_MS);
}

// Each presentation of a code is sent once: the same code is sent again only once the screen
// is back to idle and the code had left the camera in between (or after "Not now"). A card
// left in front of the camera is not stamped again and again.
function scanned(code) {
  const now = Date.now();
  if (busy || pending) return;
  if (code === lastCode) {
    const left = now - lastSeenAt > GONE_MS;
    lastSeenAt = now;
    if (root.dataset.state !== "idle" || !(left || now >= againAt)) return;
  }
  lastCode = code;
  lastSeenAt = now;
  againAt = Infinity;
  send(code, isVoucher(code) ? "look" : "stamp");
}

// "look": a voucher that can be used here is offered for the hold; "stamp": a card is
// stamped (a redeem code, which looks like any other code, is only looked at, as with
// "look"); "redeem": a voucher held until full is redeemed.
async function send(code, action = "stamp", voucherId = null) {
  if (busy) return;
  busy = true;
  pending = "";
  pendingVoucherId = null;
  clearTimeout(idleTimer);
  try {
    const answer =
      action === "stamp"
        ? await queue.send({ code, action })
        : await post(code, action, voucherId);
    if (answer.queued) {
      show({ ok: false, queued: true, message: text.queued });
      return;
    }
    if (answer.code === "device_revoked" || answer.code === "device_unknown") {
      switchOff(answer.message);
      return;
    }
    if (answer.ok && answer.outcome === "looked") {
      confirmVoucher(code, answer.voucher);
      return;
    }
    show(answer);
    if (answer.ok) navigator.vibrate?.(60);
  } catch {
    // Let the customer try again as soon as the network is back.
    lastCode = "";
    show({ ok: false, message: text.offline });
  } finally {
    busy = false;
  }
}

// A voucher is looked at and redeemed only with the server there: never queued.
async function post(code, action, voucherId = null) {
  const body = { code, nonce: nonce(), scanned_at: new Date().toISOString(), action };
  if (voucherId !== null) body.voucher_id = voucherId;
  const response = await fetch(root.dataset.scanUrl, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": root.dataset.csrf },
    body: JSON.stringify(body),
  });
  return response.json();
}

$("done").addEventListener("click", idle);
$("cancel").addEventListener("click", () => {
  againAt = Date.now() + AGAIN_MS;
  idle();
});
startCamera({
  video: $("video"),
  status: $("camera-status"),
  wasmUrl: root.dataset.wasmUrl,
  text,
  onCode: scanned,
  busy: () => busy || pending !== "" || root.dataset.state === "off",
});
root.dataset.ready = "1";
