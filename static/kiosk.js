/* The kiosk's idle reset (docs/ARCHITECTURE.md#kiosk): after data-idle-seconds without a
   touch or a key, submit the reset form (the server forgets the turn and sends the start
   screen with Clear-Site-Data). A page restored from the back/forward cache goes to the
   start screen instead of showing what the previous resident typed. */
(function () {
  "use strict";
  var form = document.getElementById("kiosk-reset");
  if (!form) { return; }
  var seconds = parseInt(document.body.getAttribute("data-idle-seconds"), 10) || 120;
  var timer = null;
  function arm() {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(function () { form.submit(); }, seconds * 1000);
  }
  ["pointerdown", "keydown", "input", "touchstart"].forEach(function (name) {
    document.addEventListener(name, arm, { passive: true });
  });
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) { window.location.replace(form.getAttribute("data-start")); }
  });
  arm();
}());
