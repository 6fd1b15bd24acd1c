// The video page's cover and labels editor (its creator only): a scrubber over the video picks the cover
// frame (the server takes that frame from the best rendition), or an image is uploaded instead; the cover's
// alt text and the AI-generated and paid-partnership labels are saved with it. The page reloads after a
// change so that every part of it shows the new cover and labels.

import { ApiError, api, csrfToken, problemError, reportError, toast } from "./api.js";
import { formatNumber, t } from "./i18n.js";

const form = document.getElementById("cover-editor");
const videoId = encodeURIComponent(form.dataset.videoId);
const preview = document.getElementById("cover-preview");
const at = document.getElementById("cover-at");
const shown = document.getElementById("cover-at-shown");
const file = document.getElementById("cover-file");
const alt = document.getElementById("cover-alt");
const ai = document.getElementById("edit-ai-generated");
const paid = document.getElementById("edit-paid-partnership");
const error = form.querySelector('[data-testid="cover-error"]');
const useFrame = form.querySelector('[data-testid="cover-use-frame"]');

function seconds(value) {
  return t("{seconds} s", { seconds: formatNumber(Number(value), { minimumFractionDigits: 1, maximumFractionDigits: 1 }) });
}

shown.textContent = seconds(at.value);
at.addEventListener("input", () => {
  shown.textContent = seconds(at.value);
  if (preview.readyState >= 1) preview.currentTime = Number(at.value);
});

async function putCover(fields) {
  const body = new FormData();
  for (const [name, value] of Object.entries(fields)) body.append(name, value);
  const response = await fetch(`/api/v1/videos/${videoId}/cover`, {
    method: "PUT",
    body,
    credentials: "same-origin",
    headers: { "X-CSRF-Token": csrfToken(), Accept: "application/json, application/problem+json" },
  });
  if (!response.ok) throw problemError(response.status, await response.text(), response.statusText);
  return response.json();
}

function fail(failure) {
  if (failure instanceof ApiError && [409, 413, 422].includes(failure.status)) error.textContent = failure.detail;
  else reportError(failure);
}

useFrame.addEventListener("click", async () => {
  error.textContent = "";
  useFrame.disabled = true;
  try {
    await putCover({ at_s: at.value });
    toast(t("Cover saved"), { kind: "ok" });
    location.reload();
  } catch (failure) {
    fail(failure);
  } finally {
    useFrame.disabled = false;
  }
});

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.textContent = "";
  try {
    if (file.files && file.files[0]) await putCover({ file: file.files[0] });
    await api("PATCH", `/api/v1/videos/${videoId}`, {
      cover_alt: alt.value,
      ai_generated: ai.checked,
      paid_partnership: paid.checked,
    });
    toast(t("Saved"), { kind: "ok" });
    location.reload();
  } catch (failure) {
    fail(failure);
  }
});
