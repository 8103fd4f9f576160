// findinghub console: small conveniences; every page works without this file.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // The Region picker switches on change.
  for (const select of document.querySelectorAll("select[data-autosubmit]")) {
    select.addEventListener("change", () => select.form.submit());
  }
  // Select every finding of the page.
  const all = document.getElementById("select-all");
  if (all) {
    all.addEventListener("change", () => {
      for (const box of document.querySelectorAll('#findings input[name="sel"]')) box.checked = all.checked;
    });
  }
  // One more empty row in the filter editor.
  const add = document.getElementById("add-row");
  const rows = document.querySelector("#filter-rows tbody");
  if (add && rows && rows.lastElementChild) {
    add.hidden = false;
    add.addEventListener("click", () => {
      const row = rows.lastElementChild.cloneNode(true);
      for (const input of row.querySelectorAll("input")) input.value = "";
      rows.appendChild(row);
    });
  }
  // A bulk action needs a selection.
  const bulk = document.getElementById("bulk");
  if (bulk) {
    bulk.addEventListener("submit", (e) => {
      if (!bulk.querySelector('input[name="sel"]:checked')) {
        e.preventDefault();
        alert("Select at least one finding.");
      }
    });
  }
});
