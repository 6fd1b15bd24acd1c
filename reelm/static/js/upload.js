// /upload: pick or drop a video, preview it, send it with progress, then follow its processing until
// it is ready (or rejected); the caption stays editable afterwards. From "Use this sound", "Duet" or "Stitch"
// (/upload?sound=, ?duet=, ?stitch=) the page also takes the remix: where the sound starts and the mix, the
// original beside the clip, or the part of the original to stitch; the server composes it before transcoding.

import { ApiError, api, csrfToken, el, loginUrl, problemError, toast, viewer } from "./api.js";
import { formatNumber, t, tn } from "./i18n.js";
import { icon } from "./icons.js";

const form = document.getElementById("upload-form");
const fileInput = document.getElementById("upload-file");
const dropzone = document.getElementById("dropzone");
const preview = document.getElementById("preview");
const previewVideo = document.getElementById("preview-video");
const previewName = document.getElementById("preview-name");
const changeButton = document.getElementById("preview-change");
const caption = document.getElementById("upload-caption");
const visibility = document.getElementById("upload-visibility");
// Post now, save as a draft, or schedule: a local time, sent with this browser's IANA time zone.
const whenInputs = [...form.querySelectorAll('input[name="when"]')];
const scheduleBox = document.getElementById("upload-schedule");
const publishAt = document.getElementById("upload-publish-at");
const SCHEDULE_DAYS = 30;
// Labels every viewer sees: AI-generated, paid partnership.
const labelInputs = [...form.querySelectorAll('[data-testid="upload-labels"] input')];
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
// The remix's fields (remix_kind, remix_of, levels, offsets): sent as they are; absent on a plain upload.
const remixPanel = document.getElementById("remix");
const remixKind = remixPanel ? remixPanel.dataset.kind : null;
const remixInputs = remixPanel ? [...form.querySelectorAll("[data-remix-field]")] : [];
const remixControls = remixPanel ? [...remixPanel.querySelectorAll("input[type=range], button")] : [];

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
  submit.textContent = busy ? t("Posting…") : postWords();
  discard.hidden = !(next === "choose" && file);
  visibility.disabled = next !== "choose";
  for (const input of [...whenInputs, publishAt, ...labelInputs]) input.disabled = next !== "choose";
  for (const input of permissionInputs) input.disabled = next !== "choose";
  for (const control of remixControls) control.disabled = next !== "choose";
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
  // Its label (the drop zone) is hidden now: the input is named as the button that opens it again.
  fileInput.setAttribute("aria-label", t("Change video"));
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
  fileInput.removeAttribute("aria-label");
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

/** Why the server would not make this remix, in the viewer's words (the problem's type says which). */
function remixRefusal(error) {
  const type = error.type || "";
  if (type.endsWith("remix-not-allowed")) {
    const kind = (error.problem && error.problem.remix) || remixKind;
    if (kind === "duet") return t("The creator doesn't allow duets with this video.");
    if (kind === "stitch") return t("The creator doesn't allow stitches with this video.");
    return t("The creator doesn't allow others to use this video's sound.");
  }
  if (type.endsWith("sound-unavailable")) return t("This sound isn't available. It can no longer be used.");
  if (type.endsWith("remix-rejected")) return t("This remix can't be made: {detail}", { detail: error.detail });
  if (error.status === 404) {
    return remixKind === "sound"
      ? t("This sound isn't available. It may have been removed or made private.")
      : t("This video isn't available. It may have been removed or made private.");
  }
  return null;
}

function describeError(error) {
  const detail = error.detail;
  const refused = remixKind ? remixRefusal(error) : null;
  if (refused) return refused;
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

function whenChosen() {
  const checked = whenInputs.find((input) => input.checked);
  return checked ? checked.value : "now";
}

function postWords() {
  const when = whenChosen();
  if (when === "draft") return t("Save draft");
  if (when === "schedule") return t("Schedule");
  return t("Post");
}

function localValue(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

function browserTimeZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  } catch {
    return "UTC";
  }
}

for (const input of whenInputs) {
  input.addEventListener("change", () => {
    const scheduling = whenChosen() === "schedule";
    scheduleBox.hidden = !scheduling;
    if (scheduling) {
      // The picker's bounds; the server decides, and says why, for any value typed in.
      const now = new Date();
      publishAt.min = localValue(now);
      publishAt.max = localValue(new Date(now.getTime() + SCHEDULE_DAYS * 86400000));
      if (!publishAt.value) publishAt.value = localValue(new Date(now.getTime() + 3600000));
    }
    if (phase === "choose") submit.textContent = postWords();
  });
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
  for (const input of labelInputs) body.append(input.name, String(input.checked));
  const when = whenChosen();
  if (when === "draft") body.append("draft", "true");
  if (when === "schedule") {
    if (!publishAt.value) {
      setStatus("error", t("Choose when to post it."));
      publishAt.focus();
      return;
    }
    body.append("publish_at", publishAt.value);
    body.append("time_zone", browserTimeZone());
  }
  form.dataset.when = when;
  // Every permission, ticked or not: one left out would get the account's default.
  for (const input of permissionInputs) {
    if (input.type === "checkbox") body.append(input.name, String(input.checked));
    else if (input.checked) body.append(input.name, input.value);
  }
  for (const input of remixInputs) body.append(input.name, input.value);

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
      setStatus("busy", processingWords());
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

/** What the server is doing with the upload: a remix is composed first, then transcoded as any video. */
function processingWords() {
  if (remixKind === "duet") return t("Making your duet…");
  if (remixKind === "stitch") return t("Making your stitch…");
  if (remixKind === "sound") return t("Mixing in the sound…");
  return t("Processing…");
}

function render(video) {
  const me = viewer();
  if (video.status === "processing") {
    setStatus("busy", processingWords(), video.status_detail ? ` ${video.status_detail}` : "");
  } else if (video.status === "ready" && form.dataset.when && form.dataset.when !== "now") {
    // A draft or scheduled post: processed, and waiting in the drafts until it is posted.
    setPhase("ready");
    const words = form.dataset.when === "schedule" ? t("Scheduled. It waits in your drafts until its time.") : t("Saved to your drafts.");
    const links = el("span", { className: "status-links" },
      el("a", { className: "btn btn-primary btn-sm", href: "/studio/drafts", "data-testid": "upload-drafts-link" }, t("Your drafts")));
    setStatus("ok", el("strong", {}, words), " ", links);
    renderSave();
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
  for (const input of whenInputs) input.checked = input.value === "now";
  scheduleBox.hidden = true;
  delete form.dataset.when;
  for (const input of permissionInputs) input.checked = input.defaultChecked;
  clearFile();
  setStatus("");
  setPhase("choose");
  fileInput.focus();
});

// ---- the remix ------------------------------------------------------------------------------------------------

/** 75.25 → "1:15.3", in the page's digits. */
function clock(seconds) {
  const tenths = Math.round(Math.max(0, seconds) * 10);
  const minutes = Math.floor(tenths / 600);
  const rest = (tenths - minutes * 600) / 10;
  return `${formatNumber(minutes)}:${formatNumber(rest, { minimumIntegerDigits: 2, minimumFractionDigits: 1, maximumFractionDigits: 1 })}`;
}

function lengthWords(seconds) {
  return formatNumber(seconds, { style: "unit", unit: "second", unitDisplay: "long", maximumFractionDigits: 1 });
}

const round1 = (value) => Math.round(value * 10) / 10;

/** The mix slider: 0 is your audio only, 100 the sound's (or the original's) only, both at full level at 50. */
function setUpMix() {
  const slider = document.getElementById("remix-mix");
  if (!slider) return;
  const own = document.getElementById("remix-own-level");
  const other = document.getElementById("remix-other-level");
  const shown = document.getElementById("remix-mix-shown");
  const percent = (level) => formatNumber(level, { style: "percent" });
  const update = () => {
    const value = Number(slider.value);
    const ownLevel = Math.min(1, (100 - value) / 50);
    const otherLevel = Math.min(1, value / 50);
    own.value = String(Math.round(ownLevel * 100) / 100);
    other.value = String(Math.round(otherLevel * 100) / 100);
    const levels = { own: percent(ownLevel), other: percent(otherLevel) };
    const words = remixKind === "sound"
      ? t("Your audio {own} · the sound {other}", levels)
      : t("Your audio {own} · the original {other}", levels);
    shown.textContent = words;
    slider.setAttribute("aria-valuetext", words);
  };
  slider.addEventListener("input", update);
  update();
}

/** Where the sound starts, and a way to hear it from there (the sound's own video plays it). */
function setUpSound() {
  const offset = document.getElementById("remix-offset");
  const shown = document.getElementById("remix-offset-shown");
  const audio = document.getElementById("remix-sound");
  const listen = document.getElementById("remix-listen");
  const duration = Number(remixPanel.dataset.duration) || 0;
  const update = () => {
    const words = t("{at} of {length}", { at: clock(Number(offset.value)), length: clock(duration) });
    shown.textContent = words;
    offset.setAttribute("aria-valuetext", words);
  };
  offset.addEventListener("input", () => {
    update();
    if (!audio.paused) audio.currentTime = Number(offset.value);
  });
  update();
  if (!audio.getAttribute("src")) return;
  listen.hidden = false;
  const label = listen.querySelector("span");
  const showPlaying = (playing) => {
    label.textContent = playing ? t("Stop") : t("Listen from there");
    listen.setAttribute("aria-pressed", String(playing));
  };
  listen.addEventListener("click", () => {
    if (!audio.paused) {
      audio.pause();
      return;
    }
    audio.preload = "auto";
    audio.currentTime = Number(offset.value);
    audio.play().catch(() => showPlaying(false));
  });
  audio.addEventListener("play", () => showPlaying(true));
  audio.addEventListener("pause", () => showPlaying(false));
  audio.addEventListener("ended", () => showPlaying(false));
}

/** The duet's preview: the original plays with the clip, beside it or, when either is landscape, under it. */
function setUpDuet() {
  const layout = document.querySelector('[data-testid="duet-layout"]');
  const original = document.getElementById("duet-original-video");
  if (!layout || !original) return;
  const landscapeOriginal = layout.classList.contains("is-stacked");
  previewVideo.addEventListener("loadedmetadata", () => {
    const landscapeClip = previewVideo.videoWidth > previewVideo.videoHeight;
    layout.classList.toggle("is-stacked", landscapeOriginal || landscapeClip);
  });
  const follow = () => {
    if (!Number.isFinite(previewVideo.currentTime)) return;
    original.currentTime = Math.min(previewVideo.currentTime, original.duration || previewVideo.currentTime);
  };
  previewVideo.addEventListener("play", () => {
    follow();
    original.play().catch(() => {});
  });
  previewVideo.addEventListener("pause", () => original.pause());
  previewVideo.addEventListener("seeked", follow);
}

/** The stitched part: start and end within the original, at most a few seconds apart, played in a loop. */
function setUpStitch() {
  const video = document.getElementById("stitch-video");
  const start = document.getElementById("stitch-start");
  const end = document.getElementById("stitch-end");
  const lengthLine = document.getElementById("stitch-length");
  const windowBar = document.getElementById("stitch-window");
  const playhead = document.getElementById("stitch-playhead");
  const play = document.getElementById("stitch-play");
  const duration = Number(remixPanel.dataset.duration) || 0;
  const longest = Number(lengthLine.dataset.max) || 5;
  const shortest = Math.min(Number(lengthLine.dataset.min) || 0.5, duration);

  const range = () => ({ from: Number(start.value), to: Number(end.value) });

  /** Keep the part inside the rules, moving the other end when one end is dragged past them. */
  const clamp = (moved) => {
    let { from, to } = range();
    if (moved === start) {
      from = Math.min(from, duration - shortest);
      if (to - from > longest) to = from + longest;
      if (to - from < shortest) to = from + shortest;
    } else {
      to = Math.max(to, shortest);
      if (to - from > longest) from = to - longest;
      if (to - from < shortest) from = to - shortest;
    }
    start.value = String(round1(Math.max(0, from)));
    end.value = String(round1(Math.min(duration, to)));
  };

  const render = () => {
    const { from, to } = range();
    const words = { start: clock(from), end: clock(to) };
    document.getElementById("stitch-start-shown").textContent = words.start;
    document.getElementById("stitch-end-shown").textContent = words.end;
    start.setAttribute("aria-valuetext", words.start);
    end.setAttribute("aria-valuetext", words.end);
    lengthLine.textContent = t("{length} of the original (at most {longest}), then your video", {
      length: lengthWords(to - from), longest: lengthWords(longest),
    });
    if (duration > 0) {
      windowBar.style.insetInlineStart = `${(from / duration) * 100}%`;
      windowBar.style.width = `${((to - from) / duration) * 100}%`;
    }
  };

  // The original plays the chosen part over and over, so people hear and see what they are choosing.
  let frame = 0;
  const keepInside = () => {
    const { from, to } = range();
    if (video.currentTime >= to || video.currentTime < from - 0.05) video.currentTime = from;
    if (duration > 0) playhead.style.insetInlineStart = `${(video.currentTime / duration) * 100}%`;
    frame = video.paused ? 0 : requestAnimationFrame(keepInside);
  };
  const showPlaying = (playing) => {
    play.setAttribute("aria-pressed", String(playing));
    play.replaceChildren(icon(playing ? "pause" : "play", "icon icon-xs"), el("span", {}, playing ? t("Pause") : t("Play this part")));
  };
  video.addEventListener("play", () => {
    showPlaying(true);
    if (!frame) frame = requestAnimationFrame(keepInside);
  });
  video.addEventListener("pause", () => showPlaying(false));
  const restart = () => {
    video.currentTime = range().from;
    video.play().catch(() => {});
  };
  for (const input of [start, end]) {
    input.addEventListener("input", () => {
      clamp(input);
      render();
      restart();
    });
  }
  play.addEventListener("click", () => {
    if (!video.paused) {
      video.pause();
      return;
    }
    video.muted = false; // a press is a gesture: the part plays with its sound
    restart();
  });
  clamp(end);
  render();
  // Muted, it may start by itself; the button plays it with sound.
  if (video.readyState >= 1) restart();
  else video.addEventListener("loadedmetadata", restart, { once: true });
}

if (remixPanel) {
  setUpMix();
  if (remixKind === "sound") setUpSound();
  else if (remixKind === "duet") setUpDuet();
  else if (remixKind === "stitch") setUpStitch();
}

setPhase("choose");
// A file picked before this script ran (a quick hand, or a form the browser restored) is taken as chosen.
if (fileInput.files && fileInput.files[0]) choose(fileInput.files[0]);
