// One video surface: source choice (native HLS or the best-fitting MP4 rung), attach/detach of the
// media to save memory, tap to pause, double-tap to like, a seekable progress bar, and the page-wide
// sound state (muted until the visitor's first tap, click or key press).

import { api, el, reducedMotion } from "./api.js";
import { t } from "./i18n.js";
import { icon } from "./icons.js";

const HLS_TYPE = "application/vnd.apple.mpegurl";
const DOUBLE_TAP_MS = 300;
const MOBILE_CAP = 720; // short edge, px: phones never need more, and it saves their data plans

let hlsSupport = null;

/** True where the browser plays HLS itself (Safari, iOS). */
export function nativeHls() {
  if (hlsSupport === null) hlsSupport = Boolean(document.createElement("video").canPlayType(HLS_TYPE));
  return hlsSupport;
}

function phoneSized() {
  return window.matchMedia("(max-width: 767px), (max-height: 500px)").matches;
}

/**
 * The URL to play: the HLS master playlist where HLS is native; otherwise the smallest MP4 rendition
 * whose short edge covers the player's width in device pixels (capped on phones), else `mp4_url`.
 */
export function chooseSource(item, cssWidth) {
  if (item.hls_url && nativeHls()) return item.hls_url;
  const width = cssWidth > 0 ? cssWidth : Math.min(window.innerWidth, (window.innerHeight * 9) / 16);
  let needed = Math.ceil(width * (window.devicePixelRatio || 1));
  if (phoneSized()) needed = Math.min(needed, MOBILE_CAP);
  const rungs = (item.renditions || [])
    .filter((r) => r && r.mp4_url && r.width > 0 && r.height > 0)
    .map((r) => ({ url: r.mp4_url, short: Math.min(r.width, r.height) }))
    .sort((a, b) => a.short - b.short);
  const fit = rungs.find((r) => r.short >= needed);
  if (fit) return fit.url;
  return item.mp4_url || (rungs.length ? rungs[rungs.length - 1].url : null);
}

// ---- captions: one remembered choice for every video ----------------------------------------------

const CAPTIONS_KEY = "reelm.captions";

/** A language tag, "off", or null when the visitor never chose. */
function rememberedCaptions() {
  try {
    return localStorage.getItem(CAPTIONS_KEY);
  } catch {
    return null; // storage refused (private mode): nothing remembered
  }
}

function rememberCaptions(choice) {
  try {
    localStorage.setItem(CAPTIONS_KEY, choice);
  } catch {
    // storage refused: the choice lasts for this page only
  }
}

// ---- sound: one state for the whole page ---------------------------------------------------------

const soundListeners = new Set();

export const sound = {
  muted: true,
  /** Set by the first user gesture; browsers allow sound only after one. */
  unlocked: false,
  unlockedAt: -Infinity,
  set(muted) {
    this.muted = muted;
    for (const listener of soundListeners) listener(muted);
  },
  toggle() {
    this.unlocked = true;
    this.set(!this.muted);
  },
  subscribe(listener) {
    soundListeners.add(listener);
    return () => soundListeners.delete(listener);
  },
  /** The browser refused to play with sound: fall back to muted until the next gesture. */
  refused() {
    this.unlocked = false;
    if (!this.muted) this.set(true);
  },
  /** True once, right after the gesture that turned the sound on (that tap should not also pause). */
  consumeUnlock() {
    const fresh = performance.now() - this.unlockedAt < 700;
    this.unlockedAt = -Infinity;
    return fresh;
  },
};

function unlock() {
  if (sound.unlocked) return;
  sound.unlocked = true;
  if (sound.muted) {
    sound.unlockedAt = performance.now();
    sound.set(false);
  }
}

// pointerup (not pointerdown): on touch screens only the end of a tap counts as a user activation.
document.addEventListener("pointerup", unlock, true);
document.addEventListener("keydown", (event) => {
  if (event.metaKey || event.ctrlKey || event.altKey) return;
  if (["Escape", "Tab", "Shift", "m", "M"].includes(event.key)) return; // "m" is the mute key itself
  unlock();
}, true);

/** Shows `button` while the page is muted; pressing it turns the sound on. */
export function bindUnmutePill(button) {
  if (!button) return;
  const render = (muted) => { button.hidden = !muted; };
  render(sound.muted);
  sound.subscribe(render);
  button.addEventListener("click", () => {
    sound.unlocked = true;
    sound.set(false);
  });
}

function formatTime(seconds) {
  const s = Math.max(0, Math.floor(seconds || 0));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

// ---- the player ------------------------------------------------------------------------------------

export class Player {
  /**
   * @param item VideoOut
   * @param options.onDoubleTap called on a double tap/click (after the heart burst)
   */
  constructor(item, { onDoubleTap } = {}) {
    this.item = item;
    this.onDoubleTap = onDoubleTap;
    this.attached = false;
    this.active = false;
    this.userPaused = false;
    this.fellBack = false;
    this.lastTap = -Infinity;
    this.tapTimer = null;
    this.raf = 0;
    this.seeking = false;

    const video = document.createElement("video");
    video.className = "player-video";
    video.muted = true;
    video.defaultMuted = true;
    video.setAttribute("muted", "");
    video.playsInline = true;
    video.setAttribute("playsinline", "");
    video.setAttribute("webkit-playsinline", "");
    video.loop = true;
    video.preload = "metadata";
    video.disableRemotePlayback = true;
    video.setAttribute("disablepictureinpicture", "");
    if (item.poster_url) video.poster = item.poster_url;
    video.setAttribute("aria-label", item.creator ? t("Video by @{handle}", { handle: item.creator.handle }) : t("Video"));
    this.video = video;

    this.spinner = el("div", { className: "player-spinner", "aria-hidden": "true" }, el("span", { className: "spinner" }));
    this.indicator = el("div", { className: "player-indicator", "aria-hidden": "true" }, icon("play", "icon"));
    this.errorBox = el("div", { className: "player-error", role: "alert", hidden: true });

    this.fill = el("div", { className: "progress-fill" });
    this.knob = el("div", { className: "progress-knob" });
    this.progress = el("div", {
      className: "progress",
      role: "slider",
      tabindex: "0",
      "aria-label": t("Seek"),
      "aria-valuemin": "0",
      "aria-valuemax": String(Math.round(item.duration_s || 0)),
      "aria-valuenow": "0",
      "aria-valuetext": "0:00",
    }, el("div", { className: "progress-track" }, this.fill), this.knob);

    this.root = el("div", { className: "player" }, video, this.spinner, this.indicator, this.errorBox, this.progress);
    if (item.width && item.height && item.height > item.width) this.root.classList.add("is-portrait");
    if (item.poster_url) this.root.style.setProperty("--poster", `url("${encodeURI(item.poster_url)}")`);

    this.bindCaptions();
    this.bindMedia();
    this.bindTaps();
    this.bindSeek();
    this.unsubscribe = sound.subscribe((muted) => { this.video.muted = muted; });
  }

  // -- captions

  /**
   * The video's caption tracks (`item.subtitles`, on the video page) as <track>s, and a CC button that
   * shows or hides them. The choice (a language, or off) is remembered for every video on this device.
   * The <track>s are added even where HLS plays natively: not every native player exposes the master
   * playlist's subtitle renditions as text tracks, and only one track is ever showing.
   */
  bindCaptions() {
    const tracks = Array.isArray(this.item.subtitles) ? this.item.subtitles : [];
    if (!tracks.length) return;
    for (const track of tracks) {
      const node = document.createElement("track");
      node.kind = "subtitles";
      node.src = track.url;
      node.srclang = track.language;
      node.label = track.label;
      this.video.append(node);
    }
    this.ccButton = el("button", {
      type: "button",
      className: "player-cc",
      "aria-label": t("Captions"),
      "aria-pressed": "false",
      "data-testid": "captions-toggle",
    }, t("CC"));
    this.ccButton.addEventListener("click", (event) => {
      event.stopPropagation();
      const showing = this.captionsShowing();
      const choice = showing ? "off" : this.preferredLanguage(tracks);
      rememberCaptions(choice);
      this.showCaptions(choice);
    });
    this.root.append(this.ccButton);
    // Text tracks appear once the media element has taken them in; the remembered choice applies then.
    const apply = () => {
      const remembered = rememberedCaptions();
      this.showCaptions(remembered === null || remembered === "off" ? "off" : this.preferredLanguage(tracks));
    };
    this.video.textTracks.addEventListener("addtrack", apply);
    apply();
  }

  /** The remembered language if this video has it, else the browser's language, else the first track. */
  preferredLanguage(tracks) {
    const remembered = rememberedCaptions();
    const languages = tracks.map((track) => track.language);
    if (remembered && languages.includes(remembered)) return remembered;
    const wanted = (navigator.language || "").toLowerCase();
    return languages.find((lang) => lang.toLowerCase() === wanted)
      || languages.find((lang) => lang.split("-")[0].toLowerCase() === wanted.split("-")[0])
      || languages[0];
  }

  captionsShowing() {
    return [...this.video.textTracks].some((track) => track.mode === "showing");
  }

  showCaptions(language) {
    let shown = false;
    for (const track of this.video.textTracks) {
      if (track.kind !== "subtitles" && track.kind !== "captions") continue;
      const show = language !== "off" && !shown && track.language === language;
      track.mode = show ? "showing" : "disabled";
      shown = shown || show;
    }
    if (this.ccButton) {
      this.ccButton.setAttribute("aria-pressed", String(shown));
      this.ccButton.classList.toggle("is-on", shown);
    }
  }

  // -- media lifecycle

  /** Gives the <video> its source. preload "auto" for the current and next video, "metadata" otherwise. */
  attach(preload = "metadata") {
    if (this.attached) {
      if (preload === "auto" && this.video.preload !== "auto") this.video.preload = "auto";
      return;
    }
    const src = this.fellBack ? this.item.mp4_url : chooseSource(this.item, this.root.clientWidth);
    if (!src) {
      this.showError(t("This video isn’t available yet."));
      return;
    }
    this.video.preload = preload;
    this.video.muted = sound.muted;
    this.video.src = src;
    this.attached = true;
  }

  /** Drops the source so the browser can free the decoder and buffers; the poster stays. */
  detach() {
    if (!this.attached) return;
    this.active = false;
    this.video.pause();
    this.video.removeAttribute("src");
    this.video.load();
    this.attached = false;
    this.root.classList.remove("is-waiting", "is-paused");
    this.renderProgress(0);
  }

  /** Becomes the visible video: attach, then play (muted if the page still is). */
  activate() {
    this.active = true;
    this.userPaused = false;
    this.root.classList.remove("is-paused");
    return this.play();
  }

  deactivate() {
    this.active = false;
    clearTimeout(this.tapTimer);
    this.video.pause();
  }

  async play() {
    this.attach("auto");
    if (!this.attached || this.userPaused) return;
    this.video.muted = sound.muted;
    try {
      await this.video.play();
    } catch (error) {
      if (!this.active || !this.attached) return;
      if (error && error.name === "NotAllowedError" && !this.video.muted) {
        sound.refused();
        this.video.muted = true;
        try {
          await this.video.play();
        } catch {
          this.showPaused(true);
        }
      } else if (error && error.name === "NotAllowedError") {
        this.showPaused(true); // even muted autoplay is blocked (data saver, policy): wait for a tap
        this.userPaused = true;
      }
    }
  }

  pause() {
    this.video.pause();
  }

  /** One view per page visit; the server also counts at most one per viewer and video every 10 minutes. */
  countView() {
    if (this.viewCounted || !this.item || !this.item.id) return;
    this.viewCounted = true;
    api("POST", `/api/v1/videos/${encodeURIComponent(this.item.id)}/view`).catch(() => {
      this.viewCounted = false; // try again on the next play
    });
  }

  /** Tap/Space: pause or resume, with the big play symbol while paused. */
  toggle() {
    if (!this.attached || this.video.paused) {
      this.userPaused = false;
      this.showPaused(false);
      this.active = true;
      this.play();
    } else {
      this.userPaused = true;
      this.video.pause();
      this.showPaused(true);
    }
  }

  /** After the page comes back into view, or the item scrolls back: play unless the user paused. */
  resume() {
    this.active = true;
    if (!this.userPaused) this.play();
  }

  destroy() {
    this.detach();
    this.unsubscribe();
  }

  // -- visuals

  showPaused(paused) {
    this.root.classList.toggle("is-paused", paused);
  }

  showError(message) {
    this.errorBox.textContent = message;
    this.errorBox.hidden = false;
    this.root.classList.add("has-error");
  }

  /** A heart that pops where the viewer tapped. */
  burst(clientX, clientY) {
    const rect = this.root.getBoundingClientRect();
    const x = clientX === undefined ? rect.width / 2 : clientX - rect.left;
    const y = clientY === undefined ? rect.height / 2 : clientY - rect.top;
    const heart = icon("heart", "burst");
    heart.style.left = `${x}px`;
    heart.style.top = `${y}px`;
    heart.style.setProperty("--tilt", `${Math.round(Math.random() * 36 - 18)}deg`);
    this.root.append(heart);
    setTimeout(() => heart.remove(), reducedMotion() ? 500 : 900);
  }

  renderProgress(fraction) {
    const f = Math.min(1, Math.max(0, fraction || 0));
    this.fill.style.transform = `scaleX(${f})`;
    this.knob.style.left = `${f * 100}%`;
  }

  currentFraction() {
    const d = this.video.duration;
    return Number.isFinite(d) && d > 0 ? this.video.currentTime / d : 0;
  }

  // -- events

  bindMedia() {
    const v = this.video;
    let waitTimer = null;
    const stopWaiting = () => {
      clearTimeout(waitTimer);
      this.root.classList.remove("is-waiting");
    };
    v.addEventListener("waiting", () => {
      clearTimeout(waitTimer);
      waitTimer = setTimeout(() => { if (this.attached && this.active) this.root.classList.add("is-waiting"); }, 400);
    });
    v.addEventListener("playing", () => {
      stopWaiting();
      this.countView();
      this.errorBox.hidden = true;
      this.root.classList.remove("has-error");
      this.root.classList.add("has-played");
    });
    v.addEventListener("pause", stopWaiting);
    v.addEventListener("emptied", stopWaiting);
    v.addEventListener("play", () => this.loop());
    v.addEventListener("timeupdate", () => {
      this.progress.setAttribute("aria-valuenow", String(Math.floor(v.currentTime)));
      this.progress.setAttribute("aria-valuetext", t("{elapsed} of {duration}", { elapsed: formatTime(v.currentTime), duration: formatTime(v.duration) }));
      if (v.paused) this.renderProgress(this.currentFraction());
    });
    v.addEventListener("loadedmetadata", () => {
      if (Number.isFinite(v.duration)) this.progress.setAttribute("aria-valuemax", String(Math.round(v.duration)));
    });
    v.addEventListener("error", () => {
      if (!this.attached || !v.error) return;
      // A rendition or the HLS playlist failed: try the progressive MP4 once before giving up.
      const fallback = this.item.mp4_url && new URL(this.item.mp4_url, location.href).href;
      if (!this.fellBack && fallback && v.currentSrc !== fallback) {
        this.fellBack = true;
        this.attached = false;
        this.attach("auto");
        if (this.active) this.play();
        return;
      }
      stopWaiting();
      this.showError(t("Can’t play this video right now."));
    });
  }

  loop() {
    if (this.raf) return;
    const tick = () => {
      if (!this.seeking) this.renderProgress(this.currentFraction());
      this.raf = this.video.paused ? 0 : requestAnimationFrame(tick);
    };
    this.raf = requestAnimationFrame(tick);
  }

  bindTaps() {
    this.root.addEventListener("click", (event) => {
      if (event.target.closest(".progress, button, a")) return;
      const now = performance.now();
      if (now - this.lastTap < DOUBLE_TAP_MS) {
        // Double (or triple…) tap: every extra tap pops another heart; the like is set once.
        clearTimeout(this.tapTimer);
        this.tapTimer = null;
        this.lastTap = now;
        this.burst(event.clientX, event.clientY);
        if (this.onDoubleTap) this.onDoubleTap();
        return;
      }
      this.lastTap = now;
      if (sound.consumeUnlock()) return; // the tap that turned the sound on does not also pause
      clearTimeout(this.tapTimer);
      this.tapTimer = setTimeout(() => {
        this.tapTimer = null;
        this.toggle();
      }, DOUBLE_TAP_MS);
    });
    // Stop the browser from selecting text or zooming on a double click/tap.
    this.root.addEventListener("dblclick", (event) => event.preventDefault());
  }

  bindSeek() {
    const bar = this.progress;
    const seekTo = (clientX) => {
      const d = this.video.duration;
      if (!Number.isFinite(d) || d <= 0) return;
      const rect = bar.getBoundingClientRect();
      const f = Math.min(1, Math.max(0, (clientX - rect.left) / rect.width));
      this.video.currentTime = f * d;
      this.renderProgress(f);
    };
    bar.addEventListener("pointerdown", (event) => {
      if (event.button !== 0) return;
      event.stopPropagation();
      this.seeking = true;
      bar.setPointerCapture(event.pointerId);
      bar.classList.add("is-seeking");
      seekTo(event.clientX);
    });
    bar.addEventListener("pointermove", (event) => {
      if (this.seeking) seekTo(event.clientX);
    });
    const end = (event) => {
      if (!this.seeking) return;
      this.seeking = false;
      bar.classList.remove("is-seeking");
      if (bar.hasPointerCapture(event.pointerId)) bar.releasePointerCapture(event.pointerId);
    };
    bar.addEventListener("pointerup", end);
    bar.addEventListener("pointercancel", end);
    bar.addEventListener("click", (event) => event.stopPropagation());
    bar.addEventListener("keydown", (event) => {
      const d = this.video.duration;
      if (!Number.isFinite(d) || d <= 0) return;
      const step = Math.max(1, d / 20);
      let target = null;
      if (event.key === "ArrowRight") target = this.video.currentTime + step;
      else if (event.key === "ArrowLeft") target = this.video.currentTime - step;
      else if (event.key === "Home") target = 0;
      else if (event.key === "End") target = d - 0.1;
      if (target === null) return;
      event.preventDefault();
      event.stopPropagation();
      this.video.currentTime = Math.min(d, Math.max(0, target));
      this.renderProgress(this.currentFraction());
    });
  }
}
