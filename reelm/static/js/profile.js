// Profile and hashtag pages: the follow button, reporting the account (report.js), and the poster
// grid's "Load more".

import { ApiError, api, el, formatCount, query, reportError, requireLogin, toast } from "./api.js";
import { icon } from "./icons.js";
import { openReport } from "./report.js";

// ---- follow ----------------------------------------------------------------------------------------

const followButton = document.querySelector(".profile [data-testid='follow-button']");
const followerCount = document.querySelector("[data-testid='follower-count']");

function renderFollow(following) {
  const handle = followButton.dataset.handle;
  followButton.setAttribute("aria-pressed", String(following));
  followButton.setAttribute("aria-label", `${following ? "Unfollow" : "Follow"} @${handle}`);
  followButton.textContent = following ? "Following" : "Follow";
  followButton.classList.toggle("is-following", following);
  followButton.classList.toggle("btn-primary", !following);
}

function renderFollowers(n) {
  if (!followerCount) return;
  followerCount.dataset.count = String(n);
  followerCount.textContent = formatCount(n);
}

if (followButton) {
  let busy = false;
  followButton.addEventListener("click", async () => {
    if (!requireLogin() || busy) return;
    const handle = followButton.dataset.handle;
    const want = followButton.getAttribute("aria-pressed") !== "true";
    const before = Number(followerCount ? followerCount.dataset.count : 0) || 0;
    busy = true;
    followButton.disabled = true;
    renderFollow(want);
    renderFollowers(Math.max(0, before + (want ? 1 : -1)));
    try {
      const state = await api(want ? "POST" : "DELETE", `/api/v1/users/${encodeURIComponent(handle)}/follow`);
      if (state && typeof state.following === "boolean") renderFollow(state.following);
      if (state && typeof state.follower_count === "number") renderFollowers(state.follower_count);
      if (want) toast(`Following @${handle}`, { kind: "ok" });
    } catch (error) {
      renderFollow(!want);
      renderFollowers(before);
      reportError(error, "Couldn’t update the follow.");
    } finally {
      busy = false;
      followButton.disabled = false;
    }
  });
}

// ---- report -----------------------------------------------------------------------------------------

const reportButton = document.querySelector(".profile [data-testid='report-account']");

if (reportButton) {
  reportButton.addEventListener("click", () => {
    const { userId, handle } = reportButton.dataset;
    openReport({ type: "account", id: userId, label: `@${handle}`, trigger: reportButton });
  });
}

// ---- grid ------------------------------------------------------------------------------------------

/** One tile; the same markup as the `tile` macro. */
export function tile(video, showStatus) {
  const views = formatCount(video.counts ? video.counts.views : 0);
  const caption = video.caption ? (video.caption.length > 80 ? `${video.caption.slice(0, 77)}...` : video.caption) : "Video";
  const link = el("a", {
    className: "tile", href: `/v/${encodeURIComponent(video.id)}`, "data-testid": "grid-tile", "data-video-id": video.id,
    "aria-label": `${caption} · ${views} views`,
  });
  if (video.poster_url) link.append(el("img", { src: video.poster_url, alt: "", loading: "lazy", decoding: "async" }));
  else link.append(el("span", { className: "tile-blank", "aria-hidden": "true" }, icon("play", "icon tile-blank-icon")));
  const badges = el("span", { className: "tile-badges" });
  if (showStatus && video.status === "processing") badges.append(el("span", { className: "badge badge-processing" }, "Processing"));
  if (showStatus && video.status === "rejected") badges.append(el("span", { className: "badge badge-rejected" }, "Rejected"));
  if (video.visibility === "private") badges.append(el("span", { className: "badge badge-private" }, icon("lock", "icon icon-xs"), "Private"));
  link.append(badges, el("span", { className: "tile-views" }, icon("play", "icon icon-xs"), views));
  return link;
}

const grid = document.getElementById("grid");
const more = document.querySelector(".grid-more");

if (grid && more) {
  const showStatus = grid.dataset.showStatus === "true";
  let loading = false;
  const load = async () => {
    const cursor = more.dataset.cursor;
    if (loading || !cursor) return;
    loading = true;
    more.disabled = true;
    more.textContent = "Loading…";
    try {
      const page = await api("GET", `${grid.dataset.source}${query({ cursor })}`);
      for (const video of page.items || []) {
        if (!grid.querySelector(`[data-video-id="${CSS.escape(video.id)}"]`)) grid.append(tile(video, showStatus));
      }
      more.dataset.cursor = page.next_cursor || "";
      more.hidden = !page.next_cursor;
    } catch (error) {
      toast(error instanceof ApiError ? error.detail : "Couldn’t load more videos.", { kind: "error" });
    } finally {
      loading = false;
      more.disabled = false;
      more.textContent = "Load more";
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

// Tiles of videos still processing (the owner's own) refresh their badge when the video is ready.
if (grid && grid.dataset.showStatus === "true") {
  if (grid.querySelector(".badge-processing")) {
    const poll = async () => {
      for (const node of [...grid.querySelectorAll(".badge-processing")].map((b) => b.closest(".tile"))) {
        try {
          const video = await api("GET", `/api/v1/videos/${encodeURIComponent(node.dataset.videoId)}`);
          if (video.status !== "processing") node.replaceWith(tile(video, true));
        } catch {
          // Try again on the next round.
        }
      }
      if (grid.querySelector(".badge-processing")) setTimeout(poll, 5000);
    };
    setTimeout(poll, 5000);
  }
}
