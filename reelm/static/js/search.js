// The search page: results in tabs (Top, Videos, Accounts, Hashtags, Sounds) with the matched words highlighted,
// follow buttons for accounts and hashtags, posters that open the results in the vertical player, empty
// and error states that say what to try, and the viewer's recent searches (delete, clear, pause).

import { ApiError, api, avatarNode, el, formatCount, query, reportError, viewer } from "./api.js";
import { accountFollowButton, highlight, tagFollowButton } from "./discover.js";
import { icon } from "./icons.js";
import { t, tn } from "./i18n.js";
import { soundThumb, soundTitle } from "./sound-chip.js";

const page = document.getElementById("search-page");
const panel = document.getElementById("search-panel");
const status = document.getElementById("search-status");
const tabs = [...document.querySelectorAll(".search-tab")];
const q = page.dataset.query;
let tab = page.dataset.tab;
let cursor = null;
let words = [];
let loading = false;

// ---- results -----------------------------------------------------------------------------------------

function videoTile(video) {
  const views = formatCount(video.counts ? video.counts.views : 0);
  const caption = video.caption || t("Video");
  const link = el("a", {
    className: "tile", href: `/search/watch${query({ q, start: video.id })}`, "data-testid": "result-video",
    "data-video-id": video.id,
    "aria-label": `${caption} · ${tn("{count} view", "{count} views", video.counts ? video.counts.views : 0, { count: views })}`,
  });
  if (video.poster_url) link.append(el("img", { src: video.poster_url, alt: "", loading: "lazy", decoding: "async" }));
  else link.append(el("span", { className: "tile-blank", "aria-hidden": "true" }, icon("play", "icon tile-blank-icon")));
  link.append(el("span", { className: "tile-views" }, icon("play", "icon icon-xs"), views));
  return link;
}

function accountRow(account) {
  const followers = tn("{count} follower", "{count} followers", account.follower_count, { count: formatCount(account.follower_count) });
  const row = el("li", { className: "search-row", "data-account": account.handle, "data-testid": "result-account" },
    el("a", { className: "search-row-link", href: `/@${encodeURIComponent(account.handle)}` },
      avatarNode(account, "md"),
      el("span", { className: "search-row-text" },
        el("span", { className: "search-row-title" }, highlight(account.display_name || account.handle, words)),
        el("span", { className: "search-row-sub" }, highlight(`@${account.handle}`, words), " · ",
          el("span", { "data-follower-count": "" }, followers)))));
  if (account.is_following !== null && account.is_following !== undefined) {
    row.append(accountFollowButton(account.handle, account.is_following));
  } else if (!viewer()) {
    row.append(accountFollowButton(account.handle, false)); // asks to log in first
  }
  return row;
}

function hashtagRow(hashtag) {
  const count = tn("{count} video", "{count} videos", hashtag.video_count, { count: formatCount(hashtag.video_count) });
  return el("li", { className: "search-row", "data-testid": "result-hashtag" },
    el("a", { className: "search-row-link", href: `/tag/${encodeURIComponent(hashtag.tag)}` },
      el("span", { className: "search-tag-mark", "aria-hidden": "true" }, "#"),
      el("span", { className: "search-row-text" },
        el("span", { className: "search-row-title" }, highlight(`#${hashtag.tag}`, words)),
        el("span", { className: "search-row-sub" }, count))),
    tagFollowButton(hashtag.tag, Boolean(hashtag.is_following)));
}

function soundRow(sound) {
  const count = tn("{count} video", "{count} videos", sound.video_count, { count: formatCount(sound.video_count) });
  return el("li", { className: "search-row", "data-testid": "result-sound", "data-sound-id": sound.id },
    el("a", { className: "search-row-link", href: `/sound/${encodeURIComponent(sound.id)}` },
      soundThumb(sound),
      el("span", { className: "search-row-text" },
        el("span", { className: "search-row-title" }, highlight(soundTitle(sound), words)),
        el("span", { className: "search-row-sub" }, highlight(`@${sound.creator.handle}`, words), " · ", count))));
}

function section(title, list) {
  return el("section", { className: "search-section" }, el("h2", { className: "search-section-title" }, title), list);
}

function emptyState() {
  return el("div", { className: "search-state", "data-testid": "search-empty" },
    el("h2", {}, t("No results for “{query}”", { query: q })),
    el("p", { className: "muted" }, t("Things to try:")),
    el("ul", {},
      el("li", {}, t("Check the spelling, or use fewer words")),
      el("li", {}, t("Search for a hashtag without the # or a handle without the @")),
      el("li", {}, t("Look in another tab: Videos, Accounts, Hashtags or Sounds"))),
    el("p", {}, el("a", { className: "btn btn-secondary", href: "/explore" }, t("Explore what is trending"))));
}

function errorState(error) {
  const retry = el("button", { type: "button", className: "btn btn-primary", "data-testid": "search-retry" }, t("Try again"));
  retry.addEventListener("click", () => load(true));
  const detail = error instanceof ApiError
    ? (error.status === 451 ? t("Search is switched off in this realm right now. Try again later.") : error.detail)
    : t("Please check your connection.");
  return el("div", { className: "search-state", role: "alert", "data-testid": "search-error" },
    el("h2", {}, t("Couldn’t search")), el("p", { className: "muted" }, detail), retry);
}

function moreButton() {
  const button = el("button", { type: "button", className: "btn btn-secondary", "data-testid": "search-more" }, t("Load more"));
  button.addEventListener("click", () => load(false));
  return el("div", { className: "search-more" }, button);
}

function render(results, fresh) {
  words = results.words || [];
  const nodes = [];
  const videos = results.videos || [];
  const accounts = results.accounts || [];
  const hashtags = results.hashtags || [];
  const sounds = results.sounds || [];
  let grid = fresh ? null : panel.querySelector(".search-grid");
  let soundList = fresh ? null : panel.querySelector(".search-sounds");
  let accountList = fresh ? null : panel.querySelector(".search-accounts");
  let tagList = fresh ? null : panel.querySelector(".search-hashtags");
  if (accounts.length) {
    if (!accountList) {
      accountList = el("ul", { className: "search-list search-accounts" });
      nodes.push(tab === "top" ? section(t("Accounts"), accountList) : accountList);
    }
    accountList.append(...accounts.map(accountRow));
  }
  if (hashtags.length) {
    if (!tagList) {
      tagList = el("ul", { className: "search-list search-hashtags" });
      nodes.push(tab === "top" ? section(t("Hashtags"), tagList) : tagList);
    }
    tagList.append(...hashtags.map(hashtagRow));
  }
  if (sounds.length) {
    if (!soundList) {
      soundList = el("ul", { className: "search-list search-sounds" });
      nodes.push(tab === "top" ? section(t("Sounds"), soundList) : soundList);
    }
    soundList.append(...sounds.map(soundRow));
  }
  if (videos.length) {
    if (!grid) {
      grid = el("div", { className: "grid search-grid" });
      nodes.push(tab === "top" ? section(t("Videos"), grid) : grid);
    }
    grid.append(...videos.map(videoTile));
  }
  const old = panel.querySelector(".search-more");
  if (old) old.remove();
  if (fresh) {
    panel.replaceChildren(...nodes);
    if (!nodes.length) panel.append(emptyState());
    status.textContent = nodes.length ? t("Results for “{query}”", { query: q }) : t("No results for “{query}”", { query: q });
  } else {
    panel.append(...nodes);
  }
  if (results.next_cursor) panel.append(moreButton());
}

async function load(fresh) {
  if (loading || !q) return;
  loading = true;
  panel.setAttribute("aria-busy", "true");
  if (fresh) cursor = null;
  try {
    const results = await api("GET", `/api/v1/search${query({ q, tab, cursor })}`);
    cursor = results.next_cursor || null;
    render(results, fresh);
  } catch (error) {
    if (fresh) panel.replaceChildren(errorState(error));
    else reportError(error, t("Couldn’t load more results."));
  } finally {
    loading = false;
    panel.setAttribute("aria-busy", "false");
  }
}

function selectTab(name, { focus = false } = {}) {
  tab = name;
  for (const button of tabs) {
    const selected = button.dataset.tab === name;
    button.setAttribute("aria-selected", String(selected));
    button.tabIndex = selected ? 0 : -1;
    if (selected && focus) button.focus();
  }
  panel.setAttribute("aria-labelledby", `search-tab-${name}`);
  history.replaceState(null, "", `/search${query({ q, tab: name === "top" ? "" : name })}`);
  load(true);
}

for (const [index, button] of tabs.entries()) {
  button.addEventListener("click", () => selectTab(button.dataset.tab));
  // The tabs pattern: arrows move between tabs, Home and End to the ends.
  button.addEventListener("keydown", (event) => {
    const moves = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: tabs.length - 1 };
    if (!(event.key in moves)) return;
    event.preventDefault();
    const next = (moves[event.key] + tabs.length) % tabs.length;
    selectTab(tabs[next].dataset.tab, { focus: true });
  });
}

// ---- recent searches -----------------------------------------------------------------------------------

const recentBox = document.getElementById("search-recent");
const recentList = document.getElementById("recent-list");
const recentEmpty = document.getElementById("recent-empty");
const pauseButton = document.getElementById("recent-pause");
const pausedNote = document.getElementById("recent-paused-note");
const clearButton = document.getElementById("recent-clear");

function renderHistory(history) {
  const items = history.items || [];
  recentList.replaceChildren(...items.map((item) => {
    const remove = el("button", {
      type: "button", className: "icon-btn", "data-testid": "recent-delete",
      "aria-label": t("Delete “{query}” from recent searches", { query: item.query }),
    }, icon("close", "icon icon-sm"));
    remove.addEventListener("click", async () => {
      try {
        await api("DELETE", `/api/v1/me/search-history/${encodeURIComponent(item.id)}`);
        renderHistory({ ...history, items: items.filter((i) => i.id !== item.id) });
      } catch (error) {
        reportError(error, t("Couldn’t delete that search."));
      }
    });
    return el("li", { className: "recent-item", "data-testid": "recent-item" },
      el("a", { href: `/search${query({ q: item.query })}` }, icon("clock", "icon icon-sm typeahead-icon"), item.query),
      remove);
  }));
  recentEmpty.hidden = items.length > 0;
  clearButton.disabled = items.length === 0;
  pauseButton.setAttribute("aria-pressed", String(Boolean(history.paused)));
  pauseButton.textContent = history.paused ? t("Resume history") : t("Pause history");
  pausedNote.hidden = !history.paused;
  recentBox.hidden = false;
}

async function loadHistory() {
  try {
    renderHistory(await api("GET", "/api/v1/me/search-history"));
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) reportError(error, t("Couldn’t load your recent searches."));
  }
}

clearButton.addEventListener("click", async () => {
  try {
    await api("DELETE", "/api/v1/me/search-history");
    renderHistory({ paused: pauseButton.getAttribute("aria-pressed") === "true", items: [] });
  } catch (error) {
    reportError(error, t("Couldn’t clear your recent searches."));
  }
});

pauseButton.addEventListener("click", async () => {
  const paused = pauseButton.getAttribute("aria-pressed") !== "true";
  try {
    renderHistory(await api("PUT", "/api/v1/me/search-settings", { paused }));
  } catch (error) {
    reportError(error, t("Couldn’t change your search history setting."));
  }
});

if (q) load(true);
else if (viewer()) loadHistory();
