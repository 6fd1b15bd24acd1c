// Reviewer console: show only the fields the chosen action needs (the form works without this script).
const form = document.querySelector("[data-review-form]");
if (form) {
  const action = form.querySelector("#action");
  const sync = () => {
    for (const node of form.querySelectorAll("[data-for-action]")) {
      node.hidden = node.dataset.forAction !== action.value;
    }
  };
  action.addEventListener("change", sync);
  sync();
}
