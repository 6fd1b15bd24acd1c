// Loaded on every page: small progressive enhancements of server-rendered markup.

import { relativeTime } from "./api.js";

document.documentElement.classList.remove("no-js");
document.documentElement.classList.add("js");

// Live "n/max" counters for text fields: <span data-counter-for="field-id">.
for (const counter of document.querySelectorAll("[data-counter-for]")) {
  const field = document.getElementById(counter.dataset.counterFor);
  if (!field) continue;
  const max = Number(field.getAttribute("maxlength")) || 0;
  const update = () => {
    const used = [...field.value].length;
    counter.textContent = max ? `${used}/${max}` : String(used);
    counter.classList.toggle("is-near", max > 0 && used > max * 0.9);
  };
  field.addEventListener("input", update);
  update();
}

// The language picker applies a choice at once; its button stays for browsers without scripts.
for (const select of document.querySelectorAll("select[data-autosubmit]")) {
  select.addEventListener("change", () => select.form && select.form.requestSubmit());
}

// <time data-relative datetime="..."> shows "3h", "2d"...
for (const time of document.querySelectorAll("time[data-relative]")) {
  const text = relativeTime(time.getAttribute("datetime"));
  if (text) time.textContent = text;
}

// Sign-up: preselect the country from the browser's language region (e.g. "en-GB" -> GB).
const countrySelect = document.querySelector("select[data-guess-country]");
if (countrySelect) {
  for (const tag of navigator.languages || [navigator.language]) {
    const match = /^[a-z]{2,3}[-_]([A-Z]{2})\b/i.exec(tag || "");
    const code = match && match[1].toUpperCase();
    if (code && countrySelect.querySelector(`option[value="${code}"]`)) {
      countrySelect.value = code;
      break;
    }
  }
}

// Image inputs with data-preview="img-id": show the chosen image before it is uploaded.
for (const input of document.querySelectorAll("input[type=file][data-preview]")) {
  const img = document.getElementById(input.dataset.preview);
  const hide = input.dataset.previewHide ? document.getElementById(input.dataset.previewHide) : null;
  let url = null;
  input.addEventListener("change", () => {
    if (url) URL.revokeObjectURL(url);
    const file = input.files && input.files[0];
    if (!file || !img) return;
    url = URL.createObjectURL(file);
    img.src = url;
    img.hidden = false;
    if (hide) hide.hidden = true;
    const name = document.getElementById(`${input.id}-name`);
    if (name) name.textContent = file.name;
  });
}
