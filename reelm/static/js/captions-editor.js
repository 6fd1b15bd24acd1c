// The video page's captions editor (its creator only): upload a WebVTT or SRT file for a language, or open a
// language's captions as WebVTT text, edit them and save. The server checks the file and, when it cannot
// read it, says on which line; that message is shown beside the form. The page reloads after a change so
// the player takes the new tracks.

import { ApiError, api, csrfToken, problemError, reportError, toast } from "./api.js";
import { t } from "./i18n.js";

const root = document.getElementById("captions-editor");
const form = root.querySelector('[data-testid="captions-upload"]');
const language = document.getElementById("captions-language");
const fileInput = document.getElementById("captions-file");
const textField = document.getElementById("captions-text-field");
const text = document.getElementById("captions-text");
const error = root.querySelector('[data-testid="captions-error"]');
const videoId = encodeURIComponent(root.dataset.videoId);

function url(lang) {
  return `/api/v1/videos/${videoId}/subtitles/${encodeURIComponent(lang)}`;
}

function showError(message) {
  error.textContent = message;
}

/** Sends a file (or the edited text, as a file) as multipart, as the API takes it. */
async function put(lang, blob, name) {
  const body = new FormData();
  body.append("file", blob, name);
  const response = await fetch(url(lang), {
    method: "PUT",
    body,
    credentials: "same-origin",
    headers: { "X-CSRF-Token": csrfToken(), Accept: "application/json, application/problem+json" },
  });
  if (!response.ok) throw problemError(response.status, await response.text(), response.statusText);
  return response.json();
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  showError("");
  const lang = language.value.trim();
  if (!lang) {
    showError(t("Name the language of the captions."));
    language.focus();
    return;
  }
  let blob = null;
  let name = "captions.vtt";
  if (!textField.hidden && text.value.trim()) {
    blob = new Blob([text.value], { type: "text/vtt" });
  } else if (fileInput.files && fileInput.files[0]) {
    blob = fileInput.files[0];
    name = blob.name || name;
  }
  if (!blob) {
    showError(t("Choose a WebVTT or SRT file."));
    return;
  }
  try {
    await put(lang, blob, name);
    toast(t("Captions saved"), { kind: "ok" });
    location.reload();
  } catch (failure) {
    if (failure instanceof ApiError && (failure.status === 422 || failure.status === 409 || failure.status === 404)) {
      showError(failure.status === 404 ? t("That is not a language tag (such as en or pt-BR).") : failure.detail);
    } else {
      reportError(failure);
    }
  }
});

root.querySelector('[data-testid="captions-tracks"]').addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-action]");
  if (!button) return;
  const lang = button.closest("li").dataset.language;
  try {
    if (button.dataset.action === "edit") {
      const track = await api("GET", url(lang));
      language.value = lang;
      text.value = track.webvtt;
      textField.hidden = false;
      text.focus();
    } else {
      await api("DELETE", url(lang));
      toast(t("Captions removed"));
      location.reload();
    }
  } catch (failure) {
    reportError(failure);
  }
});
