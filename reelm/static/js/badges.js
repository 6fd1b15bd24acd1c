// Unread counts on every page of a logged-in visitor: the Inbox and Notifications badges (and the
// counters of the inbox page), kept current by the live connection, or by polling without it.

import { api, viewer } from "./api.js";
import { live } from "./live.js";
import { tn } from "./i18n.js";

const POLL_MS = 20000;
const SETTLE_MS = 400; // a burst of events costs one request
const CHANGES = ["ready", "message", "read", "conversation", "hidden", "notifications"];

let pending = null;
let polling = null;

function show(name, count) {
  for (const node of document.querySelectorAll(`[data-badge="${name}"]`)) {
    node.textContent = count > 99 ? "99+" : String(count);
    node.hidden = count <= 0;
    node.setAttribute("aria-label", tn("{count} unread", "{count} unread", count));
  }
}

/** Reads the counts now and shows them. */
export async function refreshBadges() {
  let counts;
  try {
    counts = await api("GET", "/me/unread");
  } catch {
    return; // a badge is not worth an error message; the next event or poll tries again
  }
  show("inbox", counts.messages + counts.requests);
  show("messages", counts.messages);
  show("requests", counts.requests);
  show("notifications", counts.notifications);
  document.dispatchEvent(new CustomEvent("reelm:unread", { detail: counts }));
}

function soon() {
  if (pending) return;
  pending = setTimeout(() => {
    pending = null;
    refreshBadges();
  }, SETTLE_MS);
}

function poll(on) {
  if (on && !polling) polling = setInterval(refreshBadges, POLL_MS);
  if (!on && polling) {
    clearInterval(polling);
    polling = null;
  }
}

if (viewer()) {
  for (const type of CHANGES) live.addEventListener(type, soon);
  live.addEventListener("mode", (event) => poll(event.detail === "polling"));
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") soon();
  });
  live.start();
  refreshBadges();
}
