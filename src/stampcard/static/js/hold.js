// Press and hold to confirm: the button must be held (pointer, or Enter/Space) until its fill
// is complete; a click or tap alone does nothing. Used by the web card's Self-Redeem page and
// the self-service kiosk, so the gesture is the same wherever a voucher is used up.
export const HOLD_MS = 1200;

export function holdToConfirm(button, onHeld, { holding, held, ms = HOLD_MS }) {
  let timer = null;
  let done = false;
  const start = (event) => {
    event.preventDefault();
    if (timer !== null || done) return;
    button.classList.add(holding);
    timer = window.setTimeout(() => {
      done = true;
      button.classList.add(held);
      onHeld();
    }, ms);
  };
  const stop = () => {
    if (timer === null || done) return;
    window.clearTimeout(timer);
    timer = null;
    button.classList.remove(holding);
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
  button.addEventListener("click", (event) => event.preventDefault());
  button.addEventListener("contextmenu", (event) => event.preventDefault());
  // Armed again for the next time (the kiosk's next customer).
  return function reset() {
    window.clearTimeout(timer);
    timer = null;
    done = false;
    button.classList.remove(holding, held);
  };
}
