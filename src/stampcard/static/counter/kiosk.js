// The self-service kiosk: the customer shows their card (a stamp for this visit, and their
// progress) or a Self-Redeem voucher (redeemed) to the camera; the screen returns to idle by
// itself. What a kiosk may do is the server's to judge (cooldown, the visit's maximum, a
// revoked device refused at once); the kiosk never chooses a count.
//
// No offline queue here: the answer *is* the customer's progress, which only the server
// knows; while the network is down the kiosk says so and asks them to see a team member.
import { startCamera } from "./camera.js";
import { nonce } from "./offline-queue.js";

const IDLE_MS = 8000;
const SAME_CODE_MS = 30000; // the card still in front of the camera is not a new visit

const root = document.getElementById("kiosk");
const text = JSON.parse(document.getElementById("kiosk-text").textContent);
const $ = (id) => document.getElementById(id);
let busy = false;
let idleTimer = null;
let lastCode = "";
let lastAt = 0;

function fill(template, values) {
  return template.replace(/%\((\w+)\)s/g, (_, name) => String(values[name] ?? ""));
}

function switchOff(message) {
  root.dataset.state = "off";
  $("stage").hidden = true;
  $("off").hidden = false;
  $("off").textContent = message || text.switched_off;
  const video = $("video");
  video.srcObject?.getTracks().forEach((track) => track.stop());
}

function idle() {
  clearTimeout(idleTimer);
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
  last.hidden = false;
  last.className = "last " + (answer.ok ? "ok" : "refused");
  root.dataset.state = answer.ok ? answer.outcome : "refused";
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
  }
  $("voucher").textContent = answer.voucher ? answer.voucher.description : "";
  clearTimeout(idleTimer);
  idleTimer = setTimeout(idle, IDLE_MS);
}

async function scanned(code) {
  const now = Date.now();
  if (busy || (code === lastCode && now - lastAt < SAME_CODE_MS)) return;
  busy = true;
  lastCode = code;
  lastAt = now;
  const body = { code, nonce: nonce(), scanned_at: new Date().toISOString(), action: "stamp" };
  try {
    const response = await fetch(root.dataset.scanUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": root.dataset.csrf },
      body: JSON.stringify(body),
    });
    const answer = await response.json();
    if (answer.code === "device_revoked" || answer.code === "device_unknown") {
      switchOff(answer.message);
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

$("done").addEventListener("click", idle);
startCamera({
  video: $("video"),
  status: $("camera-status"),
  wasmUrl: root.dataset.wasmUrl,
  text,
  onCode: scanned,
  busy: () => busy || root.dataset.state === "off",
});
root.dataset.ready = "1";
