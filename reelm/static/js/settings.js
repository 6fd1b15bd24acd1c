// The settings page's "Your reports": what the viewer reported (GET /api/v1/reports), why, when, where it
// stands and, once decided, the outcome. A decision to take no action can be appealed within six months
// (DSA Art. 20, POST /api/v1/reports/{id}/appeals) from a small form under the report; Escape or Cancel
// closes it and focus goes back to "Appeal the decision". The server checks everything; its problem details
// show in the form, the reason beside its field, and what was typed stays. Everything from the server goes
// in as text; every word of ours goes through t() (i18n.js).

import { ApiError, api, el, reportError } from "./api.js";
import { formatDateTime, formatNumber, t } from "./i18n.js";
import { REASONS, sentence } from "./report.js";

// As the server's limit (reelm/moderation/appeals.py): MAX_REASON.
const REASON_MAX = 2000;
// As the server's appeal period (reelm/moderation/statements.py): APPEAL_MONTHS after the decision.
const APPEAL_MONTHS = 6;

const REASON_LABELS = new Map(REASONS.map(([label, category]) => [category, label]));
// What was reported, with its id: one message per kind, so that each can be worded (and inflected) apart.
const CONTENT_TYPES = {
  video: (id) => t("Video {id}", { id }),
  comment: (id) => t("Comment {id}", { id }),
  account: (id) => t("Account {id}", { id }),
  message: (id) => t("Message {id}", { id }),
};
// A report's status, as the reporter reads it.
const STATUSES = { received: t("Received"), decided: t("Decided") };
// The decision's action (reelm/moderation/models.py, Action), as the reporter reads it.
const OUTCOMES = {
  no_action: t("No action taken"),
  label: t("Labelled"),
  age_restrict: t("Restricted to adults"),
  demote: t("Shown to fewer people"),
  geo_restrict: t("Not shown in some regions"),
  remove: t("Removed"),
  suspend: t("Account suspended"),
  hold: t("Held for review"),
  block: t("Blocked"),
};

/** "STATEMENT_CATEGORY_ANIMAL_WELFARE" -> "Animal welfare", "age_restrict" -> "Age restrict". */
function humanize(value) {
  const words = String(value || "").replace(/^STATEMENT_CATEGORY_/, "").replace(/_/g, " ").trim().toLowerCase();
  return words ? words[0].toUpperCase() + words.slice(1) : t("Unknown");
}

function reasonLabel(category) {
  return REASON_LABELS.get(category) || humanize(category);
}

/** A moment in the page's language, as a <time>. */
function dateTime(iso) {
  return el("time", { datetime: iso }, formatDateTime(iso) || String(iso || ""));
}

/** A translated message whose {placeholders} are nodes: t("Until {when}.") with { when: <time> }. */
function withNodes(text, nodes) {
  return text.split(/\{(\w+)\}/).map((part, index) => (index % 2 ? nodes[part] ?? `{${part}}` : part)).filter((part) => part !== "");
}

// What became of an appeal (reelm/moderation/models.py AppealState).
const APPEAL_STATES = {
  open: t("Appealed · waiting for a second review"),
  upheld: t("Appealed · decision kept"),
  reversed: t("Appealed · decision changed"),
};

/** The last moment an appeal is taken, as the server counts it (the same day, six months on). */
function appealDeadline(decidedAt) {
  const decided = new Date(decidedAt);
  if (Number.isNaN(decided.getTime())) return null;
  const deadline = new Date(decided);
  deadline.setUTCDate(1);
  deadline.setUTCMonth(deadline.getUTCMonth() + APPEAL_MONTHS);
  const lastDay = new Date(Date.UTC(deadline.getUTCFullYear(), deadline.getUTCMonth() + 1, 0)).getUTCDate();
  deadline.setUTCDate(Math.min(decided.getUTCDate(), lastDay));
  return deadline;
}

/** One report: what, why, when, where it stands; with the appeal form when its outcome can be appealed. */
class ReportItem {
  constructor(report) {
    this.report = report;
    this.busy = false;
    const key = String(report.id).replace(/[^A-Za-z0-9_-]/g, "");
    this.ids = {
      title: `my-report-${key}-title`,
      form: `my-report-${key}-appeal`,
      reason: `my-report-${key}-reason`,
      hint: `my-report-${key}-reason-hint`,
      error: `my-report-${key}-reason-error`,
    };

    const named = CONTENT_TYPES[report.content_type];
    const label = named
      ? named(report.content_id)
      : t("{kind} {id}", { kind: humanize(report.content_type), id: report.content_id });
    const what = report.content_type === "video"
      ? el("a", { href: `/v/${encodeURIComponent(report.content_id)}`, "data-testid": "my-report-link" }, label)
      : label;
    const decided = report.status === "decided";
    const facts = el("dl", { className: "facts my-report-facts" },
      el("dt", {}, t("Reason")), el("dd", { "data-testid": "my-report-reason" }, reasonLabel(report.category)),
      el("dt", {}, t("Filed")), el("dd", { "data-testid": "my-report-filed" }, dateTime(report.received_at)),
      el("dt", {}, t("Status")), el("dd", {},
        el("span", { className: `my-report-status is-${decided ? "decided" : "received"}`, "data-testid": "my-report-status" },
          STATUSES[report.status] || humanize(report.status)),
        decided && report.decided_at ? el("span", { className: "muted" }, " · ", dateTime(report.decided_at)) : null));
    if (decided && report.outcome) {
      facts.append(el("dt", {}, t("Outcome")), el("dd", { "data-testid": "my-report-outcome" }, OUTCOMES[report.outcome] || humanize(report.outcome)));
    }

    this.root = el("li", { className: "my-report", "data-testid": "my-report", "data-report-id": report.id, "aria-labelledby": this.ids.title },
      el("h3", { className: "my-report-title", id: this.ids.title, "data-testid": "my-report-what" }, what),
      facts);
    if (report.appeal_state) {
      this.root.append(el("p", { className: "muted my-report-note", "data-testid": "my-report-appeal-state" },
        APPEAL_STATES[report.appeal_state] || t("Appealed · {state}", { state: report.appeal_state })));
    } else if (decided && report.outcome === "no_action") {
      this.root.append(this.appealPart());
    }
  }

  /** "Appeal the decision" and its form, or a note that the period is over. */
  appealPart() {
    const deadline = appealDeadline(this.report.decided_at);
    if (deadline && Date.now() > deadline.getTime()) {
      return el("p", { className: "muted my-report-note", "data-testid": "my-report-appeal-closed" }, t("The six months to appeal this decision are over."));
    }
    this.appealButton = el("button", {
      type: "button",
      className: "btn btn-secondary btn-sm",
      "data-testid": "my-report-appeal",
      "aria-expanded": "false",
      "aria-controls": this.ids.form,
      "aria-describedby": this.ids.title,
    }, t("Appeal the decision"));
    this.appealButton.addEventListener("click", () => this.openForm());
    const until = deadline
      ? el("p", { className: "field-hint my-report-note" },
        ...withNodes(t("You can ask for another look until {when}."), { when: dateTime(deadline.toISOString()) }))
      : null;

    this.reason = el("textarea", {
      id: this.ids.reason,
      name: "reason",
      rows: "3",
      maxlength: String(REASON_MAX),
      "aria-required": "true",
      "aria-describedby": `${this.ids.hint} ${this.ids.error}`,
      "data-testid": "appeal-reason",
      placeholder: t("What did the decision get wrong?"),
    });
    this.counter = el("span", { className: "counter" });
    this.reasonError = el("p", { className: "report-field-error", id: this.ids.error, role: "alert", "data-testid": "appeal-reason-error", hidden: true });
    this.formError = el("p", { className: "report-error", role: "alert", "data-testid": "appeal-error", hidden: true });
    this.cancelButton = el("button", { type: "button", className: "btn btn-secondary btn-sm", "data-testid": "appeal-cancel" }, t("Cancel"));
    this.submitButton = el("button", { type: "submit", className: "btn btn-primary btn-sm", "data-testid": "appeal-submit" }, t("Submit"));
    this.form = el("form", {
      className: "appeal-form",
      id: this.ids.form,
      novalidate: true,
      hidden: true,
      "aria-label": t("Appeal the decision"),
      "data-testid": "appeal-form",
    },
    el("div", { className: "field" },
      el("label", { htmlFor: this.ids.reason }, t("Why should we look again?")),
      this.reason,
      el("p", { className: "field-hint", id: this.ids.hint }, t("Required. A reviewer other than the one who decided reads it."), " ", this.counter),
      this.reasonError),
    this.formError,
    el("div", { className: "appeal-actions" }, this.cancelButton, this.submitButton));

    this.reason.addEventListener("input", () => {
      this.clearErrors();
      this.renderCounter();
    });
    this.cancelButton.addEventListener("click", () => this.closeForm());
    this.form.addEventListener("keydown", (event) => {
      if (event.key !== "Escape") return;
      event.preventDefault();
      event.stopPropagation();
      this.closeForm();
    });
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
    this.renderCounter();

    this.appeal = el("div", { className: "my-report-appeal" }, this.appealButton, until, this.form);
    return this.appeal;
  }

  renderCounter() {
    const used = this.reason.value.length;
    this.counter.textContent = `${formatNumber(used)}/${formatNumber(REASON_MAX)}`;
    this.counter.classList.toggle("is-near", used > REASON_MAX * 0.9);
  }

  openForm() {
    this.form.hidden = false;
    this.appealButton.hidden = true;
    this.appealButton.setAttribute("aria-expanded", "true");
    this.reason.focus();
  }

  /** Closes the form; what was typed stays for the next opening. */
  closeForm() {
    if (this.busy) return;
    this.clearErrors();
    this.form.hidden = true;
    this.appealButton.hidden = false;
    this.appealButton.setAttribute("aria-expanded", "false");
    this.appealButton.focus();
  }

  clearErrors() {
    this.reasonError.textContent = "";
    this.reasonError.hidden = true;
    this.reason.removeAttribute("aria-invalid");
    this.formError.textContent = "";
    this.formError.hidden = true;
  }

  /** A refused appeal in the form: the reason's error beside it, anything else below it. */
  showProblem(error) {
    const problem = error.problem || {};
    const errors = error.status === 422 && Array.isArray(problem.errors) ? problem.errors : [];
    const mine = errors.filter((item) => item && item.field === "reason" && typeof item.message === "string");
    if (mine.length) {
      this.reasonError.textContent = sentence(mine[0].message);
      this.reasonError.hidden = false;
      this.reason.setAttribute("aria-invalid", "true");
      this.reason.focus();
    }
    if (mine.length < errors.length || errors.length === 0) {
      this.formError.textContent = error.detail;
      this.formError.hidden = false;
    }
  }

  setBusy(busy) {
    this.busy = busy;
    this.form.setAttribute("aria-busy", String(busy));
    this.form.classList.toggle("is-busy", busy);
    this.submitButton.disabled = busy;
    this.cancelButton.disabled = busy;
    this.submitButton.textContent = busy ? t("Sending…") : t("Submit");
  }

  async submit() {
    if (this.busy) return;
    this.clearErrors();
    this.setBusy(true);
    let appeal;
    try {
      appeal = await api("POST", `/api/v1/reports/${encodeURIComponent(this.report.id)}/appeals`, { reason: this.reason.value });
    } catch (error) {
      if (!(error instanceof ApiError) || error.status === 401) reportError(error, t("The appeal was not sent. Try again."));
      else this.showProblem(error);
      return;
    } finally {
      this.setBusy(false);
    }
    this.showFiled(appeal || {});
  }

  /** The appeal went through: the form gives way to what happens next. */
  showFiled(appeal) {
    const done = el("p", { className: "alert alert-ok my-report-appealed", role: "status", tabindex: "-1", "data-testid": "my-report-appealed" },
      ...(appeal.created_at
        ? withNodes(t("Appeal filed on {when}."), { when: dateTime(appeal.created_at) })
        : [t("Appeal filed.")]),
      " ",
      t("A reviewer other than the one who decided will look at it again."));
    if (appeal.id) done.dataset.appealId = appeal.id;
    this.appeal.replaceChildren(done);
    done.focus({ preventScroll: false });
  }
}

/** The "Your reports" section: loaded once, with the page. */
class MyReports {
  constructor(root) {
    this.root = root;
    this.state = root.querySelector("[data-my-reports-state]") || el("p", { className: "muted" });
  }

  setState(...children) {
    this.state.replaceChildren(...children);
    this.state.hidden = children.length === 0;
  }

  async load() {
    this.root.setAttribute("aria-busy", "true");
    this.setState(t("Loading your reports…"));
    let list;
    try {
      list = await api("GET", "/api/v1/reports");
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) {
        reportError(error);
        return;
      }
      const retry = el("button", { type: "button", className: "btn btn-secondary btn-sm", "data-testid": "my-reports-retry" }, t("Try again"));
      retry.addEventListener("click", () => this.load());
      this.setState(el("span", { className: "report-error my-reports-error", role: "alert" },
        error instanceof ApiError ? error.detail : t("Your reports could not be loaded.")), " ", retry);
      if (!(error instanceof ApiError)) console.error(error);
      return;
    } finally {
      this.root.setAttribute("aria-busy", "false");
    }
    this.render(Array.isArray(list && list.items) ? list.items : []);
  }

  render(reports) {
    for (const old of this.root.querySelectorAll(".my-reports-list")) old.remove();
    if (!reports.length) {
      this.setState(el("span", { "data-testid": "my-reports-empty" }, t("You have not reported anything.")));
      return;
    }
    this.setState();
    const items = reports.map((report) => new ReportItem(report).root);
    this.root.append(el("ul", { className: "my-reports-list", "data-testid": "my-reports-list", "aria-labelledby": "reports-title" }, ...items));
  }
}

const section = document.querySelector("[data-testid='my-reports']");
if (section) new MyReports(section).load();
