// For You and Following: a vertical, snapping feed that plays the visible video, preloads the next,
// releases far-away ones, and fetches more as the viewer nears the end.

import { ApiError, api, avatarNode, el, isTyping, keepsSpace, query, reducedMotion, toast } from "./api.js";
import { Card } from "./card.js";
import { Comments } from "./comments.js";
import { t, tn } from "./i18n.js";
import { bindUnmutePill, sound } from "./player.js";

const PAGE_SIZE = 8;
const PREFETCH_WITHIN = 3; // fetch the next page when the viewer is this close to the end
const VISIBLE = 0.6;

const feed = document.getElementById("feed");
const endpoint = feed.dataset.endpoint;
// The traffic source its videos' events report: the page's tab (for_you, following, search, sound).
const SOURCES = new Set(["for_you", "following", "search", "sound"]);
const source = SOURCES.has(feed.dataset.tab) ? feed.dataset.tab : null;
// For You's non-personalised switch: "" (personalised), "popular" or "latest", remembered in this browser.
// A segmented control of three buttons (aria-pressed), readable at phone width where a <select> was not.
const modePicker = document.getElementById("feed-mode");
const MODE_KEY = "reelm.feedMode";
let mode = "";
if (modePicker) {
  mode = ["popular", "latest"].includes(localStorage.getItem(MODE_KEY)) ? localStorage.getItem(MODE_KEY) : "";
  for (const button of modePicker.querySelectorAll("button[data-mode]")) {
    button.setAttribute("aria-pressed", String(button.dataset.mode === mode));
    button.addEventListener("click", () => {
      if (button.dataset.mode === mode) return;
      localStorage.setItem(MODE_KEY, button.dataset.mode);
      location.reload();
    });
  }
}
// Desktops: the column beside the video says who made it and why it is here.
const side = document.getElementById("feed-side");
const emptyBox = document.getElementById("feed-empty");
const errorBox = document.getElementById("feed-error");
const loadingBox = document.getElementById("feed-loading");
const comments = new Comments(document.getElementById("comments"));

const cards = [];
const seen = new Set();
let cursor = null;
let done = false;
let loading = false;
let active = -1;
let retryAfter = 0;
let endMarker = null;
let spaceTaken = false;

// One unmute control, moved onto whichever video is playing, so it is always on the video itself.
const unmutePill = document.querySelector(".unmute-pill");
bindUnmutePill(unmutePill);

const observer = new IntersectionObserver((entries) => {
  for (const entry of entries) {
    const index = Number(entry.target.dataset.index);
    if (entry.intersectionRatio >= VISIBLE) setActive(index);
    else if (index === active && entry.intersectionRatio < 0.25) cards[index].deactivate();
  }
}, { root: feed, threshold: [0, 0.25, VISIBLE, 1] });

function setActive(index) {
  const card = cards[index];
  if (!card) return;
  if (index !== active) {
    if (cards[active]) cards[active].deactivate();
    active = index;
    card.activate();
    if (unmutePill) card.root.querySelector(".stage").append(unmutePill);
    describe(card);
    if (comments.isOpen) comments.open(card.openCommentsItem ? card.openCommentsItem() : card.item);
  } else if (!card.player.active) {
    card.root.classList.add("is-active");
    card.player.resume();
  }
  // Keep at most three videos attached: previous, current and next (the next one fully preloaded).
  for (let i = 0; i < cards.length; i += 1) {
    const { player } = cards[i];
    if (i === index + 1) player.attach("auto");
    else if (i === index - 1 || i === index) continue;
    else player.detach();
  }
  if (cards.length - index <= PREFETCH_WITHIN) loadMore();
}

/** Scrolls to a video; `focus` (keyboard moves) also moves focus there, so a screen reader reads it. */
function go(index, { focus = false } = {}) {
  if (!cards.length) return;
  const node = index >= cards.length && endMarker ? endMarker : cards[Math.max(0, Math.min(index, cards.length - 1))].root;
  node.scrollIntoView({ behavior: reducedMotion() ? "auto" : "smooth", block: "start" });
  if (focus) node.focus({ preventScroll: true });
}

/** The side column (desktops): the creator of the playing video and why it is in this feed. */
function describe(card) {
  if (!side) return;
  const { item } = card;
  const creator = item.creator || {};
  const profile = `/@${encodeURIComponent(creator.handle)}`;
  const who = el("a", { className: "side-creator", href: profile, "data-testid": "side-creator" },
    avatarNode(creator, "lg"),
    el("span", { className: "side-names" },
      el("span", { className: "side-name" }, creator.display_name || creator.handle),
      el("span", { className: "side-handle" }, `@${creator.handle}`),
      el("span", { className: "side-followers" },
        tn("{count} follower", "{count} followers", creator.follower_count || 0))));
  const parts = [el("h2", { className: "side-title" }, t("Now playing")), who];
  if (item.reason) {
    parts.push(el("div", { className: "side-why", "data-testid": "side-why" },
      el("h3", {}, t("Why you’re seeing this")), el("p", {}, item.reason)));
  }
  side.querySelector(".side-now").replaceChildren(...parts);
}

function showBox(box) {
  for (const b of [emptyBox, errorBox]) b.hidden = b !== box;
  feed.parentElement.classList.toggle("is-empty", box !== null);
  loadingBox.hidden = true;
}

async function loadMore() {
  if (loading || done || Date.now() < retryAfter) return;
  loading = true;
  feed.setAttribute("aria-busy", "true");
  loadingBox.hidden = false;
  loadingBox.classList.toggle("is-more", cards.length > 0);
  try {
    // An endpoint may carry its own query (the search results as a feed: ?q=...&start=...).
    const params = query({ cursor, limit: PAGE_SIZE, mode });
    const page = await api("GET", endpoint.includes("?") && params ? `${endpoint}&${params.slice(1)}` : `${endpoint}${params}`);
    for (const item of page.items || []) {
      if (seen.has(item.id)) continue;
      seen.add(item.id);
      const card = new Card(item, { comments, index: cards.length, source });
      // The ARIA feed pattern: each article focusable and placed; the feed's length is open-ended.
      card.root.tabIndex = 0;
      card.root.setAttribute("aria-posinset", String(cards.length + 1));
      card.root.setAttribute("aria-setsize", "-1");
      card.openCommentsItem = () => ({ ...card.item, counts: { ...card.item.counts, comments: card.commentCount } });
      cards.push(card);
      feed.setAttribute("role", "feed");
      feed.setAttribute("aria-label", feed.dataset.label);
      feed.append(card.root);
      observer.observe(card.root);
      // The first card: attach at once so its first frame comes while the observer settles.
      if (cards.length === 1) card.player.attach("auto");
    }
    cursor = page.next_cursor || null;
    done = !cursor || !(page.items || []).length;
    if (!cards.length) showBox(emptyBox);
    else showBox(null);
    if (done && cards.length) addEndMarker();
  } catch (error) {
    retryAfter = Date.now() + 3000;
    if (!cards.length) {
      if (error instanceof ApiError && error.status === 401) {
        showBox(emptyBox); // the Following feed, logged out: the template explains and links to log in
      } else {
        errorBox.querySelector(".feed-error-detail").textContent = error instanceof ApiError ? error.detail : t("Please check your connection.");
        showBox(errorBox);
      }
    } else {
      toast(error instanceof ApiError ? error.detail : t("Couldn’t load more videos."), { kind: "error" });
    }
  } finally {
    loading = false;
    loadingBox.hidden = true;
    feed.setAttribute("aria-busy", "false");
  }
}

function addEndMarker() {
  if (endMarker) return;
  const again = el("button", { type: "button", className: "btn btn-secondary" }, t("Back to the top"));
  again.addEventListener("click", () => go(0));
  // An article like the videos: a feed holds nothing else.
  endMarker = el("article", { className: "feed-end", tabindex: "0", "aria-labelledby": "feed-end-title" },
    el("h2", { id: "feed-end-title" }, t("You’re all caught up")),
    el("p", {}, t("Check back later for new videos.")),
    again);
  feed.append(endMarker);
}

errorBox.querySelector(".feed-retry").addEventListener("click", () => {
  retryAfter = 0;
  showBox(null);
  loadMore();
});

document.querySelector(".feed-prev").addEventListener("click", () => go(active - 1));
document.querySelector(".feed-next").addEventListener("click", () => go(active + 1));

document.addEventListener("keydown", (event) => {
  if (event.defaultPrevented || event.metaKey || event.ctrlKey || event.altKey || isTyping(event.target)) return;
  const card = cards[active];
  switch (event.key) {
    case "ArrowDown":
    case "PageDown":
    case "j":
    case "J":
      event.preventDefault();
      go(active + 1, { focus: true });
      break;
    case "ArrowUp":
    case "PageUp":
    case "k":
    case "K":
      event.preventDefault();
      go(active - 1, { focus: true });
      break;
    case " ":
    case "Spacebar":
      if (keepsSpace(event.target)) return;
      event.preventDefault();
      spaceTaken = true; // the matching keyup must not "click" a button that kept focus after a mouse click
      if (card) card.player.toggle();
      break;
    case "m":
    case "M":
      sound.toggle();
      toast(sound.muted ? t("Sound off") : t("Sound on"), { duration: 1200 });
      break;
    case "l":
    case "L":
      if (card) {
        if (!card.liked) card.player.burst();
        card.like();
      }
      break;
    default:
  }
});

document.addEventListener("keyup", (event) => {
  if (event.key === " " && spaceTaken) {
    event.preventDefault();
    spaceTaken = false;
  }
});

document.addEventListener("visibilitychange", () => {
  const card = cards[active];
  if (!card) return;
  if (document.hidden) card.player.pause();
  else if (card.player.active && !card.player.userPaused) card.player.play();
});

// Going back to a cached page (bfcache) brings the DOM back with its videos paused.
window.addEventListener("pageshow", (event) => {
  if (event.persisted && cards[active]) cards[active].player.resume();
});

loadMore();
