// Small progressive enhancements; every page works without them.
document.addEventListener("change", (event) => {
  const field = event.target;
  if (field.matches("select[data-autosubmit]") && field.form) {
    field.form.requestSubmit();
  }
});

// The call timer on the intake page: minutes and seconds since the call started. The
// server says how long ago that was, so the browser's time zone does not matter.
const timer = document.getElementById("call-timer");
if (timer) {
  const started = Date.now() - Number(timer.dataset.elapsed || 0) * 1000;
  const tick = () => {
    const seconds = Math.max(0, Math.floor((Date.now() - started) / 1000));
    const minutes = Math.floor(seconds / 60);
    timer.textContent = `${minutes}:${String(seconds % 60).padStart(2, "0")}`;
  };
  tick();
  setInterval(tick, 1000);
}

// Beside the intake: "Link as earlier contact" puts the reference into the form's field.
document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-earlier]");
  const field = document.getElementById("id_earlier_reference");
  if (button && field) {
    field.value = button.dataset.earlier;
    field.focus();
  }
});

// A print button where a page offers one (partnership health): it needs the script, so it
// stays hidden without it (the browser's own print command works on every page).
for (const button of document.querySelectorAll("button[data-print]")) {
  button.hidden = false;
  button.addEventListener("click", () => window.print());
}
