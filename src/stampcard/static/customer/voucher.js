// Self-Redeem: the button must be held (pointer, or Enter/Space) until its fill is complete,
// then the form is sent; a redeemed voucher shows a running clock beside its redemption time.
const HOLD_MS = 1200;

const form = document.querySelector("[data-hold-form]");
if (form) {
  const button = form.querySelector("[data-hold-button]");
  const held = form.querySelector("[data-held]");
  let timer = null;
  const start = (event) => {
    event.preventDefault();
    if (timer !== null) return;
    button.classList.add("c-holding");
    timer = window.setTimeout(() => {
      held.value = "1";
      button.classList.add("c-held");
      form.requestSubmit();
    }, HOLD_MS);
  };
  const stop = () => {
    if (timer === null || held.value === "1") return;
    window.clearTimeout(timer);
    timer = null;
    button.classList.remove("c-holding");
  };
  button.addEventListener("pointerdown", start);
  for (const name of ["pointerup", "pointerleave", "pointercancel"]) {
    button.addEventListener(name, stop);
  }
  button.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") start(event);
  });
  button.addEventListener("keyup", (event) => {
    if (event.key === "Enter" || event.key === " ") stop();
  });
  // A click or tap alone is not the gesture: only a completed hold sends the form.
  form.addEventListener("submit", (event) => {
    if (held.value !== "1") event.preventDefault();
  });
  button.addEventListener("contextmenu", (event) => event.preventDefault());
}

const clock = document.querySelector("[data-live-clock]");
if (clock) {
  const format = new Intl.DateTimeFormat(document.documentElement.lang || undefined, {
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
    timeZone: clock.dataset.timezone || undefined,
  });
  const tick = () => {
    clock.textContent = format.format(new Date());
  };
  tick();
  window.setInterval(tick, 1000);
}
