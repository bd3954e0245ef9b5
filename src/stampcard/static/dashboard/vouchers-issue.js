// Issue Voucher: a picture pasted from the clipboard (Ctrl+V) goes into the file field, a
// preview of the chosen picture, and only the validity field that applies is shown.
// The server reads the picture's type from its bytes; the checks here only help the user.
const form = document.querySelector("form.issue");
const input = form?.querySelector('input[type="file"][name="image"]');
const preview = document.getElementById("image-preview");
const status = document.getElementById("paste-status");

function showPreview(file) {
  if (!preview) return;
  // A data: URL, since the Content Security Policy allows no blob: images.
  const reader = new FileReader();
  reader.addEventListener("load", () => {
    preview.src = String(reader.result);
    preview.hidden = false;
  });
  // Browsers draw PNG, JPEG, WEBP, AVIF and SVG; a HEIC is checked by the server only.
  if (/^image\/(png|jpeg|webp|avif|svg\+xml|gif)$/.test(file.type)) {
    reader.readAsDataURL(file);
  } else {
    preview.hidden = true;
  }
}

if (input) {
  input.addEventListener("change", () => {
    if (input.files && input.files[0]) showPreview(input.files[0]);
  });
  document.addEventListener("paste", (event) => {
    const files = [...(event.clipboardData?.files ?? [])].filter((f) => f.type.startsWith("image/"));
    if (!files.length) return; // text pasted into a field stays text
    event.preventDefault();
    const file = files[0];
    const named = file.name && file.name !== "image.png"
      ? file
      : new File([file], `pasted.${(file.type.split("/")[1] || "png").replace("+xml", "")}`, { type: file.type });
    const transfer = new DataTransfer();
    transfer.items.add(named);
    input.files = transfer.files;
    if (status) status.textContent = status.dataset.pasted || named.name;
    showPreview(named);
  });
}

function showValidity() {
  const chosen = form?.querySelector('input[name="validity"]:checked')?.value;
  for (const part of form?.querySelectorAll("[data-validity]") ?? []) {
    part.hidden = part.dataset.validity !== chosen;
  }
}
for (const radio of form?.querySelectorAll('input[name="validity"]') ?? []) {
  radio.addEventListener("change", showValidity);
}
showValidity();
