// Discovery's shared pieces: matches highlighted as the search index folds text, and the follow buttons of
// hashtags and accounts (search results, Explore, hashtag pages, settings, the welcome page).

import { api, el, formatCount, reportError, requireLogin, toast, viewer } from "./api.js";
import { t, tn } from "./i18n.js";

/** One character as the search index folds it: lower case, accents dropped, ß as ss (reelm_search_fold). */
function fold(char) {
  return char.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").replace(/ß/g, "ss").toLowerCase();
}

/**
 * `text` with every word of `words` (already folded by the server) that starts a word of the text marked.
 * Built from text nodes and <mark> elements only: the text is never parsed as HTML.
 */
export function highlight(text, words) {
  const value = String(text || "");
  const fragment = document.createDocumentFragment();
  const wanted = (words || []).filter(Boolean);
  if (!wanted.length) {
    fragment.append(value);
    return fragment;
  }
  // The folded text, and for each of its characters the index of the original character it came from.
  const chars = Array.from(value);
  let folded = "";
  const origin = [];
  const starts = [];
  let offset = 0;
  for (const char of chars) {
    const piece = fold(char);
    for (let i = 0; i < piece.length; i += 1) origin.push(starts.length);
    folded += piece;
    starts.push(offset);
    offset += char.length;
  }
  const marked = new Array(chars.length).fill(false);
  const isWordChar = (c) => /[\p{L}\p{N}_]/u.test(c);
  for (const word of wanted) {
    let at = folded.indexOf(word);
    while (at !== -1) {
      if (at === 0 || !isWordChar(folded[at - 1])) {
        for (let i = at; i < at + word.length; i += 1) marked[origin[i]] = true;
      }
      at = folded.indexOf(word, at + 1);
    }
  }
  let run = "";
  let runMarked = false;
  const flush = () => {
    if (!run) return;
    fragment.append(runMarked ? el("mark", {}, run) : document.createTextNode(run));
    run = "";
  };
  chars.forEach((char, index) => {
    if (marked[index] !== runMarked) {
      flush();
      runMarked = marked[index];
    }
    run += char;
  });
  flush();
  return fragment;
}

// ---- follow a hashtag ------------------------------------------------------------------------------

function renderTagButton(button, following) {
  const tag = button.dataset.followTag;
  button.setAttribute("aria-pressed", String(following));
  button.setAttribute("aria-label", following ? t("Unfollow #{tag}", { tag }) : t("Follow #{tag}", { tag }));
  button.textContent = following ? t("Following") : t("Follow");
  button.classList.toggle("btn-primary", !following);
  button.classList.toggle("btn-secondary", following);
}

/** A follow button for #tag: <button data-follow-tag="tag" aria-pressed="true|false">. */
export function tagFollowButton(tag, following) {
  const button = el("button", { type: "button", className: "btn btn-sm", "data-follow-tag": tag, "data-testid": "follow-tag" });
  renderTagButton(button, Boolean(following));
  return button;
}

async function toggleTag(button) {
  if (!requireLogin() || button.disabled) return;
  const tag = button.dataset.followTag;
  const want = button.getAttribute("aria-pressed") !== "true";
  button.disabled = true;
  renderTagButton(button, want);
  try {
    const state = await api(want ? "PUT" : "DELETE", `/api/v1/hashtags/${encodeURIComponent(tag)}/follow`);
    renderTagButton(button, Boolean(state && state.following));
    toast(want ? t("Following #{tag}: its videos join your Following feed", { tag }) : t("Unfollowed #{tag}", { tag }), { kind: "ok" });
    button.dispatchEvent(new CustomEvent("reelm:tag-follow", { bubbles: true, detail: { tag, following: want } }));
  } catch (error) {
    renderTagButton(button, !want);
    reportError(error, t("Couldn’t update the follow."));
  } finally {
    button.disabled = false;
  }
}

// ---- follow an account -----------------------------------------------------------------------------

function renderAccountButton(button, following) {
  const handle = button.dataset.followHandle;
  button.setAttribute("aria-pressed", String(following));
  button.setAttribute("aria-label", following ? t("Unfollow @{handle}", { handle }) : t("Follow @{handle}", { handle }));
  button.textContent = following ? t("Following") : t("Follow");
  button.classList.toggle("btn-primary", !following);
  button.classList.toggle("btn-secondary", following);
}

/** A follow button for @handle. */
export function accountFollowButton(handle, following) {
  const button = el("button", { type: "button", className: "btn btn-sm", "data-follow-handle": handle, "data-testid": "follow-account" });
  renderAccountButton(button, Boolean(following));
  return button;
}

async function toggleAccount(button) {
  if (!requireLogin() || button.disabled) return;
  const handle = button.dataset.followHandle;
  const want = button.getAttribute("aria-pressed") !== "true";
  button.disabled = true;
  renderAccountButton(button, want);
  try {
    const state = await api(want ? "POST" : "DELETE", `/api/v1/users/${encodeURIComponent(handle)}/follow`);
    renderAccountButton(button, Boolean(state && state.following));
    const count = button.closest("[data-account]") && button.closest("[data-account]").querySelector("[data-follower-count]");
    if (count && state && typeof state.follower_count === "number") {
      count.textContent = tn("{count} follower", "{count} followers", state.follower_count, { count: formatCount(state.follower_count) });
    }
  } catch (error) {
    renderAccountButton(button, !want);
    reportError(error, t("Couldn’t update the follow."));
  } finally {
    button.disabled = false;
  }
}

// One listener for every follow button, those rendered by the server and those built later.
document.addEventListener("click", (event) => {
  const button = event.target instanceof Element ? event.target.closest("button[data-follow-tag], button[data-follow-handle]") : null;
  if (!button) return;
  event.preventDefault();
  if (button.dataset.followTag) toggleTag(button);
  else toggleAccount(button);
});

// Server-rendered buttons get their accessible name and wording from the same functions.
for (const button of document.querySelectorAll("button[data-follow-tag]")) {
  renderTagButton(button, button.getAttribute("aria-pressed") === "true");
}
for (const button of document.querySelectorAll("button[data-follow-handle]")) {
  renderAccountButton(button, button.getAttribute("aria-pressed") === "true");
}

// Buttons rendered without the viewer's state (the hashtag page) learn it from the list of followed tags.
const unknown = [...document.querySelectorAll("button[data-follow-tag][data-follow-state=unknown]")];
if (unknown.length && viewer()) {
  api("GET", "/api/v1/me/hashtags").then((followed) => {
    const tags = new Set((followed || []).map((f) => f.tag));
    for (const button of unknown) renderTagButton(button, tags.has(button.dataset.followTag));
  }).catch(() => {});
}
