// Sends the language form as soon as another language is chosen (no inline handler: CSP).
for (const select of document.querySelectorAll("select[data-submit-on-change]")) {
  select.addEventListener("change", () => select.form.requestSubmit());
}
