// The review gallery's "select all" box (a static file: the Content-Security-Policy allows no inline script).
"use strict";

document.getElementById("select-all")?.addEventListener("change", (e) => {
  document.querySelectorAll("input[name=creative], input[name=row]").forEach((box) => {
    box.checked = e.target.checked;
  });
});

// A family's box ticks its sizes' own boxes too, so what will change is visible before submitting.
document.querySelectorAll("input[name=row]").forEach((rowBox) => {
  rowBox.addEventListener("change", () => {
    rowBox.closest(".family-row")?.querySelectorAll("input[name=creative]").forEach((box) => {
      box.checked = rowBox.checked;
    });
  });
});
document.querySelectorAll(".family-row input[name=creative]").forEach((box) => {
  box.addEventListener("change", () => {
    const rowBox = box.closest(".family-row")?.querySelector("input[name=row]");
    if (rowBox && !box.checked) rowBox.checked = false; // the row's box stands for every size, so it clears
  });
});
