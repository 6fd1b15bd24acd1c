// /upload: pick or drop a video, preview it, send it with progress, then follow its processing until
// it is ready (or rejected); the caption stays editable afterwards.

import { ApiError, api, csrfToken, el, loginUrl, problemError, toast, viewer } from "./api.js";
import { formatNumber, t, tn } from "./i18n.js";

const form = document.getElementById("upload-form");
const fileInput = document.getElementById("upload-file");
const dropzone = document.getElementById("dropzone");
const preview = document.getElementById("preview");
const previewVideo = document.getElementById("preview-video");
const previewName = document.getElementById("preview-name");
const changeButton = document.getElementById("preview-change");
const caption = document.getElementById("upload-caption");
const visibility = document.getElementById("upload-visibility");
const progressBox = document.getElementById("upload-progress-box");
const progress = document.getElementById("upload-progress");
const percent = document.getElementById("upload-percent");
const cancelButton = document.getElementById("upload-cancel");
const statusBox = document.getElementById("upload-status");
const submit = document.getElementById("upload-submit");
const discard = document.getElementById("upload-discard");
const save = document.getElementById("upload-save");
const again = document.getElementById("upload-again");
// Who may comment, duet, stitch, use the sound, download and embed: prefilled with the account's defaults.
const permissionInputs = [...form.querySelectorAll('[data-testid="upload-permissions"] input')];

const VIDEO_NAME = /\.(mp4|m4v|mov|webm|mkv|avi|3gp|3g2|mpe?g|ogv|ts)$/i;

let file = null;
let objectUrl = null;
let xhr = null;
let videoId = null;
let pollTimer = null;
let savedCaption = "";
let phase = "choose"; // choose | uploading | processing | ready | rejected

function formatBytes(n) {
  // Intl's units (kilobyte, megabyte...) are spelled and placed as each language does.
  const unit = (value, name, digits) => formatNumber(value, { style: "unit", unit: name, maximumFractionDigits: digits });
  if (n >= 1e9) return unit(n / 1e9, "gigabyte", 1);
  if (n >= 1e6) return unit(n / 1e6, "megabyte", 1);
  if (n >= 1e3) return unit(Math.round(n / 1e3), "kilobyte", 0);
  return unit(n, "byte", 0);
}

/** Replaces the status line. `parts` are strings and nodes; kind: "", "busy", "ok", "error". */
function setStatus(kind, ...parts) {
  statusBox.replaceChildren();
  statusBox.className = `upload-status${kind ? ` is-${kind}` : ""}`;
  if (kind === "busy") statusBox.append(el("span", { className: "spinner spinner-sm", "aria-hidden": "true" }));
  for (const part of parts) if (part !== null && part !== undefined && part !== "") statusBox.append(part);
}

function setPhase(next) {
  phase = next;
  form.dataset.phase = next;
  const busy = next === "uploading";
  fileInput.disabled = busy || next !== "choose";
  changeButton.hidden = next !== "choose";
  submit.hidden = !(next === "choose" || next === "uploading");
  submit.disabled = next !== "choose" || !file;
  submit.textContent = busy ? t("Posting…") : t("Post");
  discard.hidden = !(next === "choose" && file);
  visibility.disabled = next !== "choose";
  for (const input of permissionInputs) input.disabled = next !== "choose";
  save.hidden = next !== "ready";
  again.hidden = !(next === "ready" || next === "rejected");
  progressBox.hidden = !busy;
  cancelButton.hidden = !busy;
  dropzone.classList.toggle("is-disabled", next !== "choose");
}

// ---- choosing a file ---------------------------------------------------------------------------------

function choose(chosen) {
  if (!chosen || phase !== "choose") return;
  if (!(chosen.type || "").startsWith("video/") && !VIDEO_NAME.test(chosen.name)) {
    setStatus("error", t("That file isn’t a video. Choose an MP4, MOV or WebM file."));
    return;
  }
  file = chosen;
  if (objectUrl) URL.revokeObjectURL(objectUrl);
  objectUrl = URL.createObjectURL(chosen);
  previewVideo.src = objectUrl;
  previewVideo.play().catch(() => {});
  previewName.textContent = `${chosen.name} · ${formatBytes(chosen.size)}`;
  preview.hidden = false;
  dropzone.hidden = true;
  setStatus("");
  setPhase("choose");
  caption.focus({ preventScroll: true });
}

function clearFile() {
  file = null;
  fileInput.value = "";
  if (objectUrl) URL.revokeObjectURL(objectUrl);
  objectUrl = null;
  previewVideo.removeAttribute("src");
  previewVideo.load();
  preview.hidden = true;
  dropzone.hidden = false;
}

// The browser may not decode what the server can (or the file is not a video at all): say so instead of
// leaving a spinner; the server still decides when the file is posted.
previewVideo.addEventListener("error", () => {
  if (!file) return;
  previewVideo.hidden = true;
  previewName.textContent = `${file.name} · ${formatBytes(file.size)} · ${t("no preview in this browser")}`;
});
previewVideo.addEventListener("loadeddata", () => { previewVideo.hidden = false; });

fileInput.addEventListener("change", () => choose(fileInput.files && fileInput.files[0]));
changeButton.addEventListener("click", () => fileInput.click());
discard.addEventListener("click", () => {
  clearFile();
  setStatus("");
  setPhase("choose");
});

// Drag and drop (desktop). Files dropped anywhere else on the page must not navigate away.
for (const type of ["dragover", "drop"]) {
  document.addEventListener(type, (event) => {
    if (event.dataTransfer && [...event.dataTransfer.types].includes("Files")) event.preventDefault();
  });
}
dropzone.addEventListener("dragenter", (event) => {
  event.preventDefault();
  if (phase === "choose") dropzone.classList.add("is-over");
});
dropzone.addEventListener("dragover", (event) => {
  event.preventDefault();
  if (event.dataTransfer) event.dataTransfer.dropEffect = phase === "choose" ? "copy" : "none";
});
dropzone.addEventListener("dragleave", (event) => {
  if (!dropzone.contains(event.relatedTarget)) dropzone.classList.remove("is-over");
});
dropzone.addEventListener("drop", (event) => {
  event.preventDefault();
  dropzone.classList.remove("is-over");
  const dropped = event.dataTransfer && event.dataTransfer.files && event.dataTransfer.files[0];
  if (dropped) choose(dropped);
});

// ---- sending -------------------------------------------------------------------------------------------

function showProgress(fraction) {
  const pct = Math.max(0, Math.min(100, Math.round(fraction * 100)));
  progress.value = pct;
  progress.textContent = `${pct}%`;
  percent.textContent = `${pct}%`;
}

function describeError(error) {
  const detail = error.detail;
  switch (error.status) {
    case 0: return t("Upload failed: {detail}", { detail });
    case 413: return t("The file is too large. {detail}", { detail });
    case 415:
    case 422: return t("The video was not accepted: {detail}", { detail });
    case 429: {
      const wait = xhr && Number(xhr.getResponseHeader("Retry-After"));
      const hint = !(wait > 0) ? ""
        : wait >= 120 ? tn("Try again in {count} minute.", "Try again in {count} minutes.", Math.ceil(wait / 60))
          : tn("Try again in {count} second.", "Try again in {count} seconds.", wait);
      return `${t("You’re uploading too fast. {detail}", { detail })}${hint ? ` ${hint}` : ""}`;
    }
    case 451: return t("Uploads are switched off here right now. {detail}", { detail });
    default: return detail;
  }
}

function fail(error) {
  if (error.status === 401) {
    setStatus("error", t("Your session has ended."), " ", el("a", { href: loginUrl() }, t("Log in again and retry.")));
  } else {
    setStatus("error", describeError(error));
  }
  setPhase("choose");
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  if (!file || phase !== "choose") {
    if (!file) setStatus("error", t("Choose a video first."));
    return;
  }
  const body = new FormData();
  body.append("file", file, file.name);
  body.append("caption", caption.value);
  body.append("visibility", visibility.value);
  // Every permission, ticked or not: one left out would get the account's default.
  for (const input of permissionInputs) {
    if (input.type === "checkbox") body.append(input.name, String(input.checked));
    else if (input.checked) body.append(input.name, input.value);
  }

  const request = new XMLHttpRequest();
  xhr = request;
  request.open("POST", "/api/v1/videos");
  request.setRequestHeader("X-CSRF-Token", csrfToken());
  request.setRequestHeader("Accept", "application/json, application/problem+json");
  request.upload.addEventListener("progress", (e) => {
    if (e.lengthComputable && e.total > 0) showProgress(e.loaded / e.total);
  });
  request.upload.addEventListener("load", () => {
    showProgress(1);
    setStatus("busy", t("Upload complete. Checking your video…"));
  });
  request.addEventListener("load", () => {
    if (request.status >= 200 && request.status < 300) {
      let accepted = null;
      try {
        accepted = JSON.parse(request.responseText);
      } catch {
        accepted = null;
      }
      if (!accepted || !accepted.id) {
        fail(new ApiError(request.status, t("The server sent an unexpected answer.")));
        return;
      }
      videoId = accepted.id;
      savedCaption = caption.value;
      setPhase("processing");
      setStatus("busy", t("Processing…"));
      poll(accepted.status_url || `/api/v1/videos/${encodeURIComponent(videoId)}`);
    } else {
      fail(problemError(request.status, request.responseText, request.statusText));
    }
  });
  request.addEventListener("error", () => fail(new ApiError(0, t("Network error. Check your connection and try again."))));
  request.addEventListener("abort", () => {
    setStatus("", t("Upload cancelled."));
    setPhase("choose");
  });

  showProgress(0);
  setPhase("uploading");
  setStatus("busy", t("Uploading…"));
  request.send(body);
});

cancelButton.addEventListener("click", () => {
  if (xhr && phase === "uploading") xhr.abort();
});

window.addEventListener("beforeunload", (event) => {
  if (phase === "uploading") {
    event.preventDefault();
    event.returnValue = "";
  }
});

// ---- processing ------------------------------------------------------------------------------------------

function poll(url) {
  let failures = 0;
  const tick = async () => {
    pollTimer = null;
    if (phase !== "processing") return;
    try {
      const video = await api("GET", url);
      failures = 0;
      render(video);
      if (video.status === "processing") pollTimer = setTimeout(tick, 1000);
    } catch (error) {
      failures += 1;
      if (error instanceof ApiError && error.status === 401) {
        fail(error);
        return;
      }
      setStatus("busy", t("Processing… (waiting for the server)"));
      pollTimer = setTimeout(tick, Math.min(10000, 1000 * 2 ** Math.min(failures, 4)));
    }
  };
  pollTimer = setTimeout(tick, 1000);
}

function render(video) {
  const me = viewer();
  if (video.status === "processing") {
    setStatus("busy", t("Processing…"), video.status_detail ? ` ${video.status_detail}` : "");
  } else if (video.status === "ready") {
    setPhase("ready");
    const links = el("span", { className: "status-links" },
      el("a", { className: "btn btn-primary btn-sm", href: `/v/${encodeURIComponent(video.id)}` }, t("View video")),
      el("a", { className: "btn btn-secondary btn-sm", href: me ? `/@${me.handle}` : "/" }, t("Your profile")));
    setStatus("ok", el("strong", {}, t("Ready")), video.status_detail ? ` · ${video.status_detail}` : "", " ", links);
    if (video.caption !== undefined && caption.value === savedCaption) {
      caption.value = video.caption;
      savedCaption = video.caption;
      caption.dispatchEvent(new Event("input"));
    }
    renderSave();
  } else if (video.status === "rejected") {
    setPhase("rejected");
    setStatus("error", el("strong", {}, t("Rejected:")), " ", video.reject_reason || t("The video could not be published."));
  } else {
    setStatus("", video.status);
  }
}

// ---- editing the caption afterwards ------------------------------------------------------------------------

function renderSave() {
  save.disabled = caption.value === savedCaption;
}

caption.addEventListener("input", () => {
  if (phase === "ready") renderSave();
});

save.addEventListener("click", async () => {
  if (!videoId) return;
  const text = caption.value;
  save.disabled = true;
  save.textContent = t("Saving…");
  try {
    const video = await api("PATCH", `/api/v1/videos/${encodeURIComponent(videoId)}`, { caption: text });
    savedCaption = video && typeof video.caption === "string" ? video.caption : text;
    caption.value = savedCaption;
    toast(t("Caption saved"), { kind: "ok" });
  } catch (error) {
    toast(error instanceof ApiError ? t("Couldn’t save: {detail}", { detail: error.detail }) : t("Couldn’t save the caption."), { kind: "error" });
  } finally {
    save.textContent = t("Save caption");
    renderSave();
  }
});

again.addEventListener("click", () => {
  clearTimeout(pollTimer);
  videoId = null;
  savedCaption = "";
  caption.value = "";
  caption.dispatchEvent(new Event("input"));
  visibility.value = "public";
  for (const input of permissionInputs) input.checked = input.defaultChecked;
  clearFile();
  setStatus("");
  setPhase("choose");
  fileInput.focus();
});

setPhase("choose");
