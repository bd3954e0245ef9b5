// Autopilot: a keyboard-wedge scanner types each card code and Enter into the field that
// keeps the focus; every scan stamps in the background, with a visual and an audible cue.
//
// Scanner or person? A scanner types a whole code in a few milliseconds per character; a
// person is much slower. A code whose keystrokes came on average at most BURST_MS apart
// stamps at once; anything slower (or pasted) is shown with a button to confirm: a person at
// the keyboard never stamps by accident. The same code again within DUPLICATE_MS is ignored
// (a scanner reading one card twice); the program's cooldown is judged by the server anyway.
import { createQueue } from "./offline-queue.js";
import { setAsideList } from "./set-aside.js";

const BURST_MS = 60;
const DUPLICATE_MS = 30000;
const MIN_LENGTH = 6;

const root = document.getElementById("autopilot");
const text = JSON.parse(document.getElementById("autopilot-text").textContent);
const $ = (id) => document.getElementById(id);
const input = $("wedge");
const panel = $("last");
const pendingView = $("pending");
const recent = new Map(); // code -> when it was last taken
let keys = []; // timestamps of the characters typed into the field
let typedCode = null;

function fill(template, values) {
  return template.replace(/%\((\w+)\)s/g, (_, name) => String(values[name] ?? ""));
}

// ---- sound: a rising double beep for a stamp, one low buzz for a refusal ----
let audio = null;
function beep(ok) {
  try {
    audio ??= new AudioContext();
    if (audio.state === "suspended") audio.resume();
    const notes = ok ? [880, 1320] : [220];
    notes.forEach((frequency, i) => {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.type = ok ? "sine" : "square";
      osc.frequency.value = frequency;
      const start = audio.currentTime + i * 0.12;
      const length = ok ? 0.1 : 0.35;
      gain.gain.setValueAtTime(0.2, start);
      gain.gain.exponentialRampToValueAtTime(0.001, start + length);
      osc.connect(gain).connect(audio.destination);
      osc.start(start);
      osc.stop(start + length);
    });
  } catch {
    // No sound on this device: the screen still says it.
  }
}

// ---- the screen ----
// The queued stamp whose "saved on this device" the panel shows, until the next scan: once it
// is finally sent, the panel says what became of it.
let queuedNonce = null;

function show(state, message, card) {
  queuedNonce = null;
  panel.dataset.state = state;
  panel.className = "last " + state;
  $("message").textContent = message;
  $("customer").textContent = card ? card.customer || card.code : "";
  const progress = $("progress");
  progress.hidden = !card;
  if (card) {
    progress.max = card.goal;
    progress.value = Math.min(card.stamps, card.goal);
    $("stamps-text").textContent = fill(text.stamps, { stamps: card.stamps, goal: card.goal });
  } else {
    $("stamps-text").textContent = "";
  }
  const item = document.createElement("li");
  item.className = state;
  item.textContent = `${new Date().toLocaleTimeString()} · ${card ? card.customer || card.code : ""} · ${message}`;
  $("log").prepend(item);
  while ($("log").children.length > 8) $("log").lastChild.remove();
}

// What a queued scan that could not be sent yet says, by why it waits.
const QUEUED = { offline: text.queued, server_error: text.queued_server, signed_out: text.reload };

function answered(answer) {
  if (answer.queued) {
    show("queued", QUEUED[answer.why] || text.queued, null);
    queuedNonce = answer.body?.nonce ?? null;
    beep(true);
    return;
  }
  const message = answer.outcome === "failed" ? text.failed : answer.message || text.offline;
  show(answer.ok ? "ok" : "refused", message, answer.card);
  beep(answer.ok);
  if (answer.refusal === "device_revoked" || answer.code === "device_revoked") {
    input.disabled = true;
  }
}

const queue = createQueue({
  url: root.dataset.scanUrl,
  csrf: root.dataset.csrf,
  onChange: (n) => {
    pendingView.hidden = n === 0;
    pendingView.textContent = fill(text.pending, { n });
    root.dataset.pending = String(n);
  },
  // A queued stamp finally sent: a refused one (or one set aside with no answer) is said
  // whatever is on screen; a done one replaces its own "saved on this device" only.
  onLate: (answer, body) => {
    if (!answer.ok) {
      const message =
        answer.outcome === "failed"
          ? text.late_failed
          : fill(text.late_refused, { message: answer.message || answer.refusal });
      answered({ ...answer, outcome: "refused", message });
      setAside.render();
    } else if (queuedNonce !== null && body?.nonce === queuedNonce) {
      show("ok", fill(text.late_done, { message: answer.message }), answer.card);
    }
  },
  // The page's CSRF token went stale: only a new page sends the waiting scans.
  onSignedOut: () => {
    pendingView.dataset.signedOut = "1";
    show("refused", text.reload, null);
  },
});

// Stamps refused once sent stay listed until sent again or discarded (set-aside.js); the
// focus goes back to the field after each, so the next scan is not lost.
const setAside = setAsideList({
  queue,
  view: $("late-view"),
  list: $("late"),
  root,
  text,
  signedOutText: text.reload,
  onSent: (answer) => {
    answered({ ...answer, message: fill(text.resent_done, { message: answer.message }) });
  },
  afterAction: () => input.focus(),
});
setAside.render();

async function stamp(code) {
  recent.set(code, Date.now());
  root.setAttribute("aria-busy", "true");
  try {
    answered(await queue.send({ code, action: "stamp" }));
  } finally {
    root.removeAttribute("aria-busy");
  }
}

function take(code, fromScanner) {
  const before = recent.get(code);
  if (before !== undefined && Date.now() - before < DUPLICATE_MS) {
    show("duplicate", text.duplicate, null);
    return;
  }
  if (fromScanner) {
    stamp(code);
  } else {
    // The focus stays in the field: a scan while this waits is still a scan, and the
    // scanner's Enter never confirms the typed code (the person taps or clicks).
    typedCode = code;
    $("typed-code").textContent = code;
    $("confirm").hidden = false;
  }
}

// ---- the field that keeps the focus ----
input.addEventListener("keydown", (event) => {
  if (event.key === "Enter") {
    event.preventDefault();
    const code = input.value.trim();
    const typed = keys;
    keys = [];
    input.value = "";
    if (!code) return;
    let fromScanner = code.length >= MIN_LENGTH && typed.length === code.length;
    if (fromScanner) {
      const average = (typed[typed.length - 1] - typed[0]) / Math.max(1, typed.length - 1);
      fromScanner = average <= BURST_MS;
    }
    take(code, fromScanner);
  } else if (event.key.length === 1) {
    keys.push(event.timeStamp);
  }
});
input.addEventListener("paste", () => {
  keys = [];
});
// A key typed while the focus is elsewhere (a button reached with Tab) goes to the field, so a
// scan arriving then is not lost and its Enter presses no button.
document.addEventListener("keydown", (event) => {
  if (event.target === input || input.disabled) return;
  if (event.key.length !== 1 || event.key === " ") return; // Space still presses a button
  if (event.ctrlKey || event.metaKey || event.altKey || event.target.tagName === "SELECT") return;
  event.preventDefault();
  input.focus();
  input.value += event.key;
  keys.push(event.timeStamp);
});

$("confirm-stamp").addEventListener("click", () => {
  $("confirm").hidden = true;
  if (typedCode) stamp(typedCode);
  typedCode = null;
  input.focus();
});
$("confirm-cancel").addEventListener("click", () => {
  $("confirm").hidden = true;
  typedCode = null;
  input.focus();
});

// Back to the field whenever the focus would otherwise be lost (a click on the page, another
// window); buttons and the language menu may still be reached with the keyboard.
function refocus() {
  setTimeout(() => {
    const active = document.activeElement;
    if (!input.disabled && (!active || active === document.body)) input.focus();
  }, 0);
}
input.addEventListener("blur", refocus);
document.addEventListener("click", refocus);
window.addEventListener("focus", refocus);
document.addEventListener("visibilitychange", refocus);
show("idle", text.ready, null);
$("log").replaceChildren();
input.focus();
root.dataset.ready = "1";
