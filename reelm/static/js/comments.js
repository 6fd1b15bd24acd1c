// The comments drawer (bottom sheet on phones, side drawer on desktops) or the fixed side panel of the
// video page: top-level comments with paging, replies one level deep, likes, delete, report (report.js;
// others' comments), and a composer.

import { ApiError, api, avatarNode, el, formatCount, isDesktop, query, relativeTime, reportError, requireLogin, toast, viewer } from "./api.js";
import { formatDateTime, t, tn } from "./i18n.js";
import { icon } from "./icons.js";
import { linkify, moderationNotices } from "./card.js";
import { openReport } from "./report.js";

const PAGE = 20;

function countDelta(videoId, delta) {
  document.dispatchEvent(new CustomEvent("reelm:comment-count", { detail: { videoId, delta } }));
}

export class Comments {
  constructor(root) {
    this.root = root;
    this.mode = root.dataset.mode || "drawer";
    this.scroller = root.querySelector(".comments-scroll");
    this.list = root.querySelector(".comment-list");
    this.state = root.querySelector(".comments-state");
    this.more = root.querySelector(".comments-more");
    this.total = root.querySelector(".comments-total");
    this.intro = root.querySelector(".comments-intro");
    this.form = root.querySelector(".composer");
    this.input = root.querySelector(".composer-input");
    this.submit = root.querySelector(".composer-submit");
    this.replyBox = root.querySelector(".composer-reply");
    this.replyTo = root.querySelector(".composer-reply-to");
    this.errorBox = root.querySelector(".composer-error");
    this.scrim = root.nextElementSibling && root.nextElementSibling.classList.contains("scrim") ? root.nextElementSibling : null;

    this.video = null;
    this.cursor = null;
    this.done = false;
    this.loading = false;
    this.generation = 0;
    this.parent = null; // { id, handle, li } while replying
    this.closed = false; // the video's comment policy leaves this viewer out (applyPolicy)
    this.trigger = null;
    this.count = 0;

    if (this.mode === "drawer") {
      root.setAttribute("role", "dialog");
      root.setAttribute("aria-modal", "false");
    }
    root.querySelector(".comments-close").addEventListener("click", () => this.close());
    if (this.scrim) this.scrim.addEventListener("click", () => this.close());
    root.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && this.isOpen) {
        event.stopPropagation();
        this.close();
      }
    });
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && this.isOpen && !event.defaultPrevented) this.close();
    });
    // Keys typed in the drawer are not feed shortcuts.
    root.addEventListener("keydown", (event) => event.stopPropagation());
    this.more.addEventListener("click", () => this.loadMore());
    this.bindComposer();

    const sentinel = root.querySelector(".comments-sentinel");
    if (sentinel && "IntersectionObserver" in window) {
      new IntersectionObserver((entries) => {
        if (entries.some((e) => e.isIntersecting) && this.video && !this.done && !this.loading) this.loadMore();
      }, { root: this.scroller, rootMargin: "200px" }).observe(sentinel);
    }
  }

  get isOpen() {
    return this.root.classList.contains("is-open");
  }

  /** Opens the drawer on `video` (reloading only when it is another video). */
  open(video, trigger) {
    if (trigger) this.trigger = trigger;
    this.show(video);
    if (this.mode === "panel" && isDesktop()) {
      // The panel is already on screen beside the video: go straight to writing.
      const target = this.input && !this.input.disabled ? this.input : this.root;
      target.focus({ preventScroll: true });
      return;
    }
    if (this.isOpen) return;
    this.root.classList.add("is-open");
    if (this.scrim) this.scrim.hidden = false;
    document.body.classList.add("comments-open");
    const close = this.root.querySelector(".comments-close");
    requestAnimationFrame(() => (close.offsetParent ? close : this.root).focus({ preventScroll: true }));
  }

  /** Loads the comments of `video` without changing whether the drawer is open (the desktop panel). */
  show(video) {
    if (this.video && this.video.id === video.id) return;
    this.video = video;
    this.count = (video.counts && video.counts.comments) || 0;
    this.reset();
    this.applyPolicy(video);
    this.loadMore();
  }

  /**
   * Who may write here: when the video's comment policy leaves this viewer out, the composer says why
   * instead of offering a box that the server would refuse. (A visitor who is not logged in keeps "Log in
   * to comment", unless nobody may comment.)
   */
  applyPolicy(video) {
    const closedBox = this.root.querySelector(".composer-closed");
    const row = this.root.querySelector(".composer-row");
    if (!closedBox || !row) return;
    const me = viewer();
    const creator = video.creator || {};
    const isCreator = Boolean(me && creator.id === me.id);
    let reason = "";
    if (video.comment_policy === "no_one" && !isCreator) {
      reason = t("Comments are turned off for this video.");
    } else if (me && video.can_comment === false) {
      reason = video.comment_policy === "followed_back"
        ? t("Only people @{handle} follows can comment on this video.", { handle: creator.handle })
        : video.comment_policy === "followers"
          ? t("Only followers of @{handle} can comment on this video.", { handle: creator.handle })
          : t("You can’t comment on this video.");
    }
    this.closed = Boolean(reason);
    closedBox.textContent = reason;
    closedBox.hidden = !reason;
    row.hidden = this.closed;
    if (this.closed) this.cancelReply();
  }

  close() {
    if (!this.isOpen) return;
    this.root.classList.remove("is-open");
    if (this.scrim) this.scrim.hidden = true;
    document.body.classList.remove("comments-open");
    if (this.trigger && document.contains(this.trigger)) this.trigger.focus({ preventScroll: true });
  }

  reset() {
    this.generation += 1;
    this.cursor = null;
    this.done = false;
    this.loading = false;
    this.list.replaceChildren();
    this.more.hidden = true;
    this.setState("");
    this.cancelReply();
    this.renderTotal();
    this.errorBox.hidden = true;
    this.scroller.scrollTop = 0;
  }

  renderTotal() {
    this.total.textContent = this.count ? `(${formatCount(this.count)})` : "";
  }

  setState(text, { retry = false } = {}) {
    this.state.replaceChildren();
    if (text) this.state.append(text);
    if (retry) {
      const button = el("button", { type: "button", className: "btn btn-ghost btn-sm" }, t("Try again"));
      button.addEventListener("click", () => this.loadMore());
      this.state.append(" ", button);
    }
    this.state.hidden = !text;
  }

  async loadMore() {
    if (!this.video || this.loading || this.done) return;
    const generation = this.generation;
    const videoId = this.video.id;
    this.loading = true;
    this.more.hidden = true;
    this.setState(t("Loading comments…"));
    try {
      const page = await api("GET", `/api/v1/videos/${encodeURIComponent(videoId)}/comments${query({ cursor: this.cursor, limit: PAGE })}`);
      if (generation !== this.generation) return;
      for (const comment of page.items || []) {
        if (!this.list.querySelector(`[data-comment-id="${CSS.escape(comment.id)}"]`)) this.list.append(this.renderComment(comment));
      }
      if (!this.cursor) this.showPinned(page.pinned_id || null);  // the first page names the pinned comment
      this.cursor = page.next_cursor || null;
      this.done = !this.cursor;
      this.more.hidden = this.done;
      if (!this.list.children.length) this.setState(this.closed ? t("No comments.") : t("No comments yet. Start the conversation!"));
      else this.setState("");
    } catch (error) {
      if (generation !== this.generation) return;
      this.setState(error instanceof ApiError ? t("Couldn’t load comments: {detail}", { detail: error.detail }) : t("Couldn’t load comments."), { retry: true });
    } finally {
      if (generation === this.generation) this.loading = false;
    }
  }

  // The creator's pinned comment goes first, with a label (when it is among the comments loaded).
  showPinned(pinnedId) {
    this.pinnedId = pinnedId;
    for (const label of this.list.querySelectorAll(".comment-pinned")) label.remove();
    for (const button of this.list.querySelectorAll(".comment-pin")) {
      const pinned = button.dataset.commentId === pinnedId;
      button.textContent = pinned ? t("Unpin") : t("Pin");
      button.setAttribute("aria-pressed", pinned ? "true" : "false");
    }
    if (!pinnedId) return;
    const li = this.list.querySelector(`:scope > [data-comment-id="${CSS.escape(pinnedId)}"]`);
    if (!li) return;
    this.list.prepend(li);
    const head = li.querySelector(".comment-head");
    if (head) head.append(el("span", { className: "comment-creator comment-pinned", "data-testid": "comment-pinned" }, t("Pinned")));
  }

  async pin(comment) {
    const pinned = this.pinnedId === comment.id;
    try {
      const controls = await api("PUT", `/api/v1/videos/${encodeURIComponent(this.video.id)}/pinned-comment`, { comment_id: pinned ? null : comment.id });
      this.showPinned(controls.pinned_comment_id || null);
    } catch (error) {
      reportError(error, t("Couldn’t pin the comment."));
    }
  }

  canDelete(comment) {
    const me = viewer();
    if (!me) return false;
    return comment.author.id === me.id || (this.video && this.video.creator && this.video.creator.id === me.id);
  }

  renderComment(comment) {
    const isReply = Boolean(comment.parent_id);
    const author = comment.author || { handle: "unknown", display_name: t("unknown") };
    const li = el("li", { className: `comment${isReply ? " comment-reply" : ""}`, "data-testid": "comment", "data-comment-id": comment.id });

    const avatarLink = el("a", { className: "comment-avatar", href: `/@${author.handle}`, "aria-label": `@${author.handle}` },
      avatarNode(author, isReply ? "xs" : "sm"));

    const head = el("p", { className: "comment-head" },
      el("a", { className: "comment-author", href: `/@${author.handle}` }, author.display_name || author.handle));
    if (this.video && this.video.creator && author.id === this.video.creator.id) {
      head.append(el("span", { className: "comment-creator" }, t("Creator")));
    }
    const body = el("p", { className: "comment-body" }, comment.body);
    const time = el("time", { className: "comment-time", datetime: comment.created_at, title: formatDateTime(comment.created_at) },
      relativeTime(comment.created_at));

    const replyButton = el("button", { type: "button", className: "comment-link", "aria-label": t("Reply to @{handle}", { handle: author.handle }) }, t("Reply"));
    replyButton.addEventListener("click", () => {
      if (!requireLogin()) return;
      // Replies are one level deep: a reply to a reply joins its parent's thread.
      const parentLi = isReply ? li.closest(".comment:not(.comment-reply)") : li;
      this.startReply({ id: comment.parent_id || comment.id, handle: author.handle, li: parentLi });
    });
    const meta = el("div", { className: "comment-meta" }, time, replyButton);
    const me = viewer();
    if (!me || (comment.author && comment.author.id !== me.id)) {
      const report = el("button", { type: "button", className: "comment-link comment-report", "data-testid": "comment-report", "aria-label": t("Report comment by @{handle}", { handle: author.handle }) }, t("Report"));
      report.addEventListener("click", () => openReport({ type: "comment", id: comment.id, label: t("Comment by @{handle}", { handle: author.handle }), trigger: report }));
      meta.append(report);
    }
    if (!isReply && me && this.video && this.video.creator && this.video.creator.id === me.id) {
      const pin = el("button", { type: "button", className: "comment-link comment-pin", "data-testid": "comment-pin", "data-comment-id": comment.id, "aria-pressed": "false" }, t("Pin"));
      pin.addEventListener("click", () => this.pin(comment));
      meta.append(pin);
    }
    if (this.canDelete(comment)) {
      const del = el("button", { type: "button", className: "comment-link comment-delete", "aria-label": t("Delete comment"), title: t("Delete") },
        icon("close", "icon icon-xs"));
      del.addEventListener("click", () => this.remove(comment, li));
      meta.append(del);
    }

    const main = el("div", { className: "comment-main" }, head, moderationNotices(comment), body, meta);

    if (!isReply) {
      li.repliesList = el("ul", { className: "replies", hidden: true });
      li.replyState = { count: comment.reply_count || 0, cursor: null, loaded: false, loading: false, open: false };
      li.repliesButton = el("button", { type: "button", className: "comment-link replies-toggle", "aria-expanded": "false" });
      li.repliesButton.addEventListener("click", () => this.toggleReplies(comment, li));
      main.append(li.repliesList, li.repliesButton);
      this.renderRepliesButton(li);
    }

    const likeCount = el("span", { className: "comment-like-count" }, formatCount(comment.like_count || 0));
    const like = el("button", { type: "button", className: "comment-like", "aria-pressed": String(comment.liked_by_me === true) },
      icon("heart", "icon icon-sm"), likeCount);
    const state = { liked: comment.liked_by_me === true, count: comment.like_count || 0, busy: false };
    const renderLike = () => {
      like.setAttribute("aria-pressed", String(state.liked));
      like.classList.toggle("is-liked", state.liked);
      like.setAttribute("aria-label", state.liked
        ? tn("Unlike comment ({count} like)", "Unlike comment ({count} likes)", state.count)
        : tn("Like comment ({count} like)", "Like comment ({count} likes)", state.count));
      likeCount.textContent = formatCount(state.count);
    };
    renderLike();
    like.addEventListener("click", async () => {
      if (!requireLogin() || state.busy) return;
      const want = !state.liked;
      const before = { ...state };
      state.busy = true;
      state.liked = want;
      state.count = Math.max(0, state.count + (want ? 1 : -1));
      renderLike();
      try {
        const res = await api(want ? "POST" : "DELETE",
          `/api/v1/videos/${encodeURIComponent(comment.video_id || this.video.id)}/comments/${encodeURIComponent(comment.id)}/like`);
        if (res && typeof res.liked === "boolean") state.liked = res.liked;
        if (res && typeof res.like_count === "number") state.count = res.like_count;
      } catch (error) {
        state.liked = before.liked;
        state.count = before.count;
        reportError(error, t("Couldn’t like the comment."));
      } finally {
        state.busy = false;
        renderLike();
      }
    });

    li.append(avatarLink, main, el("div", { className: "comment-side" }, like));
    return li;
  }

  /** Replies still on the server and not shown. */
  remainingReplies(li) {
    return Math.max(0, li.replyState.count - li.repliesList.children.length);
  }

  /** Whether every reply is on screen (so the toggle can hide them). */
  allRepliesShown(li) {
    const s = li.replyState;
    return s.loaded ? !s.cursor : this.remainingReplies(li) === 0;
  }

  renderRepliesButton(li) {
    const s = li.replyState;
    const button = li.repliesButton;
    const shown = li.repliesList.children.length;
    button.setAttribute("aria-expanded", String(s.open));
    if (s.open && this.allRepliesShown(li)) {
      button.textContent = t("Hide replies");
      button.hidden = shown === 0;
    } else if (s.open) {
      const remaining = this.remainingReplies(li);
      button.textContent = remaining ? t("View more replies ({count})", { count: formatCount(remaining) }) : t("View more replies");
      button.hidden = false;
    } else {
      button.textContent = tn("View {count} reply", "View {count} replies", s.count, { count: formatCount(s.count) });
      button.hidden = s.count === 0;
    }
  }

  async toggleReplies(comment, li) {
    const s = li.replyState;
    if (s.loading) return;
    if (s.open && this.allRepliesShown(li)) {
      s.open = false;
      li.repliesList.hidden = true;
      this.renderRepliesButton(li);
      return;
    }
    s.open = true;
    li.repliesList.hidden = false;
    if (this.allRepliesShown(li) && li.repliesList.children.length) {
      this.renderRepliesButton(li);
      return;
    }
    s.loading = true;
    li.repliesButton.textContent = t("Loading…");
    const generation = this.generation;
    try {
      const page = await api("GET", `/api/v1/videos/${encodeURIComponent(this.video.id)}/comments${query({ parent_id: comment.id, cursor: s.cursor, limit: PAGE })}`);
      if (generation !== this.generation) return;
      for (const reply of page.items || []) {
        if (!li.repliesList.querySelector(`[data-comment-id="${CSS.escape(reply.id)}"]`)) li.repliesList.append(this.renderComment(reply));
      }
      s.cursor = page.next_cursor || null;
      s.loaded = true;
    } catch (error) {
      reportError(error, t("Couldn’t load replies."));
      s.open = li.repliesList.children.length > 0;
    } finally {
      s.loading = false;
      this.renderRepliesButton(li);
    }
  }

  async remove(comment, li) {
    if (!window.confirm(t("Delete this comment?"))) return;
    try {
      await api("DELETE", `/api/v1/videos/${encodeURIComponent(comment.video_id || this.video.id)}/comments/${encodeURIComponent(comment.id)}`);
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 404)) {
        reportError(error, t("Couldn’t delete the comment."));
        return;
      }
    }
    const parentLi = comment.parent_id ? li.parentElement.closest(".comment") : null;
    li.remove();
    if (parentLi && parentLi.replyState) {
      parentLi.replyState.count = Math.max(0, parentLi.replyState.count - 1);
      this.renderRepliesButton(parentLi);
    }
    if (this.parent && this.parent.id === comment.id) this.cancelReply();
    this.count = Math.max(0, this.count - 1);
    this.renderTotal();
    countDelta(this.video.id, -1);
    if (!this.list.children.length && this.done) this.setState(t("No comments yet. Start the conversation!"));
    toast(t("Comment deleted"));
  }

  // -- composer

  bindComposer() {
    if (!this.input || this.input.disabled) return;
    const sync = () => {
      this.submit.disabled = !this.input.value.trim() || this.sending;
      this.input.style.height = "auto";
      this.input.style.height = `${Math.min(this.input.scrollHeight, 120)}px`;
    };
    this.input.addEventListener("input", () => {
      this.errorBox.hidden = true;
      sync();
    });
    this.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.form.requestSubmit();
      }
    });
    this.root.querySelector(".composer-reply-cancel").addEventListener("click", () => this.cancelReply());
    this.form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const text = this.input.value.trim();
      if (!text || this.sending || !this.video) return;
      if (!requireLogin()) return;
      this.sending = true;
      sync();
      const parent = this.parent;
      const videoId = this.video.id;
      try {
        const payload = parent ? { body: text, parent_id: parent.id } : { body: text };
        const created = await api("POST", `/api/v1/videos/${encodeURIComponent(videoId)}/comments`, payload);
        this.input.value = "";
        this.cancelReply();
        if (created && created.id && this.video && this.video.id === videoId) this.insert(created, parent);
        this.count += 1;
        this.renderTotal();
        countDelta(videoId, 1);
      } catch (error) {
        if (error instanceof ApiError && error.status === 401) {
          reportError(error);
          return;
        }
        this.errorBox.textContent = error instanceof ApiError ? error.detail : t("Couldn’t post the comment.");
        this.errorBox.hidden = false;
      } finally {
        this.sending = false;
        sync();
      }
    });
  }

  insert(comment, parent) {
    const node = this.renderComment(comment);
    node.classList.add("is-new");
    if (parent && parent.li && document.contains(parent.li)) {
      const s = parent.li.replyState;
      s.count += 1;
      s.open = true;
      parent.li.repliesList.hidden = false;
      parent.li.repliesList.append(node);
      this.renderRepliesButton(parent.li);
    } else {
      this.list.prepend(node);
      this.setState("");
    }
    node.scrollIntoView({ block: "nearest" });
  }

  startReply(parent) {
    if (this.closed) {
      toast(this.root.querySelector(".composer-closed").textContent);
      return;
    }
    this.parent = parent;
    this.replyTo.textContent = `@${parent.handle}`;
    this.replyBox.hidden = false;
    if (this.input && !this.input.disabled) {
      if (!this.input.value.trim()) this.input.value = "";
      this.input.focus();
    }
  }

  cancelReply() {
    this.parent = null;
    if (this.replyBox) this.replyBox.hidden = true;
  }

  /** The creator and caption above the comments (the video page's desktop panel). */
  setIntro(video) {
    if (!this.intro) return;
    const c = video.creator;
    const when = video.published_at || video.created_at;
    this.intro.replaceChildren(
      el("div", { className: "intro-creator" },
        el("a", { className: "intro-avatar", href: `/@${c.handle}`, "aria-label": `@${c.handle}` }, avatarNode(c, "md")),
        el("div", { className: "intro-names" },
          el("a", { className: "intro-name", href: `/@${c.handle}` }, c.display_name || c.handle),
          el("span", { className: "intro-handle" }, `@${c.handle}`, when ? ` · ${relativeTime(when)}` : ""))),
      video.caption ? el("p", { className: "intro-caption" }, linkify(video.caption)) : "",
      // Labels (moderation's, and the creator's: paid partnership, AI-generated) beside the caption here too.
      moderationNotices(video) || "",
    );
  }
}
