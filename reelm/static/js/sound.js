// A sound's page (templates/sound.html): the preview's play and pause (the disc turns and the waveform fills
// while it plays; tapping the waveform seeks), and the videos grid's "Load more", whose posters open the
// sound's videos in the vertical player.

import { ApiError, api, el, formatCount, toast } from "./api.js";
import { t, tn } from "./i18n.js";
import { icon } from "./icons.js";

const page = document.querySelector("[data-testid='sound-page']");

// ---- the preview ---------------------------------------------------------------------------------------

const audio = page.querySelector(".sound-audio");
const button = page.querySelector(".sound-play");
const disc = page.querySelector(".sound-disc");
const wave = page.querySelector(".sound-wave");
const played = page.querySelector(".sound-played-rect");

if (audio && button) {
  // The button and the waveform replace the browser's controls once this script runs.
  audio.controls = false;
  button.hidden = false;
  const bars = Number((wave.getAttribute("viewBox") || "0 0 1 100").split(" ")[2]) || 1;

  const render = () => {
    const playing = !audio.paused && !audio.ended;
    button.setAttribute("aria-pressed", String(playing));
    button.setAttribute("aria-label", playing ? button.dataset.labelPause : button.dataset.labelPlay);
    button.classList.toggle("is-playing", playing);
    disc.classList.toggle("is-playing", playing);
  };
  const progress = () => {
    const share = audio.duration > 0 ? Math.min(1, audio.currentTime / audio.duration) : 0;
    played.setAttribute("width", String(share * bars));
  };

  button.addEventListener("click", async () => {
    if (!audio.paused) {
      audio.pause();
      return;
    }
    try {
      await audio.play();
    } catch {
      toast(t("Couldn’t play the sound."), { kind: "error" });
    }
  });
  // Seeking on the waveform: a pointer's position within it is the same share of the sound.
  wave.addEventListener("click", (event) => {
    if (!(audio.duration > 0)) return;
    const box = wave.getBoundingClientRect();
    const share = Math.max(0, Math.min(1, (event.clientX - box.left) / box.width));
    const rtl = getComputedStyle(wave).direction === "rtl";
    audio.currentTime = (rtl ? 1 - share : share) * audio.duration;
    progress();
  });
  for (const name of ["play", "pause", "ended"]) audio.addEventListener(name, render);
  audio.addEventListener("timeupdate", progress);
  audio.addEventListener("ended", () => {
    audio.currentTime = 0;
    progress();
  });
  render();
}

// ---- the videos ----------------------------------------------------------------------------------------

const grid = document.getElementById("sound-grid");
const more = page.querySelector(".sound-more");

/** One poster; the same markup as the `tile` macro, opening the sound's videos from this one. */
function tile(video) {
  const viewCount = Number(video.counts ? video.counts.views : 0) || 0;
  const views = formatCount(viewCount);
  const caption = video.caption ? (video.caption.length > 80 ? `${video.caption.slice(0, 77)}...` : video.caption) : t("Video");
  const link = el("a", {
    className: "tile", href: `${grid.dataset.watch}?start=${encodeURIComponent(video.id)}`,
    "data-testid": "grid-tile", "data-video-id": video.id,
    "aria-label": `${caption} · ${tn("{count} view", "{count} views", viewCount, { count: views })}`,
  });
  if (video.poster_url) link.append(el("img", { src: video.poster_url, alt: "", loading: "lazy", decoding: "async" }));
  else link.append(el("span", { className: "tile-blank", "aria-hidden": "true" }, icon("play", "icon tile-blank-icon")));
  link.append(el("span", { className: "tile-badges" }), el("span", { className: "tile-views" }, icon("play", "icon icon-xs"), views));
  return link;
}

if (grid && more) {
  let loading = false;
  const load = async () => {
    const cursor = more.dataset.cursor;
    if (loading || !cursor) return;
    loading = true;
    more.disabled = true;
    more.textContent = t("Loading…");
    try {
      const source = new URL(grid.dataset.source, location.origin);
      source.searchParams.set("cursor", cursor);
      const found = await api("GET", source.pathname + source.search);
      for (const video of found.items || []) {
        if (!grid.querySelector(`[data-video-id="${CSS.escape(video.id)}"]`)) grid.append(tile(video));
      }
      more.dataset.cursor = found.next_cursor || "";
      more.hidden = !found.next_cursor;
    } catch (error) {
      toast(error instanceof ApiError ? error.detail : t("Couldn’t load more videos."), { kind: "error" });
    } finally {
      loading = false;
      more.disabled = false;
      more.textContent = t("Load more");
    }
  };
  more.addEventListener("click", load);
  // Load on reaching the bottom too; the button stays for keyboards and as a fallback.
  if ("IntersectionObserver" in window) {
    new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting) && !more.hidden) load();
    }, { rootMargin: "400px" }).observe(more);
  }
}
