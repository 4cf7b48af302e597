// The dashboard's filter form: a date the browser cannot read (half typed, a cleared month) must not
// quietly become "the default range". Chromium refuses to submit it (an `invalid` event, before any
// `submit`); others may send it empty. Either way the page says which filter is wrong, in words.
"use strict";

function reportBadDates(form) {
  const bad = [...form.querySelectorAll("input[type=date]")].filter((input) => input.validity.badInput);
  let box = form.parentElement.querySelector(".filter-errors.client");
  if (!bad.length) {
    if (box) box.remove();
    return false;
  }
  if (!box) {
    box = document.createElement("ul");
    box.className = "errorlist filter-errors client";
    box.setAttribute("role", "alert");
    form.after(box);
  }
  box.replaceChildren(...bad.map((input) => {
    const li = document.createElement("li");
    li.textContent = `${input.closest("label").firstChild.textContent.trim()}: not a complete date. ` +
      "Finish it or clear it; the filters were not applied.";
    return li;
  }));
  return true;
}

document.querySelectorAll("form.filters").forEach((form) => {
  form.addEventListener("invalid", () => reportBadDates(form), true);
  form.addEventListener("submit", (event) => {
    if (reportBadDates(form)) event.preventDefault();
  });
});
