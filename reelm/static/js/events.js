// Watch events for the For You engine: impressions, plays, seconds watched and loops, completion, quick
// skips, likes, shares, comments, follows, "not interested" and "hide this creator". Queued, sent in
// batches (every few seconds, and with fetch keepalive when the page is hidden or left), each event with
// a random id so that a resent batch counts once.

import { csrfToken, viewer } from "./api.js";

const FLUSH_MS = 4000;
const MAX_BATCH = 50; // the server takes up to 100
const QUICK_SKIP_S = 2;

let queue = [];
let timer = 0;

function eventId() {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Queue one event about a video (logged-in viewers only: events are stored in their home realm). */
export function track(videoId, kind, extra = {}) {
  if (!viewer() || !videoId) return;
  queue.push({ id: eventId(), video_id: String(videoId), kind, at: new Date().toISOString(), ...extra });
  if (queue.length >= MAX_BATCH) flush();
  else if (!timer) timer = setTimeout(flush, FLUSH_MS);
}

/** Send what is queued now; returns a promise that settles when the server answered (or failed). */
export function flush({ leaving = false } = {}) {
  clearTimeout(timer);
  timer = 0;
  if (!queue.length) return Promise.resolve();
  const batch = queue.splice(0, MAX_BATCH);
  const request = fetch("/api/v1/events", {
    method: "POST",
    // keepalive lets the request outlive the page (like sendBeacon, which cannot send the CSRF header).
    keepalive: leaving,
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrfToken(), Accept: "application/json" },
    body: JSON.stringify({ events: batch }),
  }).then((response) => {
    // A 5xx or a network failure: put the batch back (same ids, so a partial success is not double counted).
    if (response.status >= 500) queue.unshift(...batch);
  }, () => { queue.unshift(...batch); });
  if (queue.length) timer = setTimeout(flush, FLUSH_MS);
  return request;
}

document.addEventListener("visibilitychange", () => { if (document.hidden) flush({ leaving: true }); });
window.addEventListener("pagehide", () => flush({ leaving: true }));
// Comments posted from the drawer (reelm/static/js/comments.js announces every change of a count).
document.addEventListener("reelm:comment-count", (event) => {
  if (event.detail && event.detail.delta > 0) track(event.detail.videoId, "comment");
});

/** Watch time of one card's video while it is the active one: impression, play, loops, completion, skip. */
export class WatchTracker {
  /** `source`: where the viewer found the video (for_you, following, profile, search, hashtag, sound,
   * share_link, embed, external), sent with the video's own events for its creator's analytics. */
  constructor(item, video, source = null) {
    this.item = item;
    this.video = video;
    this.from = source ? { source } : {};
    this.impressed = false;
    this.played = false;
    this.completed = false;
    this.running = false;
    this.reset();
    video.addEventListener("playing", () => {
      if (this.running && !this.played) {
        this.played = true;
        track(this.item.id, "play", this.from);
      }
    });
    video.addEventListener("timeupdate", () => this.tick());
  }

  reset() {
    this.watched = 0;
    this.loops = 0;
    this.last = null;
  }

  start() {
    this.running = true;
    this.reset();
    if (!this.impressed) {
      this.impressed = true;
      track(this.item.id, "impression", this.from);
    }
  }

  tick() {
    if (!this.running) return;
    const t = this.video.currentTime;
    const d = this.video.duration;
    if (this.last !== null) {
      const step = t - this.last;
      if (step > 0 && step < 1.5) this.watched += step; // a seek forward is not watching
      else if (step < 0 && Number.isFinite(d) && this.last > d * 0.8 && t < d * 0.2) {
        this.loops += 1; // the video looped
        if (!this.completed) {
          this.completed = true;
          track(this.item.id, "complete", this.from);
        }
      }
    }
    this.last = t;
  }

  stop() {
    if (!this.running) return;
    this.running = false;
    const d = this.video.duration;
    const fraction = Number.isFinite(d) && d > 0 ? this.watched / d : 0;
    if (this.watched < QUICK_SKIP_S && fraction < 0.3 && !this.completed) {
      track(this.item.id, "skip", { watched_s: round(this.watched), ...this.from });
    } else if (this.watched > 0) {
      track(this.item.id, "watch", { watched_s: round(this.watched), loops: Math.min(this.loops, 100), ...this.from });
    }
  }
}

function round(seconds) {
  return Math.round(Math.min(seconds, 3600) * 10) / 10;
}
