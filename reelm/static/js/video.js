// /v/{id}: one video with the feed's player and buttons; comments in a side panel on desktops and a
// bottom sheet on phones. A video that is still processing refreshes itself when it is ready.

import { api, isDesktop, isTyping, keepsSpace, reportError, toast } from "./api.js";
import { Card } from "./card.js";
import { Comments } from "./comments.js";
import { downloadVideo } from "./download.js";
import { t } from "./i18n.js";
import { icon } from "./icons.js";
import { bindUnmutePill, sound } from "./player.js";

const data = JSON.parse(document.getElementById("video-data").textContent);

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
  const card = new Card(data, { comments });
  card.root.classList.add("is-single");
  const pill = document.createElement("button");
  pill.type = "button";
  pill.className = "unmute-pill";
  pill.hidden = true;
  pill.append(icon("volume-off"), t("Tap to unmute"));
  card.root.querySelector(".stage").append(pill);
  bindUnmutePill(pill);
  document.getElementById("single").append(card.root);
  card.activate();

  if (comments) {
    comments.setIntro(data);
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
