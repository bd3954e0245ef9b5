// The designer's live preview (htmx posts the form as the owner types) sends a picture once:
// with the preview after it was chosen. The answer hands back a token for it in
// #picture-tokens, and the previews after that send the token instead of the file, so typing
// a text does not upload the logo, the stamp and the strip again. Saving sends the files as
// any form does.

const form = document.querySelector("form.designer-form");

if (form) {
  const fileInputs = () => [...form.querySelectorAll('input[type="file"]')];
  const tokenOf = (input) =>
    form.querySelector(`#picture-tokens input[name="${input.name.replace(/_file$/, "_token")}"]`);
  // The file inputs whose picture the server does not hold yet: sent with the next preview.
  const pending = new Set();
  // Those the server refused (not a picture it can use): not sent again until changed.
  const refused = new Set();
  let sent = new Set();

  // Capturing, so this runs before htmx sends the preview the same change asks for.
  document.addEventListener(
    "change",
    (event) => {
      const input = event.target;
      if (input instanceof HTMLInputElement && input.type === "file" && input.form === form) {
        pending.add(input.name);
        refused.delete(input.name);
        tokenOf(input)?.remove();
      }
    },
    true,
  );

  form.addEventListener("htmx:configRequest", (event) => {
    sent = new Set();
    for (const input of fileInputs()) {
      if (pending.has(input.name) && input.files.length) {
        sent.add(input.name);
      } else {
        event.detail.formData.delete(input.name);
      }
    }
  });

  form.addEventListener("htmx:afterRequest", (event) => {
    if (!event.detail.successful) return;
    for (const input of fileInputs()) {
      const held = tokenOf(input) !== null;
      if (sent.has(input.name) || !input.files.length) {
        pending.delete(input.name);
        if (!held && input.files.length) refused.add(input.name);
      } else if (!held && !refused.has(input.name)) {
        // Chosen but not held (the server forgot it): send it again with the next preview.
        pending.add(input.name);
      }
    }
  });
}
