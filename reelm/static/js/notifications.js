// The notifications page: opening an unread one marks it read; new ones announce themselves.

import { api } from "./api.js";

const list = document.querySelector('[data-testid="notification-list"]');
const fresh = document.querySelector('[data-testid="notifications-fresh"]');

function unreadShown() {
  return document.querySelectorAll('[data-testid="notification"][data-read="false"]').length;
}

if (list) {
  list.addEventListener("click", async (event) => {
    const link = event.target.closest("a.notification-link");
    const item = link && link.closest('[data-testid="notification"]');
    if (!item || item.dataset.read === "true" || event.metaKey || event.ctrlKey || event.shiftKey) return;
    // Marked before leaving: a request still in flight when the page goes may never arrive.
    event.preventDefault();
    item.dataset.read = "true";
    item.classList.remove("is-unread");
    try {
      await api("POST", `/notifications/${encodeURIComponent(item.dataset.id)}/read`);
    } catch {
      // it stays unread; following the link matters more
    }
    location.assign(link.href);
  });
}

// The badges module reads the counts after every change; more unread than shown means new ones.
document.addEventListener("reelm:unread", (event) => {
  if (fresh && event.detail.notifications > unreadShown()) fresh.hidden = false;
});
