// The dashboard's filter form: a date the browser cannot read (typed half, or 31 February) is sent by
// <input type="date"> as an empty value, which would silently mean "the default range". Say so instead.
"use strict";

document.querySelectorAll("form.filters").forEach((form) => {
  form.addEventListener("submit", (event) => {
    const bad = [...form.querySelectorAll("input[type=date]")].filter((input) => input.validity.badInput);
    let box = form.parentElement.querySelector(".filter-errors.client");
    if (!bad.length) return;
    event.preventDefault();
    if (!box) {
      box = document.createElement("ul");
      box.className = "errorlist filter-errors client";
      box.setAttribute("role", "alert");
      form.after(box);
    }
    box.replaceChildren(...bad.map((input) => {
      const li = document.createElement("li");
      li.textContent = `${input.closest("label").firstChild.textContent.trim()}: not a complete date. ` +
        "Pick a day or clear the field; nothing was filtered.";
      return li;
    }));
    bad[0].focus();
  });
});
