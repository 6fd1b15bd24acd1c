// /studio/drafts: post a draft now, schedule it (a local time, read in this browser's time zone by the
// server), or take its time off. Each action goes through the JSON API; the row then says what happened.

import { ApiError, api, reportError, toast } from "./api.js";
import { t } from "./i18n.js";

const list = document.querySelector('[data-testid="drafts"]');
const maxDays = Number(list?.dataset.maxDays || 30);

/** The browser's IANA time zone ("Europe/Berlin"); the server checks it against the zone database. */
function timeZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  } catch {
    return "UTC";
  }
}

/** "2026-12-10T18:00" for a Date, in local time: what a datetime-local input holds. */
function localValue(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

function rowOf(node) {
  return node.closest('[data-testid="draft"]');
}

function showWhen(row, draft) {
  const when = row.querySelector('[data-testid="draft-when"]');
  const span = document.createElement("span");
  if (draft.publish_at_local) {
    span.dataset.testid = "draft-scheduled";
    span.textContent = t("Scheduled for {when} ({zone})", { when: draft.publish_at_local.replace("T", " "), zone: draft.time_zone });
  } else {
    span.dataset.testid = "draft-unscheduled";
    span.textContent = t("Not scheduled");
  }
  when.replaceChildren(span);
  let cancel = row.querySelector('[data-action="unschedule"]');
  if (draft.publish_at && !cancel) {
    cancel = document.createElement("button");
    cancel.type = "button";
    cancel.className = "btn btn-ghost btn-sm";
    cancel.dataset.action = "unschedule";
    cancel.dataset.testid = "draft-unschedule";
    cancel.textContent = t("Cancel schedule");
    row.querySelector(".draft-actions").append(cancel);
  } else if (!draft.publish_at && cancel) {
    cancel.remove();
  }
}

for (const input of document.querySelectorAll('[data-testid="draft-at"]')) {
  // Bounds the picker offers; the server decides (and says why) for any typed value.
  const now = new Date();
  input.min = localValue(now);
  input.max = localValue(new Date(now.getTime() + maxDays * 86400000));
}

list?.addEventListener("submit", async (event) => {
  const form = event.target.closest('[data-testid="draft-schedule-form"]');
  if (!form) return;
  event.preventDefault();
  const row = rowOf(form);
  const input = form.querySelector('[data-testid="draft-at"]');
  const error = form.querySelector('[data-testid="draft-error"]');
  error.textContent = "";
  input.removeAttribute("aria-invalid");
  if (!input.value) {
    error.textContent = t("Choose a date and time.");
    input.setAttribute("aria-invalid", "true");
    return;
  }
  try {
    const draft = await api("PUT", `/api/v1/videos/${encodeURIComponent(row.dataset.draftId)}/schedule`, {
      publish_at: input.value,
      time_zone: timeZone(),
    });
    showWhen(row, draft);
    toast(t("Scheduled."));
  } catch (failure) {
    if (failure instanceof ApiError && failure.status === 422) {
      error.textContent = failure.detail;
      input.setAttribute("aria-invalid", "true");
    } else {
      reportError(failure);
    }
  }
});

list?.addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-action]");
  if (!button) return;
  const row = rowOf(button);
  const id = encodeURIComponent(row.dataset.draftId);
  button.disabled = true;
  try {
    if (button.dataset.action === "publish") {
      await api("POST", `/api/v1/videos/${id}/publish`);
      row.remove();
      toast(t("Posted."));
      if (!list.querySelector('[data-testid="draft"]')) location.reload();
    } else {
      showWhen(row, await api("DELETE", `/api/v1/videos/${id}/schedule`));
      row.querySelector('[data-testid="draft-at"]').value = "";
    }
  } catch (failure) {
    reportError(failure);
  } finally {
    button.disabled = false;
  }
});
