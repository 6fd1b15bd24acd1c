// /v/{id}: one video with the feed's player and buttons; comments in a side panel on desktops and a
// bottom sheet on phones. A video that is still processing refreshes itself when it is ready. A remix says
// what it remixes ("Duet with @ana", linking back); the Remix menu leads to the upload page (Duet, Stitch,
// Use this sound), and the video's own duets and stitches are listed under it.

import { ApiError, api, el, isDesktop, isTyping, keepsSpace, reportError, toast, viewer } from "./api.js";
import { Card } from "./card.js";
import { Comments } from "./comments.js";
import { downloadVideo } from "./download.js";
import { t } from "./i18n.js";
import { icon } from "./icons.js";
import { bindUnmutePill, sound } from "./player.js";
import { tile } from "./profile.js";
import { remixRow } from "./share.js";

const data = JSON.parse(document.getElementById("video-data").textContent);
// What it remixes and the sound it names (reelm.sounds.remixes_of), read by the page's route.
const remix = JSON.parse(document.getElementById("remix-data").textContent);

// "Back" goes back when we came from this site, else to the feed.
const back = document.querySelector(".video-back");
if (back) {
  back.addEventListener("click", (event) => {
    let sameSite = false;
    try {
      sameSite = Boolean(document.referrer) && new URL(document.referrer).origin === location.origin;
    } catch {
      sameSite = false;
    }
    if (sameSite && history.length > 1) {
      event.preventDefault();
      history.back();
    }
  });
}

if (data.status !== "ready") {
  watchStatus();
} else {
  mount();
}

function mount() {
  const commentsRoot = document.getElementById("comments");
  const comments = commentsRoot ? new Comments(commentsRoot) : null;
  const card = new Card(data, { comments, source: trafficSource() });
  card.root.classList.add("is-single");
  const pill = document.createElement("button");
  pill.type = "button";
  pill.className = "unmute-pill";
  pill.hidden = true;
  pill.append(icon("volume-off"), t("Tap to unmute"));
  card.root.querySelector(".stage").append(pill);
  bindUnmutePill(pill);
  document.getElementById("single").append(card.root);
  credit(card.root.querySelector(".caption"), ".caption-head");
  // The creator sees a link to this video's analytics under its caption.
  const me = viewer();
  if (me && data.creator && me.handle === data.creator.handle) {
    card.root.querySelector(".caption").append(el("p", { className: "studio-link" },
      el("a", { href: `/studio/analytics/videos/${encodeURIComponent(data.id)}`, "data-testid": "video-analytics-link" }, t("Analytics"))));
  }
  card.activate();

  if (comments) {
    comments.setIntro(data);
    // Desktops show who made it beside the video, in the panel's intro: the credit goes there too.
    credit(commentsRoot.querySelector(".comments-intro"), ".intro-creator");
    // The desktop panel is always there, so load it at once; on phones the sheet loads when opened.
    const desktop = () => isDesktop() && comments.show({ ...data, counts: { ...data.counts, comments: card.commentCount } });
    desktop();
    window.matchMedia("(min-width: 768px)").addEventListener("change", desktop);
  }

  let spaceTaken = false;
  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.metaKey || event.ctrlKey || event.altKey || isTyping(event.target)) return;
    if (event.key === " ") {
      if (keepsSpace(event.target)) return;
      event.preventDefault();
      spaceTaken = true; // the matching keyup must not "click" a button that kept focus after a mouse click
      card.player.toggle();
    } else if (event.key === "m" || event.key === "M") {
      sound.toggle();
      toast(sound.muted ? t("Sound off") : t("Sound on"), { duration: 1200 });
    } else if (event.key === "l" || event.key === "L") {
      if (!card.liked) card.player.burst();
      card.like();
    }
  });

  document.addEventListener("keyup", (event) => {
    if (event.key === " " && spaceTaken) {
      event.preventDefault();
      spaceTaken = false;
    }
  });

document.addEventListener("visibilitychange", () => {
    if (document.hidden) card.player.pause();
    else if (card.player.active && !card.player.userPaused) card.player.play();
  });
}

/** "Duet with @ana" / "Stitched from @ana" under the creator's name (`after`, in `box`), linking to the
 * original. */
function credit(box, after) {
  if (!box || (remix.kind !== "duet" && remix.kind !== "stitch")) return;
  const who = remix.original_creator;
  let text;
  if (!who) text = remix.kind === "duet" ? t("Duet with a video that is no longer available") : t("Stitched from a video that is no longer available");
  else text = remix.kind === "duet" ? t("Duet with @{handle}", { handle: who.handle }) : t("Stitched from @{handle}", { handle: who.handle });
  const line = el("p", { className: "remix-credit", "data-testid": "remix-credit" }, icon(remix.kind === "duet" ? "users" : "clock", "icon icon-xs"));
  line.append(who ? el("a", { href: `/v/${encodeURIComponent(remix.original_id)}` }, text) : text);
  const head = box.querySelector(after);
  if (head) head.after(line);
  else box.prepend(line);
}

/** The owner looking at a processing video: poll, and reload once it is ready or rejected. */
function watchStatus() {
  const box = document.getElementById("status-card");
  if (!box || data.status !== "processing") return;
  const detail = box.querySelector(".status-detail");
  const started = Date.now();
  const tick = async () => {
    if (Date.now() - started > 30 * 60 * 1000) return;
    try {
      const video = await api("GET", `/api/v1/videos/${encodeURIComponent(data.id)}`);
      if (video.status !== "processing") {
        location.reload();
        return;
      }
      if (video.status_detail && detail) detail.textContent = video.status_detail;
    } catch {
      // Transient failures just wait for the next round.
    }
    setTimeout(tick, 2000);
  };
  setTimeout(tick, 2000);
}

// ---- the owner pins the video to their profile (up to three), or unpins it --------------------------

const pinToggle = document.querySelector('[data-testid="pin-toggle"]');
if (pinToggle) {
  pinToggle.addEventListener("click", async () => {
    const pinned = pinToggle.getAttribute("aria-pressed") === "true";
    pinToggle.disabled = true;
    try {
      await api(pinned ? "DELETE" : "PUT", `/api/v1/videos/${encodeURIComponent(pinToggle.dataset.videoId)}/pin`);
      pinToggle.setAttribute("aria-pressed", String(!pinned));
      pinToggle.querySelector("span").textContent = pinned ? pinToggle.dataset.pinLabel : pinToggle.dataset.unpinLabel;
      toast(pinned ? t("Unpinned from your profile") : t("Pinned to your profile"));
    } catch (error) {
      reportError(error, t("Could not change the pin."));  // a fourth pin: the problem says the limit
    } finally {
      pinToggle.disabled = false;
    }
  });
}

// ---- downloading it, where its creator allows (the watermarked file) --------------------------------------

const downloadButton = document.querySelector('[data-testid="download-button"]');
if (downloadButton) downloadButton.addEventListener("click", () => downloadVideo(data));

// ---- the owner changes who may comment, duet, stitch, use the sound, download and embed -------------------

const permissionsForm = document.getElementById("permissions-form");
if (permissionsForm) {
  permissionsForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    // Every permission, ticked or not (an unticked box is in no FormData).
    const changes = {};
    const policy = permissionsForm.querySelector('input[name="comment_policy"]:checked');
    if (policy) changes.comment_policy = policy.value;
    for (const box of permissionsForm.querySelectorAll('input[type="checkbox"]')) changes[box.name] = box.checked;
    const save = permissionsForm.querySelector('button[type="submit"]');
    save.disabled = true;
    try {
      const video = await api("PATCH", `/api/v1/videos/${encodeURIComponent(permissionsForm.dataset.videoId)}`, changes);
      if (video) Object.assign(data, { permissions: video.permissions, comment_policy: video.comment_policy });
      toast(t("Saved"), { kind: "ok" });
      permissionsForm.closest("details").open = false;
    } catch (error) {
      reportError(error, t("Couldn’t save the permissions."));
    } finally {
      save.disabled = false;
    }
  });
}

// ---- remixing it: Duet, Stitch, Use this sound (the share sheet has the same row) ---------------------------

const remixMenu = document.querySelector('[data-testid="remix-menu"]');
if (remixMenu && data.status === "ready") {
  // The card's sound where it has one; else the sound the page's route found for the video.
  const chip = data.sound && data.sound.id ? { id: String(data.sound.id), available: data.sound.available !== false } : null;
  const named = chip || (remix.sound_id ? { id: remix.sound_id, available: true } : null);
  document.getElementById("remix-menu").append(remixRow(data, named));
  remixMenu.hidden = false;
  // Closes when focus or a tap goes elsewhere, as a menu does.
  document.addEventListener("click", (event) => {
    if (remixMenu.open && !remixMenu.contains(event.target)) remixMenu.open = false;
  });
  remixMenu.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && remixMenu.open) {
      event.stopPropagation();
      remixMenu.open = false;
      remixMenu.querySelector("summary").focus();
    }
  });
}

// ---- its duets and stitches: more tiles on request ------------------------------------------------------

const remixGrid = document.getElementById("remix-grid");
const remixMore = document.getElementById("remix-more");
if (remixGrid && remixMore) {
  remixMore.addEventListener("click", async () => {
    const cursor = remixMore.dataset.cursor;
    if (!cursor || remixMore.disabled) return;
    remixMore.disabled = true;
    try {
      const page = await api("GET", `${remixMore.dataset.source}?cursor=${encodeURIComponent(cursor)}`);
      for (const video of page.items || []) {
        if (!remixGrid.querySelector(`[data-video-id="${CSS.escape(video.id)}"]`)) remixGrid.append(tile(video, false));
      }
      remixMore.dataset.cursor = page.next_cursor || "";
      remixMore.hidden = !page.next_cursor;
    } catch (error) {
      toast(error instanceof ApiError ? error.detail : t("Couldn’t load more videos."), { kind: "error" });
    } finally {
      remixMore.disabled = false;
    }
  });
}

/** Where the viewer came from, for the creator's analytics: a page of this site (a profile, a hashtag, search,
 * a sound, a feed), another site (external), or no page at all (a shared link opened from an app or typed). */
function trafficSource() {
  let from = null;
  try {
    from = document.referrer ? new URL(document.referrer) : null;
  } catch {
    from = null;
  }
  if (!from) return "share_link";
  if (from.origin !== location.origin) return "external";
  const path = from.pathname;
  if (path.startsWith("/@")) return "profile";
  if (path.startsWith("/tag/")) return "hashtag";
  if (path.startsWith("/search")) return "search";
  if (path.startsWith("/sound/")) return "sound";
  if (path.startsWith("/following")) return "following";
  if (path === "/") return "for_you";
  return null;
}
