// Sends the language form when a language is picked with the mouse or a finger, or confirmed
// with Enter. Arrow keys on a closed menu change its value (and fire "change") as keyboard
// users move through the page, so a change that follows a key press waits for Enter.
// No inline handler: CSP.
for (const select of document.querySelectorAll("select[data-submit-on-change]")) {
  let chosenByKeyboard = false;
  select.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      select.form.requestSubmit();
    } else {
      chosenByKeyboard = true;
    }
  });
  select.addEventListener("pointerdown", () => {
    chosenByKeyboard = false;
  });
  select.addEventListener("change", () => {
    if (!chosenByKeyboard) {
      select.form.requestSubmit();
    }
  });
}
