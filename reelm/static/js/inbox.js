// The inbox: the conversation list (messages and requests), one open conversation with its history,
// the composer, a dialog to start a conversation, and small forms to name a group and add people to it.
// Everything user-written is set as text, never as HTML.
//
// Each conversation numbers its events; the open conversation remembers `through`, the last number it
// holds. A live event with the next number is applied; an older one is a duplicate and dropped; a
// newer one means something was missed, which is fetched first. So the view is complete and in order
// whether events come over the live connection, from a catch-up after reconnecting, or from polling.

import { ApiError, api, avatarNode, el, query, relativeTime, reportError, toast } from "./api.js";
import { formatDateTime, locale, t, tn } from "./i18n.js";
import { icon } from "./icons.js";
import { live } from "./live.js";
import { openReport } from "./report.js";

const PAGE = 30;
const POLL_MS = 3000;
const TYPING_SHOWN_MS = 4000;
const TYPING_SENT_EVERY_MS = 2500;
const MAX_TITLE_CHARS = 80; // as the server's (reelm.messages.policy)
const EMOJI = ["😀", "😂", "🥹", "😍", "😎", "🤔", "😭", "😡", "👍", "👏", "🙏", "🔥", "🎉", "❤️", "💯", "👀"];
// A Reelm video address on its own in a message is sent as a shared video.
const VIDEO_LINK = /(?:^|\s)(?:https?:\/\/[^\s/]+)?\/v\/(\d{1,19})(?=\s|$)/;

const root = document.getElementById("inbox");
const me = document.body.dataset.viewerId;
const listNode = root.querySelector('[data-testid="conversation-list"]');
const emptyNode = root.querySelector('[data-testid="inbox-empty"]');
const moreButton = root.querySelector('[data-testid="more-conversations"]');
const modeNode = root.querySelector('[data-testid="live-mode"]');
const tabs = [...root.querySelectorAll(".inbox-tab")];
const threadNode = root.querySelector('[data-testid="thread"]');
const titleNode = root.querySelector('[data-testid="thread-title"]');
const membersNode = root.querySelector('[data-testid="thread-members"]');
const statusNode = root.querySelector('[data-testid="typing"]');
const requestBar = root.querySelector('[data-testid="request-bar"]');
const scroller = root.querySelector('[data-testid="thread-scroll"]');
const sentinel = root.querySelector(".thread-sentinel");
const startNote = root.querySelector(".thread-start");
const messageList = root.querySelector('[data-testid="message-list"]');
const seenNode = root.querySelector('[data-testid="seen"]');
const form = root.querySelector('[data-testid="message-form"]');
const input = root.querySelector('[data-testid="message-input"]');
const sendButton = root.querySelector('[data-testid="message-send"]');
const formError = root.querySelector('[data-testid="message-error"]');
const emojiRow = root.querySelector('[data-testid="emoji-row"]');
const emojiToggle = root.querySelector('[data-testid="emoji-toggle"]');
const dialog = root.querySelector('[data-testid="new-message-dialog"]');

const state = {
  folder: "inbox",
  conversations: new Map(), // id -> conversation (as the API returns it)
  nextCursor: null,
  open: null, // the open conversation
  through: 0, // the last event number the open conversation holds
  oldest: null, // the smallest message number shown (for scrolling back)
  hasOlder: false,
  shown: new Map(), // message number -> { node: <li>, message }
  catchingUp: null, // a promise while missed events are being fetched
  typingTimer: null,
  lastTypingSent: 0,
  readSent: 0,
  pollTimer: null,
};

// ---- small helpers ---------------------------------------------------------------------------------

function names(conversation) {
  const members = conversation.members.map((m) => m.user.display_name || `@${m.user.handle}`);
  if (members.length === 0) return t("Just you");
  if (members.length <= 3) return nameList(members);
  const others = members.length - 2;
  return tn("{names} and {count} other", "{names} and {count} others", others, { names: nameList(members.slice(0, 2)) });
}

/** ["Ann", "Bob"] -> "Ann, Bob" in the page's language (its separator and order). */
function nameList(members) {
  try {
    return new Intl.ListFormat(locale, { style: "short", type: "unit" }).format(members);
  } catch {
    return members.join(", ");
  }
}

/** What a conversation is called: a group's title when it has one, else who is in it. */
function conversationName(conversation) {
  return conversation.title || names(conversation);
}

/** "@bob, carol dave" -> ["bob", "carol", "dave"]. */
function parseHandles(text) {
  return text.split(/[\s,]+/).map((h) => h.replace(/^@/, "")).filter(Boolean);
}

function preview(message) {
  if (!message) return t("No messages yet");
  const mine = message.sender.id === me;
  if (message.unsent) return mine ? t("You: Message unsent") : t("Message unsent");
  if (message.body) return mine ? t("You: {message}", { message: message.body }) : message.body;
  return mine ? t("You: Shared a video") : t("Shared a video");
}

function clientKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

function nearBottom() {
  return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
}

function scrollToBottom() {
  scroller.scrollTop = scroller.scrollHeight;
}

function conversationUrl(id) {
  return id ? `/inbox/${encodeURIComponent(id)}` : "/inbox";
}

// ---- the conversation list ---------------------------------------------------------------------------

function conversationItem(conversation) {
  const unread = conversation.unread > 0;
  const first = conversation.members[0] ? conversation.members[0].user : null;
  const link = el(
    "a",
    {
      className: "conversation-link",
      href: conversationUrl(conversation.id),
      onclick: (event) => {
        if (event.metaKey || event.ctrlKey || event.shiftKey) return;
        event.preventDefault();
        openConversation(conversation.id, { push: true });
      },
    },
    avatarNode(first, "lg"),
    el(
      "span",
      { className: "conversation-text" },
      el("span", { className: "conversation-name", text: conversationName(conversation) }),
      el("span", { className: "conversation-preview", text: preview(conversation.last_message) }),
    ),
    el(
      "span",
      { className: "conversation-meta" },
      el("time", { className: "conversation-time", datetime: conversation.last_message_at, text: relativeTime(conversation.last_message_at) }),
      unread ? el("span", { className: "count-pill", dataset: { testid: "unread" }, text: String(conversation.unread) }) : null,
      conversation.muted ? el("span", { className: "conversation-muted", text: t("Muted") }) : null,
    ),
  );
  return el(
    "li",
    {
      className: `conversation${unread ? " is-unread" : ""}${state.open && state.open.id === conversation.id ? " is-open" : ""}`,
      dataset: { testid: "conversation", id: conversation.id },
    },
    link,
  );
}

function renderList() {
  listNode.replaceChildren(...[...state.conversations.values()].map(conversationItem));
  emptyNode.hidden = state.conversations.size > 0;
  emptyNode.textContent = state.folder === "requests"
    ? t("No message requests. Messages from people you don't follow land here.")
    : t("No conversations yet. Start one with New message.");
  moreButton.hidden = !state.nextCursor;
}

async function loadList({ more = false } = {}) {
  const page = await api("GET", `/conversations${query({ folder: state.folder, limit: 20, cursor: more ? state.nextCursor : null })}`);
  if (!more) state.conversations.clear();
  for (const conversation of page.items) state.conversations.set(conversation.id, conversation);
  state.nextCursor = page.next_cursor;
  renderList();
}

let listTimer = null;
function refreshListSoon() {
  if (listTimer) return;
  listTimer = setTimeout(() => {
    listTimer = null;
    loadList().catch(() => {});
  }, 300);
}

function selectFolder(folder) {
  state.folder = folder;
  for (const tab of tabs) tab.setAttribute("aria-selected", String(tab.dataset.folder === folder));
  listNode.parentElement.setAttribute("aria-labelledby", `tab-${folder}`);
  loadList().catch((error) => reportError(error, t("Could not load your conversations.")));
}

// ---- messages ------------------------------------------------------------------------------------------

const videoCache = new Map();

function videoCard(videoId) {
  const card = el("a", { className: "shared-video", href: `/v/${encodeURIComponent(videoId)}`, dataset: { testid: "shared-video" } },
    icon("play", "icon shared-video-play"), el("span", { className: "shared-video-text", text: t("Video") }));
  if (!videoCache.has(videoId)) videoCache.set(videoId, api("GET", `/videos/${encodeURIComponent(videoId)}`).catch(() => null));
  videoCache.get(videoId).then((video) => {
    if (!video) {
      card.replaceChildren(el("span", { className: "shared-video-text muted", text: t("This video is no longer available.") }));
      card.removeAttribute("href");
      return;
    }
    const parts = [];
    if (video.poster_url) parts.push(el("img", { className: "shared-video-poster", src: video.poster_url, alt: "", loading: "lazy" }));
    parts.push(el("span", { className: "shared-video-text" },
      el("strong", { text: `@${video.creator.handle}` }),
      el("span", { text: video.caption || t("Video") })));
    card.replaceChildren(...parts);
  });
  return card;
}

// Why the recipient's realm did not deliver a message (a conversation with someone of another realm).
const REFUSALS = {
  blocked: () => t("Not delivered: this account can't be messaged."),
  "messages-closed": () => t("Not delivered: they don't accept messages from you."),
  "account-too-new": () => t("Not delivered: new accounts can message only people who follow them."),
  unavailable: () => t("Not delivered: this account is not available."),
};

function messageItem(message) {
  const mine = message.sender.id === me;
  const bubble = el("div", { className: "bubble" });
  if (message.unsent) {
    bubble.classList.add("is-unsent");
    bubble.textContent = mine ? t("You unsent a message") : t("Message unsent");
  } else {
    if (message.video_id) bubble.append(videoCard(message.video_id));
    if (message.body) bubble.append(el("p", { className: "bubble-text", text: message.body }));
  }
  const actions = message.unsent ? null : messageMenu(message, mine);
  const group = state.open && state.open.kind === "group" && !mine
    ? el("span", { className: "message-author", text: message.sender.display_name || `@${message.sender.handle}` })
    : null;
  return el(
    "li",
    {
      className: `message${mine ? " is-mine" : ""}`,
      dataset: { testid: "message", seq: String(message.seq), id: message.id, sender: message.sender.id },
    },
    group,
    bubble,
    message.refusal
      ? el("p", { className: "message-refusal", role: "status", dataset: { testid: "refusal" }, text: (REFUSALS[message.refusal] || REFUSALS.unavailable)() })
      : null,
    el("time", { className: "message-time", datetime: message.created_at, title: formatDateTime(message.created_at), text: relativeTime(message.created_at) }),
    actions,
  );
}

/** A message's actions, in a menu: its "⋯" button shows on hover or focus, a long press opens it on touch. */
function messageMenu(message, mine) {
  const item = (action, testid, label, extra = {}) =>
    el("li", { role: "none" }, el("button", { type: "button", role: "menuitem", tabIndex: -1, className: "message-action", dataset: { action, testid }, text: label, ...extra }));
  const menu = el(
    "ul",
    { className: "message-menu", role: "menu", hidden: true, "aria-label": t("Message actions"), dataset: { testid: "message-menu" } },
    message.body ? item("copy", "copy-message", t("Copy")) : null,
    mine ? item("unsend", "unsend", t("Unsend")) : null,
    item("hide", "delete-for-me", t("Delete for me")),
    // Only someone a message was sent to may report it (reelm.moderation.service, access_reportable).
    mine ? null : item("report", "report-message", t("Report"), {
      className: "message-action message-report",
      "aria-label": t("Report message from @{handle}", { handle: message.sender.handle }),
    }),
  );
  const button = el("button", {
    type: "button",
    className: "message-more",
    "aria-haspopup": "menu",
    "aria-expanded": "false",
    "aria-label": t("Message actions"),
    dataset: { testid: "message-more" },
    text: "⋯",
  });
  return el("div", { className: "message-actions" }, button, menu);
}

let openMenu = null;

function closeMessageMenu({ focus = false } = {}) {
  if (!openMenu) return;
  const { button, menu } = openMenu;
  menu.hidden = true;
  button.setAttribute("aria-expanded", "false");
  openMenu = null;
  if (focus) button.focus();
}

function openMessageMenu(wrap, { focusFirst = true } = {}) {
  closeMessageMenu();
  const button = wrap.querySelector(".message-more");
  const menu = wrap.querySelector(".message-menu");
  menu.hidden = false;
  button.setAttribute("aria-expanded", "true");
  openMenu = { button, menu };
  const first = menu.querySelector('[role="menuitem"]');
  if (focusFirst && first) first.focus();
}

function onMenuKey(event) {
  if (!openMenu || !openMenu.menu.contains(event.target)) return;
  const items = [...openMenu.menu.querySelectorAll('[role="menuitem"]')];
  const at = items.indexOf(event.target);
  if (event.key === "Escape") {
    event.preventDefault();
    event.stopPropagation();
    closeMessageMenu({ focus: true });
  } else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
    event.preventDefault();
    const step = event.key === "ArrowDown" ? 1 : -1;
    items[(at + step + items.length) % items.length].focus();
  } else if (event.key === "Home" || event.key === "End") {
    event.preventDefault();
    items[event.key === "Home" ? 0 : items.length - 1].focus();
  } else if (event.key === "Tab") {
    closeMessageMenu();
  }
}

/** A long press on a message (touch) opens its menu, as a right click would elsewhere. */
function watchLongPress(list) {
  const HOLD_MS = 500;
  let timer = null;
  let start = null;
  const cancel = () => {
    clearTimeout(timer);
    timer = null;
  };
  list.addEventListener("pointerdown", (event) => {
    if (event.pointerType !== "touch") return;
    const node = event.target.closest(".message");
    const wrap = node && node.querySelector(".message-actions");
    if (!wrap || event.target.closest(".message-actions")) return;
    start = [event.clientX, event.clientY];
    cancel();
    timer = setTimeout(() => {
      timer = null;
      openMessageMenu(wrap);
    }, HOLD_MS);
  });
  list.addEventListener("pointermove", (event) => {
    if (timer && start && Math.hypot(event.clientX - start[0], event.clientY - start[1]) > 10) cancel();
  });
  for (const type of ["pointerup", "pointercancel", "pointerleave"]) list.addEventListener(type, cancel);
  list.addEventListener("contextmenu", (event) => {
    if (event.target.closest(".message .bubble")) event.preventDefault(); // the long press is ours
  });
}

function insertMessage(message) {
  if (state.shown.has(message.seq)) return;
  const node = messageItem(message);
  state.shown.set(message.seq, { node, message });
  // Numbers decide the place: history pages arrive older-first, live events newest-last.
  const after = [...messageList.children].find((child) => Number(child.dataset.seq) > message.seq);
  messageList.insertBefore(node, after || null);
  if (state.oldest === null || message.seq < state.oldest) state.oldest = message.seq;
}

/** One numbered event of the open conversation, in order. */
function applyEvent(message) {
  if (message.kind === "unsend") {
    const target = state.shown.get(message.target_seq);
    if (target) {
      const unsent = { ...target.message, unsent: true, body: null, video_id: null };
      const replacement = messageItem(unsent);
      target.node.replaceWith(replacement);
      state.shown.set(message.target_seq, { node: replacement, message: unsent });
    }
  } else {
    insertMessage(message);
  }
  state.through = Math.max(state.through, message.seq);
}

/** A live or polled event: apply it, fetching first whatever came between. */
async function receive(message) {
  if (!state.open || message.conversation_id !== state.open.id) return;
  if (state.catchingUp) await state.catchingUp;
  if (message.seq <= state.through) return; // already held
  const stick = nearBottom() || message.sender.id === me;
  if (message.seq > state.through + 1) {
    await catchUp();
    if (message.seq <= state.through) return;
  }
  applyEvent(message);
  removePending(message);
  showSeen();
  if (stick) scrollToBottom();
  markRead();
}

/** Everything after `through`, page by page (after a gap, a reset, or as a poll). */
function catchUp() {
  if (state.catchingUp) return state.catchingUp;
  const conversation = state.open;
  state.catchingUp = (async () => {
    let more = true;
    while (more && state.open === conversation) {
      const page = await api("GET", `/conversations/${conversation.id}/messages${query({ after_seq: state.through, limit: 100 })}`);
      if (state.open !== conversation) return;
      for (const message of page.items) applyEvent(message);
      state.through = Math.max(state.through, page.through_seq);
      more = page.has_more;
    }
  })().finally(() => {
    state.catchingUp = null;
  });
  return state.catchingUp;
}

async function loadOlder() {
  if (!state.open || !state.hasOlder || state.loadingOlder) return;
  state.loadingOlder = true;
  const conversation = state.open;
  try {
    const page = await api("GET", `/conversations/${conversation.id}/messages${query({ before_seq: state.oldest, limit: PAGE })}`);
    if (state.open !== conversation) return;
    const height = scroller.scrollHeight;
    for (const message of page.items) insertMessage(message);
    scroller.scrollTop += scroller.scrollHeight - height; // keep what the reader was looking at in place
    state.hasOlder = page.has_more;
    startNote.hidden = state.hasOlder;
  } catch (error) {
    reportError(error, t("Could not load older messages."));
  } finally {
    state.loadingOlder = false;
  }
}

// ---- read receipts, "Seen", typing -------------------------------------------------------------------

function markRead() {
  const conversation = state.open;
  if (!conversation || document.visibilityState !== "visible" || state.through <= state.readSent) return;
  if (state.through <= conversation.last_read_seq) return;
  state.readSent = state.through;
  conversation.last_read_seq = state.through;
  api("POST", `/conversations/${conversation.id}/read`, { seq: state.through }).catch(() => {
    state.readSent = 0;
  });
}

/** "Seen" under the conversation when its last message is the viewer's and the others read it. */
function showSeen() {
  const conversation = state.open;
  const last = messageList.lastElementChild;
  if (!conversation || !last || !last.classList.contains("is-mine")) {
    seenNode.hidden = true;
    return;
  }
  const seq = Number(last.dataset.seq);
  const readers = conversation.members.filter((m) => m.last_read_seq !== null && m.last_read_seq >= seq);
  seenNode.hidden = readers.length === 0;
  seenNode.textContent = conversation.kind === "group" ? tn("Seen by {count}", "Seen by {count}", readers.length) : t("Seen");
}

function onRead(frame) {
  const conversation = state.open;
  if (!conversation || frame.conversation_id !== conversation.id) return;
  const member = conversation.members.find((m) => m.user.id === frame.user_id);
  if (member && member.state === "accepted") member.last_read_seq = Math.max(member.last_read_seq || 0, frame.seq);
  showSeen();
}

function onTyping(frame) {
  const conversation = state.open;
  if (!conversation || frame.conversation_id !== conversation.id) return;
  const member = conversation.members.find((m) => m.user.id === frame.user_id);
  if (!member) return;
  statusNode.textContent = t("{name} is typing…", { name: member.user.display_name || `@${member.user.handle}` });
  clearTimeout(state.typingTimer);
  state.typingTimer = setTimeout(() => {
    statusNode.textContent = "";
  }, TYPING_SHOWN_MS);
}

function sendTyping() {
  if (!state.open || state.open.state !== "accepted" || live.mode !== "live") return;
  const now = Date.now();
  if (now - state.lastTypingSent < TYPING_SENT_EVERY_MS) return;
  state.lastTypingSent = now;
  live.send({ type: "typing", conversation_id: state.open.id });
}

// ---- opening a conversation ---------------------------------------------------------------------------

function showThread(show) {
  root.classList.toggle("has-thread", show);
  threadNode.hidden = !show;
}

function renderHeader() {
  const conversation = state.open;
  const group = conversation.kind === "group";
  titleNode.textContent = conversationName(conversation);
  // A named group still says who is in it, on a line of its own.
  membersNode.textContent = conversation.title ? names(conversation) : "";
  membersNode.hidden = !conversation.title;
  statusNode.textContent = "";
  const request = conversation.state === "request";
  requestBar.hidden = !request;
  if (request) requestBar.querySelector(".thread-request-who").textContent = names(conversation);
  const mute = root.querySelector('[data-action="mute"]');
  mute.setAttribute("aria-pressed", String(conversation.muted));
  mute.textContent = conversation.muted ? t("Unmute") : t("Mute");
  root.querySelector('[data-action="block"]').hidden = conversation.kind !== "direct";
  root.querySelector('[data-action="rename"]').hidden = !group;
  // Only someone who accepted the group may bring others in.
  root.querySelector('[data-action="add-people"]').hidden = !group || conversation.state !== "accepted";
  root.querySelector('[data-action="leave"]').textContent = group ? t("Leave") : t("Delete");
  for (const item of listNode.children) item.classList.toggle("is-open", item.dataset.id === conversation.id);
}

async function openConversation(id, { push = false } = {}) {
  if (push) history.pushState({ conversation: id }, "", conversationUrl(id));
  let conversation;
  try {
    conversation = await api("GET", `/conversations/${encodeURIComponent(id)}`);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      toast(t("That conversation is not there any more."), { kind: "error" });
      closeConversation({ push: true });
      return;
    }
    reportError(error, t("Could not open the conversation."));
    return;
  }
  closeGroupForm();
  state.open = conversation;
  state.shown.clear();
  state.oldest = null;
  state.hasOlder = false;
  pendingList.replaceChildren();
  state.readSent = 0;
  messageList.replaceChildren();
  seenNode.hidden = true;
  renderHeader();
  showThread(true);
  const page = await api("GET", `/conversations/${conversation.id}/messages${query({ limit: PAGE })}`);
  if (state.open !== conversation) return;
  state.through = page.through_seq;
  state.hasOlder = page.has_more;
  startNote.hidden = page.has_more;
  for (const message of page.items) insertMessage(message);
  showSeen();
  scrollToBottom();
  markRead();
  input.focus({ preventScroll: true });
  refreshListSoon();
}

function closeConversation({ push = false } = {}) {
  closeGroupForm();
  state.open = null;
  if (push) history.pushState({}, "", "/inbox");
  showThread(false);
  for (const item of listNode.children) item.classList.remove("is-open");
}

// ---- sending ---------------------------------------------------------------------------------------------

function parseComposer(text) {
  const match = VIDEO_LINK.exec(text);
  if (!match) return { body: text.trim(), video_id: null };
  return { body: text.replace(match[0], " ").trim(), video_id: match[1] };
}

function showFormError(message) {
  formError.textContent = message;
  formError.hidden = !message;
}

const pending = new Map(); // client key -> placeholder <li>, shown until the server has the message
const pendingList = el("ol", { className: "message-list pending-list", "aria-hidden": "true" });
messageList.after(pendingList);

function removePending(message) {
  for (const [key, node] of pending) {
    if (node.dataset.body === (message.body || "") && message.sender.id === me) {
      node.remove();
      pending.delete(key);
      return;
    }
  }
}

async function postMessage(conversationId, payload) {
  // Over the live connection when there is one; else (or when it cannot say) over HTTP with the same key,
  // and one retry: if an answer was lost, the server returns the message it already stored.
  if (live.mode === "live") {
    try {
      return await live.sendMessage({ conversation_id: conversationId, ...payload });
    } catch (error) {
      if (error instanceof ApiError) throw error;
    }
  }
  try {
    return await api("POST", `/conversations/${conversationId}/messages`, payload);
  } catch (error) {
    if (error instanceof ApiError && error.status === 0) return api("POST", `/conversations/${conversationId}/messages`, payload);
    throw error;
  }
}

async function send(event) {
  event.preventDefault();
  const conversation = state.open;
  const text = input.value;
  const { body, video_id } = parseComposer(text);
  if (!conversation || (!body && !video_id)) return;
  showFormError("");
  const key = clientKey();
  const placeholder = el("li", { className: "message is-mine is-pending", dataset: { body } },
    el("div", { className: "bubble" }, el("p", { className: "bubble-text", text: body || t("Sharing a video…") })));
  pending.set(key, placeholder);
  pendingList.append(placeholder);
  input.value = "";
  sendButton.disabled = true;
  scrollToBottom();
  try {
    const message = await postMessage(conversation.id, { body, video_id, client_key: key });
    placeholder.remove();
    pending.delete(key);
    if (conversation.state === "request") {
      conversation.state = "accepted"; // replying accepts
      renderHeader();
    }
    await receive(message);
    scrollToBottom();
    refreshListSoon();
  } catch (error) {
    placeholder.remove();
    pending.delete(key);
    input.value = text;
    sendButton.disabled = false;
    showFormError(error instanceof ApiError ? error.detail : t("The message was not sent. Try again."));
  }
}

// ---- actions -----------------------------------------------------------------------------------------------

async function onMessageAction(event) {
  const more = event.target.closest(".message-more");
  if (more) {
    const wrap = more.closest(".message-actions");
    if (openMenu && openMenu.button === more) closeMessageMenu();
    else openMessageMenu(wrap);
    return;
  }
  const button = event.target.closest(".message-action");
  if (!button || !state.open) return;
  const item = button.closest(".message");
  const conversation = state.open;
  closeMessageMenu();
  if (button.dataset.action === "copy") {
    const shown = state.shown.get(Number(item.dataset.seq));
    try {
      await navigator.clipboard.writeText(shown ? shown.message.body || "" : "");
      toast(t("Copied"), { kind: "ok" });
    } catch {
      toast(t("Couldn’t copy the message."), { kind: "error" });
    }
    return;
  }
  if (button.dataset.action === "report") {
    const shown = state.shown.get(Number(item.dataset.seq));
    const sender = shown ? shown.message.sender : null;
    // The menu closes; focus comes back to its "⋯" button when the sheet does.
    const trigger = item.querySelector(".message-more") || button;
    openReport({ type: "message", id: item.dataset.id, label: sender ? t("Message from @{handle}", { handle: sender.handle }) : t("Message"), trigger });
    return;
  }
  try {
    if (button.dataset.action === "unsend") {
      const unsend = await api("POST", `/conversations/${conversation.id}/messages/${item.dataset.id}/unsend`);
      await receive(unsend);
    } else {
      await api("DELETE", `/conversations/${conversation.id}/messages/${item.dataset.id}`);
      removeNode(Number(item.dataset.seq));
    }
    refreshListSoon();
  } catch (error) {
    reportError(error, t("That did not work."));
  }
}

function removeNode(seq) {
  const shown = state.shown.get(seq);
  if (shown) shown.node.remove();
  state.shown.delete(seq);
  showSeen();
}

async function onThreadAction(event) {
  const button = event.target.closest("[data-action]");
  if (!button || !state.open) return;
  const conversation = state.open;
  const base = `/conversations/${conversation.id}`;
  try {
    switch (button.dataset.action) {
      case "accept":
        state.open = Object.assign(conversation, await api("POST", `${base}/accept`));
        renderHeader();
        toast(t("Moved to your messages."), { kind: "ok" });
        break;
      case "mute": {
        const result = await api("PUT", `${base}/mute`, { muted: !conversation.muted });
        conversation.muted = result.muted;
        renderHeader();
        break;
      }
      case "rename":
      case "add-people":
        showGroupForm(button.dataset.action, button);
        return;
      case "block": {
        const other = conversation.members[0].user;
        if (!window.confirm(t("Block @{handle}? They won't be able to message you.", { handle: other.handle }))) return;
        await api("POST", `/users/${encodeURIComponent(other.handle)}/block`);
        toast(t("@{handle} is blocked.", { handle: other.handle }), { kind: "ok" });
        break;
      }
      case "decline":
      case "leave": {
        const question = conversation.kind === "group" ? t("Leave this group?") : t("Delete this conversation for you?");
        if (button.dataset.action === "leave" && !window.confirm(question)) return;
        await api("DELETE", base);
        state.conversations.delete(conversation.id);
        closeConversation({ push: true });
        renderList();
        break;
      }
      default:
        return;
    }
    refreshListSoon();
  } catch (error) {
    reportError(error, t("That did not work."));
  }
}

// ---- starting a conversation -----------------------------------------------------------------------------

function openDialog() {
  const error = dialog.querySelector('[data-testid="new-message-error"]');
  error.hidden = true;
  dialog.showModal();
  dialog.querySelector('[data-testid="new-message-to"]').focus();
}

async function startConversation(event) {
  event.preventDefault();
  const to = dialog.querySelector('[data-testid="new-message-to"]');
  const body = dialog.querySelector('[data-testid="new-message-body"]');
  const error = dialog.querySelector('[data-testid="new-message-error"]');
  const handles = parseHandles(to.value);
  if (handles.length === 0) {
    error.textContent = t("Who is it for? Type a @handle.");
    error.hidden = false;
    return;
  }
  const { body: text, video_id } = parseComposer(body.value);
  const payload = { handles };
  if (text || video_id) payload.message = { body: text, video_id, client_key: clientKey() };
  try {
    const conversation = await api("POST", "/conversations", payload);
    dialog.close();
    to.value = "";
    body.value = "";
    if (state.folder !== "inbox") selectFolder("inbox");
    else refreshListSoon();
    await openConversation(conversation.id, { push: true });
  } catch (failure) {
    error.textContent = failure instanceof ApiError ? failure.detail : t("Could not start the conversation.");
    error.hidden = false;
  }
}

// ---- naming a group, adding people -------------------------------------------------------------------------

// One small form at a time, under the header of the open group: { node, opener }.
let groupForm = null;

function closeGroupForm({ focus = false } = {}) {
  if (!groupForm) return;
  const { node, opener } = groupForm;
  groupForm = null;
  node.remove();
  // Back to the button that opened it; on phones that one is in the closed menu, so to the menu's button.
  if (focus) (opener.offsetParent ? opener : moreToggle).focus();
}

/** The form to rename the open group ("rename") or to add people to it ("add-people"). */
function showGroupForm(kind, opener) {
  closeGroupForm();
  const conversation = state.open;
  const rename = kind === "rename";
  const inputId = `group-form-${kind}`;
  const field = el("input", {
    id: inputId,
    type: "text",
    autocomplete: "off",
    enterkeyhint: rename ? "done" : "go",
    maxLength: rename ? MAX_TITLE_CHARS : 400,
    placeholder: rename ? t("Name this group") : t("@handle, @handle"),
    "aria-describedby": `${inputId}-hint ${inputId}-error`,
    dataset: { testid: rename ? "group-title-input" : "add-people-input" },
  });
  field.value = rename ? conversation.title || "" : "";
  const error = el("p", { className: "composer-error thread-form-error", id: `${inputId}-error`, role: "alert", hidden: true, dataset: { testid: "group-form-error" } });
  const cancel = el("button", { type: "button", className: "btn btn-secondary btn-sm", dataset: { testid: "group-form-cancel" }, text: t("Cancel"), onclick: () => closeGroupForm({ focus: true }) });
  const submit = el("button", { type: "submit", className: "btn btn-primary btn-sm", dataset: { testid: "group-form-submit" }, text: rename ? t("Save") : t("Add") });

  function showError(message) {
    error.textContent = message;
    error.hidden = !message;
  }

  async function onSubmit(event) {
    event.preventDefault();
    if (submit.disabled) return;
    const base = `/conversations/${conversation.id}`;
    let request;
    let done;
    if (rename) {
      const title = field.value.trim();
      if (title === (conversation.title || "")) {
        closeGroupForm({ focus: true });
        return;
      }
      request = ["PATCH", base, { title }];
      done = title ? t("Group renamed.") : t("Group name removed.");
    } else {
      const handles = parseHandles(field.value);
      if (handles.length === 0) {
        showError(t("Who should join? Type a @handle."));
        field.focus();
        return;
      }
      request = ["POST", `${base}/members`, { handles }];
      done = t("Added {names}.", { names: nameList(handles.map((h) => `@${h}`)) });
    }
    showError("");
    submit.disabled = true;
    try {
      const fresh = await api(...request);
      if (state.open && state.open.id === fresh.id) {
        Object.assign(state.open, fresh);
        renderHeader();
        showSeen();
      }
      if (state.conversations.has(fresh.id)) {
        state.conversations.set(fresh.id, fresh);
        renderList();
      }
      if (groupForm && groupForm.node === node) closeGroupForm({ focus: true });
      toast(done, { kind: "ok" });
      refreshListSoon();
    } catch (failure) {
      if (failure instanceof ApiError && failure.status === 401) reportError(failure);
      showError(failure instanceof ApiError ? failure.detail : t("That did not work. Try again."));
      submit.disabled = false;
      field.focus();
    }
  }

  const node = el(
    "form",
    {
      className: "thread-form",
      novalidate: true,
      "aria-label": rename ? t("Rename group") : t("Add people"),
      dataset: { testid: rename ? "rename-form" : "add-people-form" },
      onsubmit: onSubmit,
      onkeydown: (event) => {
        if (event.key !== "Escape") return;
        event.preventDefault();
        closeGroupForm({ focus: true });
      },
    },
    el("label", { className: "thread-form-label", htmlFor: inputId, text: rename ? t("Group name") : t("Add people") }),
    el("div", { className: "thread-form-row" }, field, cancel, submit),
    el("p", {
      className: "field-hint",
      id: `${inputId}-hint`,
      text: rename
        ? t("Everyone in the group sees the name. Leave it empty to remove it.")
        : t("Separate several @handles with spaces or commas. They will see only what is said after they join."),
    }),
    error,
  );
  groupForm = { node, opener };
  threadNode.querySelector(".thread-head").after(node);
  field.focus();
  if (rename) field.select();
}

// ---- live events and polling ------------------------------------------------------------------------------

function onMessageFrame(event) {
  const message = event.detail.message;
  refreshListSoon();
  receive(message).catch(() => {});
}

function startPolling(on) {
  modeNode.textContent = on ? t("Live updates are unavailable; checking for new messages every few seconds.") : "";
  if (on && !state.pollTimer) {
    state.pollTimer = setInterval(() => {
      if (state.open) catchUp().then(() => { showSeen(); markRead(); }).catch(() => {});
      loadList().catch(() => {});
    }, POLL_MS);
  }
  if (!on && state.pollTimer) {
    clearInterval(state.pollTimer);
    state.pollTimer = null;
  }
}

live.addCursors(() => (state.open ? [{ conversation_id: state.open.id, seq: state.through }] : []));
live.addEventListener("message", onMessageFrame);
live.addEventListener("read", (event) => onRead(event.detail));
live.addEventListener("typing", (event) => onTyping(event.detail));
live.addEventListener("hidden", (event) => {
  if (state.open && event.detail.conversation_id === state.open.id) removeNode(event.detail.seq);
  refreshListSoon();
});
live.addEventListener("refused", (event) => {
  const shown = state.open && event.detail.conversation_id === state.open.id ? state.shown.get(event.detail.seq) : null;
  if (shown) {
    // The frame names the message, not the reason: read it back as it now stands.
    api("GET", `/conversations/${state.open.id}/messages?after_seq=${event.detail.seq - 1}&limit=1`).then((page) => {
      const fresh = page.items.find((m) => m.seq === event.detail.seq);
      const current = state.shown.get(event.detail.seq);
      if (!fresh || !current) return;
      const replacement = messageItem(fresh);
      current.node.replaceWith(replacement);
      state.shown.set(fresh.seq, { node: replacement, message: fresh });
    }, () => {});
  }
});
live.addEventListener("conversation", (event) => {
  refreshListSoon();
  if (state.open && event.detail.conversation_id === state.open.id) {
    api("GET", `/conversations/${state.open.id}`).then((fresh) => {
      if (state.open && state.open.id === fresh.id) {
        Object.assign(state.open, fresh);
        renderHeader();
        showSeen();
      }
    }, () => {});
  }
});
live.addEventListener("reset", (event) => {
  if (state.open && event.detail.conversation_id === state.open.id) openConversation(state.open.id);
});
live.addEventListener("ready", () => refreshListSoon()); // after a reconnect the list may be behind
live.addEventListener("mode", (event) => startPolling(event.detail === "polling"));

// ---- wiring ---------------------------------------------------------------------------------------------------

for (const tab of tabs) tab.addEventListener("click", () => selectFolder(tab.dataset.folder));
moreButton.addEventListener("click", () => loadList({ more: true }).catch((error) => reportError(error)));
root.querySelector('[data-testid="new-message"]').addEventListener("click", openDialog);
dialog.querySelector("form").addEventListener("submit", startConversation);
dialog.querySelector('[data-testid="new-message-cancel"]').addEventListener("click", () => dialog.close());
root.querySelector(".thread-back").addEventListener("click", (event) => {
  event.preventDefault();
  closeConversation({ push: true });
});
threadNode.querySelector(".thread-head").addEventListener("click", onThreadAction);
const moreToggle = root.querySelector('[data-testid="thread-more"]');
const actionsMenu = root.querySelector(".thread-actions");
moreToggle.addEventListener("click", () => {
  actionsMenu.hidden = !actionsMenu.hidden;
  moreToggle.setAttribute("aria-expanded", String(!actionsMenu.hidden));
});
actionsMenu.addEventListener("click", () => {
  actionsMenu.hidden = true;
  moreToggle.setAttribute("aria-expanded", "false");
});
requestBar.addEventListener("click", onThreadAction);
messageList.addEventListener("click", onMessageAction);
messageList.addEventListener("keydown", onMenuKey);
watchLongPress(messageList);
document.addEventListener("click", (event) => {
  if (openMenu && !event.target.closest(".message-actions")) closeMessageMenu();
});
form.addEventListener("submit", send);
input.addEventListener("input", () => {
  sendButton.disabled = !input.value.trim();
  input.style.height = "auto";
  input.style.height = `${Math.min(input.scrollHeight, 120)}px`;
  sendTyping();
});
input.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    form.requestSubmit();
  }
});
emojiRow.append(...EMOJI.map((emoji) => el("button", { type: "button", className: "emoji", text: emoji, "aria-label": t("Insert {emoji}", { emoji }) })));
emojiToggle.addEventListener("click", () => {
  emojiRow.hidden = !emojiRow.hidden;
  emojiToggle.setAttribute("aria-expanded", String(!emojiRow.hidden));
});
emojiRow.addEventListener("click", (event) => {
  const button = event.target.closest(".emoji");
  if (!button) return;
  const at = input.selectionStart ?? input.value.length;
  input.setRangeText(button.textContent, at, input.selectionEnd ?? at, "end");
  input.dispatchEvent(new Event("input"));
  input.focus();
});
new IntersectionObserver((entries) => {
  if (entries.some((entry) => entry.isIntersecting)) loadOlder();
}, { root: scroller, rootMargin: "200px 0px 0px 0px" }).observe(sentinel);
document.addEventListener("visibilitychange", markRead);
window.addEventListener("popstate", () => {
  const match = /^\/inbox\/(\d+)$/.exec(location.pathname);
  if (match) openConversation(match[1]);
  else closeConversation();
});

/** /inbox?to=handle (a profile's Message button): the conversation with them if there is one, else a new one. */
async function messageSomeone(handle) {
  history.replaceState(null, "", "/inbox");
  try {
    await loadList();
  } catch {
    // The dialog below still lets them write.
  }
  const wanted = handle.toLowerCase();
  for (const conversation of state.conversations.values()) {
    if (conversation.kind === "direct" && conversation.members.some((m) => m.user.handle.toLowerCase() === wanted)) {
      openConversation(conversation.id, { push: true });
      return;
    }
  }
  openDialog();
  dialog.querySelector('[data-testid="new-message-to"]').value = `@${handle}`;
  dialog.querySelector('[data-testid="new-message-body"]').focus();
}

const messageTo = new URLSearchParams(location.search).get("to");
if (messageTo && /^@?[A-Za-z0-9_.]{1,30}$/.test(messageTo)) messageSomeone(messageTo.replace(/^@/, ""));
else selectFolder("inbox");
live.start();
if (live.mode === "polling") startPolling(true);
if (root.dataset.conversationId) openConversation(root.dataset.conversationId);
