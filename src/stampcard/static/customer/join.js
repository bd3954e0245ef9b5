// The join form is sent once: after the first submit its button is disabled and says the card
// is on its way, so a second tap on a slow phone sends nothing. Without this script the form
// still works, and the server answers a form sent twice with the one card anyway.
for (const form of document.querySelectorAll("form[data-send-once]")) {
  form.addEventListener("submit", (event) => {
    if (form.dataset.sent) {
      event.preventDefault();
      return;
    }
    form.dataset.sent = "1";
    for (const button of form.querySelectorAll("button[type=submit]")) {
      // Disabled after this event, so the button's own name and value are still sent.
      window.setTimeout(() => {
        button.disabled = true;
        button.setAttribute("aria-busy", "true");
        if (button.dataset.sendingLabel) {
          button.dataset.idleLabel = button.textContent;
          button.textContent = button.dataset.sendingLabel;
        }
      });
    }
  });
  // Back from the card page (bfcache), the form can be sent again.
  window.addEventListener("pageshow", (event) => {
    if (!event.persisted) return;
    delete form.dataset.sent;
    for (const button of form.querySelectorAll("button[type=submit][aria-busy]")) {
      button.disabled = false;
      button.removeAttribute("aria-busy");
      if (button.dataset.idleLabel) button.textContent = button.dataset.idleLabel;
    }
  });
}
