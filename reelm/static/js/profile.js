// Profile and hashtag pages: the follow button, reporting the account (report.js), and the poster
// grid's "Load more".

import { ApiError, api, avatarNode, el, formatCount, query, reportError, requireLogin, toast } from "./api.js";
import { t, tn } from "./i18n.js";
import { icon } from "./icons.js";
import { openReport } from "./report.js";

// ---- follow ----------------------------------------------------------------------------------------

const followButton = document.querySelector(".profile [data-testid='follow-button']");
const followerCount = document.querySelector("[data-testid='follower-count']");

function renderFollow(following) {
  const handle = followButton.dataset.handle;
  followButton.setAttribute("aria-pressed", String(following));
  followButton.setAttribute("aria-label", following ? t("Unfollow @{handle}", { handle }) : t("Follow @{handle}", { handle }));
  // "Followed", not "Following": the button's state, which translators must tell from the Following feed.
  followButton.textContent = following ? t("Followed") : t("Follow");
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
      if (want) toast(t("Following @{handle}", { handle }), { kind: "ok" });
    } catch (error) {
      renderFollow(!want);
      renderFollowers(before);
      reportError(error, t("Couldn’t update the follow."));
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
export function tile(video, showStatus, pinned = false) {
  const viewCount = Number(video.counts ? video.counts.views : 0) || 0;
  const views = formatCount(viewCount);
  const caption = video.caption ? (video.caption.length > 80 ? `${video.caption.slice(0, 77)}...` : video.caption) : t("Video");
  const link = el("a", {
    className: "tile", href: `/v/${encodeURIComponent(video.id)}`, "data-testid": "grid-tile", "data-video-id": video.id,
    // The cover's text alternative and the paid-partnership label belong to the tile's name (the link's label
    // is what screen readers say; the image inside it is decorative).
    "aria-label": [
      caption,
      video.cover_alt,
      video.paid_partnership ? t("Paid partnership") : null,
      tn("{count} view", "{count} views", viewCount, { count: views }),
    ].filter(Boolean).join(" · "),
  });
  if (video.poster_url) link.append(el("img", { src: video.poster_url, alt: "", loading: "lazy", decoding: "async" }));
  else link.append(el("span", { className: "tile-blank", "aria-hidden": "true" }, icon("play", "icon tile-blank-icon")));
  const badges = el("span", { className: "tile-badges" });
  if (showStatus && video.status === "processing") badges.append(el("span", { className: "badge badge-processing" }, t("Processing")));
  if (showStatus && video.status === "rejected") badges.append(el("span", { className: "badge badge-rejected" }, t("Rejected")));
  if (pinned) badges.append(el("span", { className: "badge badge-pinned", "data-testid": "pinned-badge" }, t("Pinned")));
  if (video.visibility === "private") badges.append(el("span", { className: "badge badge-private" }, icon("lock", "icon icon-xs"), t("Private")));
  if (video.paid_partnership) badges.append(el("span", { className: "badge", "data-testid": "tile-paid-partnership" }, t("Paid partnership")));
  if (video.ai_generated) badges.append(el("span", { className: "badge" }, t("AI-generated")));
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
    more.textContent = t("Loading…");
    try {
      const source = new URL(grid.dataset.source, location.origin);
      source.searchParams.set("cursor", cursor);
      const page = await api("GET", source.pathname + source.search);
      for (const video of page.items || []) {
        if (!grid.querySelector(`[data-video-id="${CSS.escape(video.id)}"]`)) grid.append(tile(video, showStatus));
      }
      more.dataset.cursor = page.next_cursor || "";
      more.hidden = !page.next_cursor;
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

// ---- pinned videos: up to three, shown first ---------------------------------------------------------

if (grid && grid.dataset.pinned) {
  const showStatus = grid.dataset.showStatus === "true";
  api("GET", grid.dataset.pinned).then((page) => {
    const pinned = (page && page.items) || [];
    // Latest pinned first, before every other video; the same video further down goes.
    for (const video of [...pinned].reverse()) {
      const old = grid.querySelector(`[data-video-id="${CSS.escape(video.id)}"]`);
      if (old) old.remove();
      const node = tile(video, showStatus, true);
      node.dataset.pinned = "true";
      grid.prepend(node);
    }
    if (pinned.length) {
      const empty = document.querySelector(".grid-empty");
      if (empty) empty.hidden = true;
    }
    grid.dataset.pinnedLoaded = "true";
  }).catch((error) => {
    grid.dataset.pinnedLoaded = "true";
    if (!(error instanceof ApiError)) console.error(error);
  });
}

// ---- followers and following, in a dialog ----------------------------------------------------------

const peopleDialog = document.querySelector("[data-testid='people-dialog']");

if (peopleDialog) {
  const list = peopleDialog.querySelector("[data-testid='people-list']");
  const title = peopleDialog.querySelector("[data-testid='people-title']");
  const more = peopleDialog.querySelector("[data-people-more]");
  const handle = document.querySelector(".profile").dataset.handle;
  let source = "";
  let cursor = null;
  let opener = null;

  const load = async () => {
    more.disabled = true;
    try {
      const page = await api("GET", `${source}${query({ cursor })}`);
      for (const person of page.items || []) {
        list.append(el("li", { className: "person", "data-testid": "person", "data-handle": person.handle },
          el("a", { href: `/@${encodeURIComponent(person.handle)}` }, avatarNode(person, "sm"),
            el("span", {}, el("strong", {}, person.display_name), el("span", { className: "muted" }, `@${person.handle}`)))));
      }
      cursor = page.next_cursor || null;
      more.hidden = !cursor;
      if (!list.children.length) list.append(el("li", { className: "muted" }, t("No one here yet.")));
    } catch (error) {
      reportError(error, t("Couldn’t load the list."));
    } finally {
      more.disabled = false;
    }
  };

  for (const link of document.querySelectorAll("[data-people]")) {
    link.addEventListener("click", (event) => {
      if (event.metaKey || event.ctrlKey || event.shiftKey) return;
      event.preventDefault();
      opener = link;
      const direction = link.dataset.people;
      title.textContent = direction === "followers" ? t("Followers") : t("Following");
      source = `/api/v1/users/${encodeURIComponent(handle)}/${direction}`;
      cursor = null;
      list.replaceChildren();
      peopleDialog.showModal();
      load();
    });
  }
  more.addEventListener("click", load);
  peopleDialog.querySelector("[data-close]").addEventListener("click", () => peopleDialog.close());
  peopleDialog.addEventListener("close", () => { if (opener) opener.focus(); });
}

// ---- hashtag: how many videos, Top or Latest ---------------------------------------------------------

const tagCount = document.querySelector("[data-testid='tag-count']");

if (tagCount) {
  api("GET", tagCount.dataset.source).then((info) => {
    const n = Number(info && info.video_count) || 0;
    tagCount.dataset.count = String(n);
    tagCount.textContent = tn("{count} video", "{count} videos", n, { count: formatCount(n) });
  }).catch(() => {});
}
