// The kiosk's screen: full screen and awake, as far as the browser allows.
//
// A browser enters full screen only from a user gesture, so the first tap (or the first tap
// after full screen was left) asks for it, unless it opens a menu; the idle screen says "tap to
// start" meanwhile. The Screen Wake Lock keeps the display on; the browser drops it whenever
// the page is hidden, so it is asked for again when the page is shown again. Where either API is missing (an iPhone,
// an older tablet) the kiosk works as before: it is only a screen that may dim.
//
// What happened is written on the root element, for people debugging a tablet and for tests:
// data-fullscreen = "on" | "off" | "unsupported", data-wake-lock = "on" | "off" | "refused" |
// "unsupported".

export function keepScreen(root, { hint }) {
  const element = document.documentElement;
  const enter = element.requestFullscreen || element.webkitRequestFullscreen;
  const canFullscreen =
    typeof enter === "function" && (document.fullscreenEnabled ?? document.webkitFullscreenEnabled);
  const current = () => document.fullscreenElement || document.webkitFullscreenElement || null;
  let lock = null;
  let asking = false; // one request at a time: a tap while the first is under way adds none
  let wanted = true;

  function showFullscreen() {
    const on = current() !== null;
    root.dataset.fullscreen = canFullscreen ? (on ? "on" : "off") : "unsupported";
    // Only offered where a tap can do something about it.
    hint.hidden = !canFullscreen || on;
  }

  async function wake() {
    if (!("wakeLock" in navigator)) {
      root.dataset.wakeLock = "unsupported";
      return;
    }
    if (!wanted || asking || lock !== null || document.visibilityState !== "visible") return;
    asking = true;
    try {
      const sentinel = await navigator.wakeLock.request("screen");
      sentinel.addEventListener("release", () => {
        lock = null;
        root.dataset.wakeLock = "off";
      });
      if (!wanted) {
        sentinel.release(); // switched off while it was being asked for
        return;
      }
      lock = sentinel;
      root.dataset.wakeLock = "on";
    } catch {
      // Refused (battery saver, a policy, no permission): the screen may dim, nothing breaks.
      root.dataset.wakeLock = "refused";
    } finally {
      asking = false;
    }
  }

  function tapped(event) {
    wake();
    if (!canFullscreen || current() !== null) return;
    // Not the tap that opens a menu (the language menu): a page that goes full screen while a
    // menu is open closes the menu again. The next tap elsewhere goes full screen.
    if (event.target instanceof Element && event.target.closest("select")) return;
    try {
      const asked = enter.call(element, { navigationUI: "hide" });
      asked?.catch?.(() => {});
    } catch {
      // An old browser that throws instead of rejecting: stay as we are.
    }
  }

  showFullscreen();
  wake();
  // Captured, so a tap that a button handles still counts as the gesture.
  document.addEventListener("click", tapped, { capture: true });
  document.addEventListener("fullscreenchange", showFullscreen);
  document.addEventListener("webkitfullscreenchange", showFullscreen);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") wake();
  });

  // A kiosk switched off lets the screen sleep.
  return function release() {
    wanted = false;
    hint.hidden = true;
    lock?.release().catch(() => {});
  };
}
