// The share sheet: send a video to one of the viewer's recent conversations or to a @handle, with an
// optional note, copy its link, download it where its creator allows (download.js), remix it (Duet, Stitch,
// Use this sound: the upload page takes it from there), or report it (report.js; not one's own video). It has the comments drawer's look and keyboard (comments.js): a bottom sheet on
// phones, a side drawer on desktops; Escape closes it and focus goes back to the share button. Visitors who
// are not logged in get only "Copy link", "Download" and "Report" (the last two send them to log in). One
// sheet serves the page, built on first use; everything user-written goes in as text.

import { ApiError, api, avatarNode, closeOnEscape, el, query, reportError, toast, viewer } from "./api.js";
import { t } from "./i18n.js";
import { icon } from "./icons.js";
import { downloadVideo } from "./download.js";
import { openReport } from "./report.js";

const RECENT = 20;
const NOTE_MAX = 2000; // the longest message body (reelm/messages/policy.py, MAX_BODY_CHARS)

/** A fresh key per send: a retry after a lost answer gets the message already stored, not a second one. */
function clientKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** "@ana" or "@ana, @ben": who a conversation's message reaches. */
function handlesOf(members) {
  return (members || []).map((m) => `@${m.user.handle}`).join(", ");
}

function namesOf(members) {
  const names = members.map((m) => m.user.display_name || `@${m.user.handle}`);
  if (names.length <= 3) return names.join(", ");
  return `${names.slice(0, 2).join(", ")} and ${names.length - 2} others`;
}

/** The handle typed in the "To" field, without its "@". */
function typedHandle(value) {
  return value.trim().replace(/^@+/, "").toLowerCase();
}

async function postMessage(conversationId, message) {
  const path = `/api/v1/conversations/${encodeURIComponent(conversationId)}/messages`;
  try {
    return await api("POST", path, message);
  } catch (error) {
    // The network failed: once more with the same key, so a send that did arrive is not doubled.
    if (error instanceof ApiError && error.status === 0) return api("POST", path, message);
    throw error;
  }
}

let remixRows = 0;

/** The sound `video` names, as its card gives it: { id, available }, or null when it has none. */
function soundOf(video) {
  const sound = video.sound;
  return sound && sound.id ? { id: String(sound.id), available: sound.available !== false } : null;
}

/**
 * Duet, Stitch and (when the video has a sound) Use this sound, for `video` (a card's item): each a link to
 * the upload page where the viewer may, else shown disabled, saying why when it is focused or pressed (a
 * disabled button could be neither, so these are marked aria-disabled instead). Also the video page's menu.
 * @param sound overrides the card's sound ({ id, available }); null: the video has none
 */
export function remixRow(video, sound = soundOf(video)) {
  remixRows += 1;
  const noteId = `remix-reason-${remixRows}`;
  const note = el("p", { className: "remix-reason", id: noteId, role: "status", "data-testid": "remix-reason", hidden: true });
  const id = encodeURIComponent(video.id);
  const options = [
    { kind: "duet", label: t("Duet"), icon: "users", href: `/upload?duet=${id}`, allowed: video.can_duet === true,
      reason: t("The creator doesn't allow duets with this video.") },
    { kind: "stitch", label: t("Stitch"), icon: "clock", href: `/upload?stitch=${id}`, allowed: video.can_stitch === true,
      reason: t("The creator doesn't allow stitches with this video.") },
  ];
  if (sound) {
    options.push({
      kind: "sound",
      label: t("Use this sound"),
      icon: "volume-on",
      href: `/upload?sound=${encodeURIComponent(sound.id)}`,
      allowed: video.can_use_sound === true && sound.available,
      reason: sound.available
        ? t("The creator doesn't allow others to use this video's sound.")
        : t("This sound isn't available. It can no longer be used."),
    });
  }
  const show = (reason) => {
    note.textContent = reason;
    note.hidden = !reason;
  };
  const nodes = options.map((option) => {
    const content = [el("span", { className: "share-option-icon" }, icon(option.icon)), el("span", {}, option.label)];
    const testid = `remix-${option.kind}`;
    if (option.allowed) return el("a", { className: "share-option remix-option", href: option.href, "data-testid": testid }, ...content);
    const button = el("button", {
      type: "button",
      className: "share-option remix-option is-disabled",
      "aria-disabled": "true",
      "aria-describedby": noteId,
      "data-testid": testid,
    }, ...content);
    button.addEventListener("focus", () => show(option.reason));
    button.addEventListener("blur", () => show(""));
    button.addEventListener("click", () => show(option.reason));
    return button;
  });
  // The reason is in the document from the start (hidden), so a screen reader reads it with the button.
  return el("div", { className: "remix-row", "data-testid": "remix-row" },
    el("div", { className: "remix-options" }, ...nodes), note);
}

class ShareSheet {
  constructor() {
    this.video = null;
    this.trigger = null;
    this.actions = null;
    this.generation = 0;
    this.busy = false;
    this.loading = false;
    this.signedIn = viewer() !== null;

    this.closeButton = el("button", { type: "button", className: "icon-btn comments-close", "aria-label": t("Close share") }, icon("close"));
    this.closeButton.addEventListener("click", () => this.close());
    this.copyButton = el("button", { type: "button", className: "share-option", "data-testid": "share-copy-link" },
      el("span", { className: "share-option-icon" }, icon("share")), el("span", {}, t("Copy link")));
    this.copyButton.addEventListener("click", () => this.copyLink());
    this.reportButton = el("button", { type: "button", className: "share-option", "data-testid": "share-report" },
      el("span", { className: "share-option-icon" }, icon("alert")), el("span", {}, t("Report")));
    this.reportButton.addEventListener("click", () => this.report());
    // Only where the creator allows downloads (the card's can_download); the file carries their @handle.
    this.downloadButton = el("button", { type: "button", className: "share-option", "data-testid": "share-download", hidden: true },
      el("span", { className: "share-option-icon" }, icon("download")), el("span", {}, t("Download")));
    this.downloadButton.addEventListener("click", () => this.download());

    this.root = el("aside", {
      className: "comments share-sheet",
      id: "share-sheet",
      "data-testid": "share-sheet",
      role: "dialog",
      "aria-modal": "false",
      "aria-labelledby": "share-title",
      tabindex: "-1",
    },
    el("header", { className: "comments-head" }, el("h2", { id: "share-title", className: "comments-title" }, t("Share")), this.closeButton),
    this.signedIn ? this.buildSendTo() : null,
    this.remixBox = el("div", { className: "share-remix", "data-testid": "share-remix" }),
    el("div", { className: "share-foot" }, this.copyButton, this.downloadButton, this.reportButton));
    this.scrim = el("div", { className: "scrim share-scrim", hidden: true });
    this.scrim.addEventListener("click", () => this.close());
    document.body.append(this.root, this.scrim);

    // Keys typed in the sheet are not feed shortcuts; Escape closes it wherever focus is, before the
    // comments drawer (which closes on Escape too) or the feed sees the key.
    this.root.addEventListener("keydown", (event) => event.stopPropagation());
    closeOnEscape(this);
  }

  /** The "Send to" part: a @handle field with its button, an optional note, and recent conversations. */
  buildSendTo() {
    this.handleInput = el("input", {
      type: "text",
      id: "share-handle",
      name: "handle",
      "data-testid": "share-handle",
      placeholder: t("@handle"),
      autocomplete: "off",
      autocapitalize: "none",
      spellcheck: "false",
      enterkeyhint: "send",
      maxlength: "40",
    });
    this.handleSend = el("button", { type: "submit", className: "btn btn-primary", "data-testid": "share-handle-send" }, t("Send"));
    this.handleForm = el("form", { className: "share-to", novalidate: true },
      el("label", { className: "sr-only", htmlFor: "share-handle" }, t("Send to a @handle, or find a recent conversation")),
      this.handleInput, this.handleSend);
    this.handleForm.addEventListener("submit", (event) => {
      event.preventDefault();
      const handle = typedHandle(this.handleInput.value);
      if (!handle) {
        toast(t("Type the @handle of who it is for."), { kind: "error" });
        this.handleInput.focus();
        return;
      }
      this.send({ handle });
    });
    this.handleInput.addEventListener("input", () => this.filter());

    this.noteInput = el("input", {
      type: "text",
      id: "share-note",
      name: "note",
      className: "share-note",
      "data-testid": "share-note",
      placeholder: t("Add a note (optional)"),
      autocomplete: "off",
      maxlength: String(NOTE_MAX),
    });
    this.list = el("ul", { className: "share-list", "data-testid": "share-conversations", "aria-label": t("Recent conversations") });
    this.state = el("p", { className: "comments-state share-state", role: "status" });
    return el("div", { className: "comments-scroll share-scroll" },
      el("h3", { className: "share-heading" }, t("Send to")),
      this.handleForm,
      el("label", { className: "sr-only", htmlFor: "share-note" }, t("Note")),
      this.noteInput,
      this.list,
      this.state);
  }

  get isOpen() {
    return this.root.classList.contains("is-open");
  }

  /**
   * Opens the sheet on `video`.
   * @param trigger the share button: focus goes back to it on closing
   * @param actions.copyLink copies the link (and counts the share)
   * @param actions.shared counts the share, once a send went through
   */
  open(video, trigger, actions) {
    if (!this.video || this.video.id !== video.id) {
      if (this.noteInput) this.noteInput.value = "";
    }
    this.video = video;
    this.trigger = trigger || null;
    this.actions = actions;
    const me = viewer();
    this.reportButton.hidden = Boolean(me && video.creator && video.creator.id === me.id);
    this.downloadButton.hidden = video.can_download !== true;
    // Remixes take a published video only (the API's can_* say so too).
    this.remixBox.replaceChildren(...(video.status === "ready" ? [remixRow(video)] : []));
    this.remixBox.hidden = video.status !== "ready";
    if (this.signedIn) {
      this.handleInput.value = "";
      this.load();
    }
    this.root.classList.add("is-open");
    this.scrim.hidden = false;
    requestAnimationFrame(() => (this.closeButton.offsetParent ? this.closeButton : this.root).focus({ preventScroll: true }));
  }

  close() {
    if (!this.isOpen) return;
    this.root.classList.remove("is-open");
    this.scrim.hidden = true;
    if (this.trigger && document.contains(this.trigger)) this.trigger.focus({ preventScroll: true });
  }

  setState(text, { retry = false } = {}) {
    this.state.replaceChildren();
    if (text) this.state.append(text);
    if (retry) {
      const button = el("button", { type: "button", className: "btn btn-ghost btn-sm" }, t("Try again"));
      button.addEventListener("click", () => this.load());
      this.state.append(" ", button);
    }
    this.state.hidden = !text;
  }

  /** The viewer's recent conversations, afresh at each opening. */
  async load() {
    this.generation += 1;
    const generation = this.generation;
    this.list.replaceChildren();
    this.loading = true;
    this.setState(t("Loading conversations…"));
    try {
      const page = await api("GET", `/api/v1/conversations${query({ limit: RECENT })}`);
      if (generation !== this.generation) return;
      this.loading = false;
      const conversations = (page.items || []).filter((c) => c.members && c.members.length > 0);
      this.list.replaceChildren(...conversations.map((c) => this.renderConversation(c)));
      this.filter();
    } catch (error) {
      if (generation !== this.generation) return;
      this.loading = false;
      if (error instanceof ApiError && error.status === 401) {
        reportError(error);
        return;
      }
      this.setState(error instanceof ApiError ? t("Couldn’t load your conversations: {detail}", { detail: error.detail }) : t("Couldn’t load your conversations."), { retry: true });
    }
  }

  renderConversation(conversation) {
    const { members } = conversation;
    const handles = handlesOf(members);
    const search = members.map((m) => `${m.user.handle}\n${m.user.display_name || ""}`).join("\n").toLowerCase();
    const button = el("button", {
      type: "button",
      className: "share-target",
      "data-testid": "share-conversation",
      "data-conversation-id": conversation.id,
      "aria-label": t("Send to {handles}", { handles }),
    },
    avatarNode(members[0].user, "md"),
    el("span", { className: "share-target-text" },
      el("span", { className: "share-target-name" }, namesOf(members)),
      el("span", { className: "share-target-handle" }, handles)),
    el("span", { className: "share-target-send", "aria-hidden": "true" }, t("Send")));
    button.addEventListener("click", () => this.send({ conversation }));
    return el("li", { className: "share-item", dataset: { search } }, button);
  }

  /** Narrows the recent conversations to those matching what is typed in the handle field. */
  filter() {
    const typed = typedHandle(this.handleInput.value);
    let shown = 0;
    for (const item of this.list.children) {
      item.hidden = Boolean(typed) && !item.dataset.search.includes(typed);
      if (!item.hidden) shown += 1;
    }
    if (this.loading) return; // "Loading conversations…" stays until they are here
    if (!this.list.children.length) this.setState(t("No conversations yet. Type a @handle to send it to someone."));
    else if (!shown) this.setState(t("No recent conversation with “{typed}”. Send starts one.", { typed }));
    else this.setState("");
  }

  setBusy(busy) {
    this.busy = busy;
    this.root.classList.toggle("is-busy", busy);
    this.root.setAttribute("aria-busy", String(busy));
    this.handleSend.disabled = busy;
    for (const button of this.list.querySelectorAll("button")) button.disabled = busy;
  }

  /** Sends the video, with the note if any, to `{ conversation }` or to `{ handle }` (a direct conversation). */
  async send(target) {
    if (this.busy || !this.video) return;
    const { video, actions } = this;
    const message = { body: this.noteInput.value.trim(), video_id: video.id, client_key: clientKey() };
    this.setBusy(true);
    try {
      let to;
      if (target.conversation) {
        await postMessage(target.conversation.id, message);
        to = handlesOf(target.conversation.members);
      } else {
        const conversation = await api("POST", "/api/v1/conversations", { handles: [target.handle], message });
        to = handlesOf(conversation && conversation.members) || `@${target.handle}`;
      }
      toast(t("Sent to {handles}", { handles: to }), { kind: "ok" });
      if (this.video === video) {
        this.noteInput.value = "";
        this.handleInput.value = "";
        this.close();
      }
      if (actions && actions.shared) actions.shared();
    } catch (error) {
      reportError(error, t("The video was not sent. Try again."));
    } finally {
      this.setBusy(false);
    }
  }

  /** The report sheet on this video; focus comes back to the share button when it closes. */
  report() {
    const { video, trigger } = this;
    this.close();
    if (!video) return;
    const handle = video.creator && video.creator.handle;
    openReport({ type: "video", id: video.id, label: handle ? t("Video by @{handle}", { handle }) : t("Video"), trigger });
  }

  /** The watermarked file, once the server has made it (download.js). */
  download() {
    const { video } = this;
    this.close();
    if (video) downloadVideo(video);
  }

  async copyLink() {
    const { actions } = this;
    this.close();
    if (actions && actions.copyLink) await actions.copyLink();
  }
}

let sheet = null;

/** The page's share sheet (made on first use). */
export function shareSheet() {
  if (!sheet) sheet = new ShareSheet();
  return sheet;
}
