// The counter's camera: QR and Code 128 read by our own WebAssembly decoder (never a CDN).
// Used by the staff scanner and the kiosk; onCode(text) for every frame with a code in it,
// skipped while busy() says the screen is still dealing with the last one.
import { BarcodeDetector, prepareZXingModule } from "../vendor/barcode-detector/ponyfill.js";

export async function startCamera({ video, status, wasmUrl, text, onCode, busy = () => false }) {
  if (!navigator.mediaDevices?.getUserMedia) {
    status.textContent = text.camera_off;
    return false;
  }
  // Before the first BarcodeDetector: the decoder comes from this site.
  prepareZXingModule({
    overrides: {
      locateFile: (path, prefix) => (path.endsWith(".wasm") ? wasmUrl : prefix + path),
    },
    fireImmediately: true,
  });
  const detector = new BarcodeDetector({ formats: ["qr_code", "code_128"] });
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      video: { facingMode: "environment" },
      audio: false,
    });
  } catch (error) {
    status.textContent = error?.name === "NotAllowedError" ? text.camera_off : text.camera_error;
    return false;
  }
  video.srcObject = stream;
  await video.play();
  status.textContent = "";
  status.hidden = true;
  const tick = async () => {
    if (!document.hidden && video.readyState >= 2 && !busy()) {
      try {
        const [hit] = await detector.detect(video);
        if (hit) onCode(hit.rawValue);
      } catch {
        // A frame the decoder could not take; the next one will do.
      }
    }
    setTimeout(tick, 150);
  };
  tick();
  return true;
}
