// memsvc console: the only script, and the pages work without it (every change already has a
// server-side preview and confirmation page). It adds a browser confirm() before destructive
// posts, submits the namespace picker on change, and expands or collapses the whole MemTree.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }
  for (const select of document.querySelectorAll("select[data-autosubmit]")) {
    select.addEventListener("change", () => select.form.submit());
  }
  for (const button of document.querySelectorAll("button[data-tree]")) {
    button.addEventListener("click", () => {
      const open = button.dataset.tree === "open";
      for (const node of document.querySelectorAll("#tree details")) node.open = open;
    });
  }
});
