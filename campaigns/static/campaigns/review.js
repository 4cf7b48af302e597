// The review gallery's "select all" box (a static file: the Content-Security-Policy allows no inline script).
"use strict";

document.getElementById("select-all")?.addEventListener("change", (e) => {
  document.querySelectorAll("input[name=creative]").forEach((box) => {
    box.checked = e.target.checked;
  });
});
