// Self-Redeem: the button must be held (js/hold.js) until its fill is complete, then the form
// is sent; a redeemed voucher shows a running clock beside its redemption time.
import { holdToConfirm } from "../js/hold.js";

const form = document.querySelector("[data-hold-form]");
if (form) {
  const button = form.querySelector("[data-hold-button]");
  const held = form.querySelector("[data-held]");
  holdToConfirm(
    button,
    () => {
      held.value = "1";
      form.requestSubmit();
    },
    { holding: "c-holding", held: "c-held" },
  );
  // A click or tap alone is not the gesture: only a completed hold sends the form.
  form.addEventListener("submit", (event) => {
    if (held.value !== "1") event.preventDefault();
  });
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
