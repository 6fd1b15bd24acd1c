// A video with its side buttons (creator, like, comments, share, why) and caption: one feed item,
// or the single video of /v/{id}. Built with DOM nodes only; user text always goes in as text.

import { api, avatarNode, el, formatCount, reportError, requireLogin, toast, viewer } from "./api.js";
import { WatchTracker, flush, track } from "./events.js";
import { t, tn } from "./i18n.js";
import { icon } from "./icons.js";
import { Player } from "./player.js";
import { shareSheet } from "./share.js";
import { soundNotes } from "./sound-chip.js";

// The server's rules (reelm/text.py): #tag after a non-word, non-# character; @handle likewise.
const TOKENS = /(?<![\p{L}\p{N}_#])#([\p{L}\p{N}_]{1,50})|(?<![\p{L}\p{N}_@])@([a-z0-9_](?:[a-z0-9_.]{0,22}[a-z0-9_])?)/giu;

/** Caption text as a fragment of text nodes and links to /tag/{tag} and /@{handle}. */
export function linkify(value) {
  const text = value || "";
  const fragment = document.createDocumentFragment();
  let last = 0;
  for (const match of text.matchAll(TOKENS)) {
    if (match.index > last) fragment.append(text.slice(last, match.index));
    if (match[1] !== undefined) {
      const tag = match[1].toLowerCase();
      fragment.append(el("a", { className: "tag-link", href: `/tag/${encodeURIComponent(tag)}` }, `#${match[1]}`));
    } else {
      const handle = match[2].toLowerCase();
      fragment.append(el("a", { className: "mention-link", href: `/@${encodeURIComponent(handle)}` }, `@${match[2]}`));
    }
    last = match.index + match[0].length;
  }
  if (last < text.length) fragment.append(text.slice(last));
  return fragment;
}

/** Whether the viewer follows the creator: the item may say so; items from the Following feed do. */
function initialFollowing(item) {
  const c = item.creator || {};
  if (typeof c.is_following === "boolean") return c.is_following;
  if (typeof item.following === "boolean") return item.following;
  return item.source === "following";
}

/** A moderation label and the adults-only mark of a video (or comment), as text; null when neither. */
export function moderationNotices(item) {
  const parts = [];
  if (item.age_restricted) {
    parts.push(el("span", { className: "mod-badge mod-age", "data-testid": "age-restricted" }, "18+"));
  }
  if (item.label) {
    parts.push(el("span", { className: "mod-badge mod-label", "data-testid": "mod-label", role: "note" }, item.label));
  }
  // Labels the creator set: a paid partnership (an ad, DSA Art. 26) and content made or changed by AI.
  if (item.paid_partnership) {
    parts.push(el("span", { className: "mod-badge creator-label", "data-testid": "paid-partnership", role: "note" }, t("Paid partnership")));
  }
  if (item.ai_generated) {
    parts.push(el("span", { className: "mod-badge creator-label", "data-testid": "ai-generated", role: "note" }, t("AI-generated")));
  }
  return parts.length ? el("p", { className: "mod-notices" }, ...parts) : null;
}

export class Card {
  /**
   * @param item VideoOut (feed items also carry `source` and `reason`)
   * @param options.comments the Comments drawer/panel
   * @param options.index position in the feed
   * @param options.source where the viewer found it (the creator's analytics: reelm.events.TrafficSource)
   */
  constructor(item, { comments, index = 0, source = null } = {}) {
    this.item = item;
    this.comments = comments;
    this.liked = item.liked_by_me === true;
    this.likes = (item.counts && item.counts.likes) || 0;
    this.commentCount = (item.counts && item.counts.comments) || 0;
    this.shares = (item.counts && item.counts.shares) || 0;
    this.following = initialFollowing(item);
    this.likeBusy = false;

    this.player = new Player(item, { onDoubleTap: () => this.like(true) });
    this.watch = new WatchTracker(item, this.player.video, source);
    this.root = el("article", {
      className: "feed-item",
      "data-testid": "feed-item",
      "data-video-id": item.id,
      "data-index": String(index),
      "aria-label": t("Video by @{handle}", { handle: item.creator.handle }),
    });
    const stage = el("div", { className: "stage" }, this.player.root, this.buildCaption());
    this.root.append(stage, this.buildActions());
    this.render();

    this.onFollowEvent = (event) => {
      if (event.detail.handle === item.creator.handle) {
        this.following = event.detail.following;
        this.renderFollow(false);
      }
    };
    this.onCommentEvent = (event) => {
      if (event.detail.videoId === item.id) {
        this.commentCount = Math.max(0, this.commentCount + event.detail.delta);
        this.render();
      }
    };
    document.addEventListener("reelm:follow", this.onFollowEvent);
    document.addEventListener("reelm:comment-count", this.onCommentEvent);
  }

  // -- building

  buildCaption() {
    const { item } = this;
    const handle = el("a", { className: "caption-handle", href: `/@${item.creator.handle}` }, `@${item.creator.handle}`);
    const head = el("p", { className: "caption-head" }, handle);
    if (item.creator.display_name && item.creator.display_name !== item.creator.handle) {
      head.append(el("span", { className: "caption-name" }, item.creator.display_name));
    }
    this.captionText = el("p", { className: "caption-text" }, linkify(item.caption || ""));
    this.moreButton = el("button", { type: "button", className: "caption-more", hidden: true, "aria-expanded": "false" }, t("more"));
    this.moreButton.addEventListener("click", (event) => {
      event.stopPropagation();
      const open = this.captionText.classList.toggle("is-open");
      this.moreButton.textContent = open ? t("less") : t("more");
      this.moreButton.setAttribute("aria-expanded", String(open));
    });
    const caption = el("div", { className: "caption" }, head);
    const notices = moderationNotices(item);
    if (notices) caption.append(notices);
    if (item.caption) caption.append(this.captionText, this.moreButton);
    // An edited caption links to what it said before (reelm.videos.caption_history).
    if (item.caption_edited_at) {
      const history = `/v/${encodeURIComponent(item.id)}/caption-history`;
      caption.append(el("a", { className: "caption-edited", href: history, "data-testid": "caption-edited" }, t("Edited")));
    }
    caption.append(...soundNotes(item));
    return caption;
  }

  buildActions() {
    const { item } = this;
    const me = viewer();
    const isSelf = me && me.id === item.creator.id;

    const profile = el("a", { className: "action-avatar-link", href: `/@${item.creator.handle}`, "aria-label": t("@{handle}’s profile", { handle: item.creator.handle }) },
      avatarNode(item.creator, "lg"));
    this.followButton = null;
    const avatarBox = el("div", { className: "action-avatar" }, profile);
    if (!isSelf) {
      this.followButton = el("button", {
        type: "button",
        className: "follow-plus",
        "data-testid": "follow-button",
        "aria-label": t("Follow @{handle}", { handle: item.creator.handle }),
        "aria-pressed": "false",
      }, icon("plus", "icon"));
      this.followButton.addEventListener("click", () => this.follow());
      avatarBox.append(this.followButton);
    }

    this.likeCount = el("span", { className: "action-count", "data-testid": "like-count" });
    this.likeButton = el("button", { type: "button", className: "action action-like", "data-testid": "like-button", "aria-pressed": "false" },
      el("span", { className: "action-icon" }, icon("heart")), this.likeCount);
    this.likeButton.addEventListener("click", () => this.like());

    this.commentCountEl = el("span", { className: "action-count", "data-testid": "comment-count" });
    this.commentButton = el("button", { type: "button", className: "action action-comment", "data-testid": "comment-button", "aria-haspopup": "dialog" },
      el("span", { className: "action-icon" }, icon("comment")), this.commentCountEl);
    this.commentButton.addEventListener("click", () => this.openComments());

    this.shareCount = el("span", { className: "action-count" });
    this.shareButton = el("button", { type: "button", className: "action action-share", "data-testid": "share-button", "aria-haspopup": "dialog" },
      el("span", { className: "action-icon" }, icon("share")), this.shareCount);
    this.shareButton.addEventListener("click", () => this.share());

    const actions = el("div", { className: "actions" }, avatarBox, this.likeButton, this.commentButton, this.shareButton);

    if (item.reason) {
      const bubbleId = `why-${item.id}`;
      this.whyBubble = el("div", { className: "why-bubble", id: bubbleId, role: "note", hidden: true },
        el("strong", {}, t("Why you’re seeing this")), el("span", {}, item.reason));
      if (me && !isSelf) this.whyBubble.append(this.buildControls());
      this.whyButton = el("button", {
        type: "button", className: "action action-why", "data-testid": "why-button",
        "aria-label": t("Why am I seeing this?"), "aria-expanded": "false", "aria-controls": bubbleId,
      }, el("span", { className: "action-icon action-icon-sm" }, icon("info")));
      this.whyButton.addEventListener("click", (event) => {
        event.stopPropagation();
        this.showWhy(this.whyBubble.hidden);
      });
      actions.append(this.whyButton, this.whyBubble);
    }
    return actions;
  }

  /** "Not interested" and "Hide this creator": recorded as events, effective from the next page. */
  buildControls() {
    const notInterested = el("button", { type: "button", className: "btn btn-secondary btn-sm", "data-testid": "not-interested" }, t("Not interested"));
    const hide = el("button", { type: "button", className: "btn btn-secondary btn-sm", "data-testid": "hide-creator" }, t("Hide @{handle}", { handle: this.item.creator.handle }));
    const choose = (kind, message) => (event) => {
      event.stopPropagation();
      track(this.item.id, kind);
      flush();
      this.root.classList.add("is-dismissed");
      this.showWhy(false);
      toast(message, { kind: "ok" });
    };
    notInterested.addEventListener("click", choose("not_interested", t("Got it: fewer videos like this.")));
    hide.addEventListener("click", choose("hide_creator", t("You won’t see @{handle} in For You.", { handle: this.item.creator.handle })));
    return el("div", { className: "why-controls" }, notInterested, hide);
  }

  // -- rendering state

  render() {
    this.likeButton.setAttribute("aria-pressed", String(this.liked));
    this.likeButton.classList.toggle("is-liked", this.liked);
    const likes = { count: formatCount(this.likes) };
    this.likeButton.setAttribute("aria-label", this.liked
      ? tn("Unlike video ({count} like)", "Unlike video ({count} likes)", this.likes, likes)
      : tn("Like video ({count} like)", "Like video ({count} likes)", this.likes, likes));
    this.likeCount.textContent = formatCount(this.likes);
    this.commentCountEl.textContent = formatCount(this.commentCount);
    this.commentButton.setAttribute("aria-label",
      tn("Comments ({count} comment)", "Comments ({count} comments)", this.commentCount, { count: formatCount(this.commentCount) }));
    this.shareCount.textContent = formatCount(this.shares);
    this.shareButton.setAttribute("aria-label",
      tn("Share ({count} share)", "Share ({count} shares)", this.shares, { count: formatCount(this.shares) }));
    this.renderFollow(false);
  }

  renderFollow(justFollowed) {
    const button = this.followButton;
    if (!button) return;
    button.setAttribute("aria-pressed", String(this.following));
    const handle = { handle: this.item.creator.handle };
    button.setAttribute("aria-label", this.following ? t("Following @{handle}", handle) : t("Follow @{handle}", handle));
    button.replaceChildren(icon(this.following ? "check" : "plus", "icon"));
    button.classList.toggle("is-following", this.following);
    if (this.following && justFollowed) {
      button.classList.add("is-done");
      setTimeout(() => { if (this.following) button.hidden = true; }, 1200);
    } else {
      button.hidden = this.following;
    }
  }

  /** Once the card is on screen: show "more" if the caption is clamped. */
  measure() {
    if (!this.item.caption || this.captionText.classList.contains("is-open")) return;
    this.moreButton.hidden = this.captionText.scrollHeight <= this.captionText.clientHeight + 1;
  }

  // -- playback passthrough

  activate() {
    this.root.classList.add("is-active");
    this.player.activate();
    this.watch.start();
    requestAnimationFrame(() => this.measure());
  }

  deactivate() {
    this.root.classList.remove("is-active");
    this.watch.stop();
    this.player.deactivate();
    this.showWhy(false);
  }

  // -- actions

  /** Like or unlike (force = true: only like, as a double tap does). */
  async like(force) {
    if (!requireLogin()) return;
    const want = force === undefined ? !this.liked : force;
    if (want === this.liked || this.likeBusy) return;
    const before = { liked: this.liked, likes: this.likes };
    this.likeBusy = true;
    this.liked = want;
    this.likes = Math.max(0, this.likes + (want ? 1 : -1));
    if (want) {
      this.likeButton.classList.remove("pop");
      void this.likeButton.offsetWidth; // restart the animation
      this.likeButton.classList.add("pop");
    }
    this.render();
    try {
      const state = await api(want ? "POST" : "DELETE", `/api/v1/videos/${encodeURIComponent(this.item.id)}/like`);
      track(this.item.id, want ? "like" : "unlike");
      if (state && typeof state.liked === "boolean") this.liked = state.liked;
      if (state && typeof state.like_count === "number") this.likes = state.like_count;
    } catch (error) {
      this.liked = before.liked;
      this.likes = before.likes;
      reportError(error, t("Couldn’t update the like."));
    } finally {
      this.likeBusy = false;
      this.render();
    }
  }

  async follow() {
    if (!requireLogin() || this.following || this.followBusy) return;
    this.followBusy = true;
    this.following = true;
    this.renderFollow(true);
    try {
      const state = await api("POST", `/api/v1/users/${encodeURIComponent(this.item.creator.handle)}/follow`);
      const following = !state || typeof state.following !== "boolean" ? true : state.following;
      document.dispatchEvent(new CustomEvent("reelm:follow", {
        detail: { handle: this.item.creator.handle, following, follower_count: state ? state.follower_count : undefined },
      }));
      if (following) {
        track(this.item.id, "follow");
        toast(t("Following @{handle}", { handle: this.item.creator.handle }), { kind: "ok" });
      }
    } catch (error) {
      this.following = false;
      this.followButton.classList.remove("is-done");
      this.renderFollow(false);
      reportError(error, t("Couldn’t follow."));
    } finally {
      this.followBusy = false;
    }
  }

  openComments() {
    if (this.comments) this.comments.open({ ...this.item, counts: { ...this.item.counts, comments: this.commentCount } }, this.commentButton);
  }

  /** The share sheet: send the video to a conversation or a @handle, or copy its link. */
  share() {
    shareSheet().open(this.item, this.shareButton, {
      copyLink: () => this.copyLink(),
      shared: () => this.countShare(),
    });
  }

  /** Puts the video's address on the clipboard (or offers it to copy by hand) and counts the share. */
  async copyLink() {
    const url = this.item.share_url || `${location.origin}/v/${this.item.id}`;
    let copied = false;
    try {
      if (navigator.clipboard && window.isSecureContext) {
        await navigator.clipboard.writeText(url);
        copied = true;
      }
    } catch {
      copied = false;
    }
    if (copied) toast(t("Link copied"), { kind: "ok" });
    else window.prompt(t("Copy this link:"), url);
    await this.countShare();
  }

  /** A share happened (link copied or video sent): the event for recommendations, and the count. */
  async countShare() {
    track(this.item.id, "share");
    try {
      const result = await api("POST", `/api/v1/videos/${encodeURIComponent(this.item.id)}/share`);
      const counted = result && (result.share_count ?? result.shares ?? (result.counts && result.counts.shares));
      this.shares = typeof counted === "number" ? counted : this.shares + 1;
      this.render();
    } catch {
      // Counting a share is best effort; the link or the message has already gone.
    }
  }

  showWhy(show) {
    if (!this.whyBubble) return;
    clearTimeout(this.whyTimer);
    this.whyBubble.hidden = !show;
    this.whyButton.setAttribute("aria-expanded", String(show));
    if (show) {
      this.whyTimer = setTimeout(() => this.showWhy(false), 7000);
      const close = (event) => {
        if (!this.whyBubble.contains(event.target) && !this.whyButton.contains(event.target)) this.showWhy(false);
      };
      setTimeout(() => document.addEventListener("click", close, { once: true, capture: true }), 0);
    }
  }

  destroy() {
    this.watch.stop();
    document.removeEventListener("reelm:follow", this.onFollowEvent);
    document.removeEventListener("reelm:comment-count", this.onCommentEvent);
    this.player.destroy();
  }
}
