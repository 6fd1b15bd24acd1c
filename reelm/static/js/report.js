// The report sheet (notice and action, DSA Art. 16): report a video, comment, account or message with a
// reason, what is wrong and, for illegal content, the law it breaks. It has the share sheet's look and
// keyboard (share.js): a bottom sheet on phones, a side drawer on desktops; Escape closes it and focus
// goes back to the button that opened it. The server checks everything (POST /api/v1/reports); its
// problem details are shown in the form, next to the field they concern, and what was typed stays. One
// sheet serves the page, built on first use; everything user-written goes in as text.

import { ApiError, api, closeOnEscape, el, reportError, requireLogin, toast } from "./api.js";
import { t } from "./i18n.js";
import { icon } from "./icons.js";

// As the server's limits (reelm/moderation/reports.py): MAX_EXPLANATION, MAX_LEGAL_GROUND.
const EXPLANATION_MAX = 2000;
const LEGAL_GROUND_MAX = 500;

/** The reasons offered, each with its DSA statement category (reelm/moderation/models.py, Category). */
export const REASONS = [
  [t("Scam or fraud"), "STATEMENT_CATEGORY_SCAMS_AND_FRAUD"],
  [t("Harassment or bullying"), "STATEMENT_CATEGORY_CYBER_VIOLENCE"],
  [t("Hate speech"), "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH"],
  [t("Violence"), "STATEMENT_CATEGORY_VIOLENCE"],
  [t("Self-harm"), "STATEMENT_CATEGORY_SELF_HARM"],
  [t("Child safety"), "STATEMENT_CATEGORY_PROTECTION_OF_MINORS"],
  [t("Privacy violation"), "STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS"],
  [t("Intellectual property"), "STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS"],
  [t("Something else"), "STATEMENT_CATEGORY_OTHER_VIOLATION_TC"],
];

const TITLES = { video: t("Report video"), comment: t("Report comment"), account: t("Report account"), message: t("Report message") };

const FOCUSABLE = "button:not([disabled]), input:not([disabled]), textarea:not([disabled]), [href], [tabindex]:not([tabindex='-1'])";

/** An API detail as one sentence: "must not be empty" -> "Must not be empty." */
export function sentence(text) {
  const trimmed = String(text || "").trim();
  if (!trimmed) return "";
  const first = trimmed[0].toUpperCase() + trimmed.slice(1);
  return /[.!?…]$/.test(first) ? first : `${first}.`;
}

class ReportSheet {
  constructor() {
    this.target = null; // { type, id, label }
    this.trigger = null;
    this.busy = false;

    this.title = el("h2", { id: "report-title", className: "comments-title" }, t("Report"));
    this.closeButton = el("button", { type: "button", className: "icon-btn comments-close", "aria-label": t("Close report") }, icon("close"));
    this.closeButton.addEventListener("click", () => this.close());

    this.subject = el("p", { className: "report-subject", "data-testid": "report-subject" });

    // The reasons: one radio group; the category the server gets is the chosen one's.
    this.categoryError = this.fieldError("report-category-error", "report-category-error");
    this.reasons = REASONS.map(([text, category], index) => el("input", {
      type: "radio",
      name: "report-category",
      id: `report-reason-${index}`,
      value: category,
      "data-testid": "report-reason",
    }));
    const reasonList = el("div", { className: "report-reasons" },
      ...this.reasons.map((input, index) => el("label", { className: "report-reason", htmlFor: input.id }, input, el("span", {}, REASONS[index][0]))));
    this.reasonGroup = el("fieldset", { className: "report-fieldset", "aria-describedby": "report-category-error" },
      el("legend", { className: "report-legend" }, t("Why are you reporting this?")),
      reasonList,
      this.categoryError);
    for (const input of this.reasons) input.addEventListener("change", () => this.clearError("category"));

    this.explanation = el("textarea", {
      id: "report-explanation",
      name: "explanation",
      "data-testid": "report-explanation",
      rows: "4",
      maxlength: String(EXPLANATION_MAX),
      "aria-required": "true",
      "aria-describedby": "report-explanation-hint report-explanation-error",
      placeholder: t("Tell us what you saw and why it should be reviewed"),
    });
    this.counter = el("span", { className: "counter" });
    this.explanationError = this.fieldError("report-explanation-error", "report-explanation-error");
    this.explanation.addEventListener("input", () => {
      this.clearError("explanation");
      this.renderCounter();
    });

    this.legalGround = el("input", {
      type: "text",
      id: "report-legal-ground",
      name: "legal_ground",
      "data-testid": "report-legal-ground",
      autocomplete: "off",
      maxlength: String(LEGAL_GROUND_MAX),
      "aria-describedby": "report-legal-ground-hint report-legal-ground-error",
      placeholder: t("The law, and the article if you know it"),
    });
    this.legalGroundError = this.fieldError("report-legal-ground-error", "report-legal-ground-error");
    this.legalGround.addEventListener("input", () => this.clearError("legal_ground"));

    this.formError = el("p", { className: "report-error", role: "alert", "data-testid": "report-error", hidden: true });

    this.cancelButton = el("button", { type: "button", className: "btn btn-secondary", "data-testid": "report-cancel" }, t("Cancel"));
    this.cancelButton.addEventListener("click", () => this.close());
    this.submitButton = el("button", { type: "submit", className: "btn btn-primary", "data-testid": "report-submit" }, t("Submit"));

    this.scroller = el("div", { className: "comments-scroll report-scroll" },
      this.subject,
      this.reasonGroup,
      el("div", { className: "field report-field" },
        el("label", { htmlFor: "report-explanation" }, t("What is wrong?")),
        this.explanation,
        el("p", { className: "field-hint", id: "report-explanation-hint" }, t("Required. Say what breaks the rules or the law."), " ", this.counter),
        this.explanationError),
      el("div", { className: "field report-field" },
        el("label", { htmlFor: "report-legal-ground" }, t("It is illegal under…"), " ", el("span", { className: "muted" }, t("(optional)"))),
        this.legalGround,
        el("p", { className: "field-hint", id: "report-legal-ground-hint" }, t("Only for illegal content: the law it breaks.")),
        this.legalGroundError),
      this.formError);
    this.form = el("form", { className: "report-form", novalidate: true, "data-testid": "report-form" },
      this.scroller,
      el("div", { className: "share-foot report-foot" }, this.cancelButton, this.submitButton));
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });

    this.root = el("aside", {
      className: "comments share-sheet report-sheet",
      id: "report-sheet",
      "data-testid": "report-sheet",
      role: "dialog",
      "aria-modal": "true",
      "aria-labelledby": "report-title",
      tabindex: "-1",
    },
    el("header", { className: "comments-head" }, this.title, this.closeButton),
    this.form);
    this.scrim = el("div", { className: "scrim report-scrim", hidden: true });
    this.scrim.addEventListener("click", () => this.close());
    document.body.append(this.root, this.scrim);

    // Keys typed in the sheet are not feed shortcuts; Tab stays in the sheet while it is open. Escape
    // closes it wherever focus is, before the share sheet, the comments drawer or the feed sees the key.
    this.root.addEventListener("keydown", (event) => {
      event.stopPropagation();
      if (event.key === "Tab") this.wrapFocus(event);
    });
    closeOnEscape(this);
    this.renderCounter();
  }

  fieldError(id, testid) {
    return el("p", { className: "report-field-error", id, role: "alert", "data-testid": testid, hidden: true });
  }

  get isOpen() {
    return this.root.classList.contains("is-open");
  }

  /** Opens the sheet on `target` ({ type, id, label }); what was typed for the same content stays. */
  open(target, trigger) {
    const same = this.target && this.target.type === target.type && this.target.id === target.id;
    if (!same) {
      this.reset();
      this.scroller.scrollTop = 0;
    }
    this.target = target;
    this.trigger = trigger || null;
    this.title.textContent = TITLES[target.type] || t("Report");
    this.subject.textContent = target.label || "";
    this.subject.hidden = !target.label;
    this.root.classList.add("is-open");
    this.scrim.hidden = false;
    requestAnimationFrame(() => {
      const checked = this.reasons.find((input) => input.checked);
      const first = checked || this.reasons[0];
      (first.offsetParent ? first : this.root).focus({ preventScroll: true });
    });
  }

  close() {
    if (!this.isOpen) return;
    this.root.classList.remove("is-open");
    this.scrim.hidden = true;
    if (this.trigger && document.contains(this.trigger)) this.trigger.focus({ preventScroll: true });
  }

  /** A fresh form: nothing chosen or typed, no errors. */
  reset() {
    for (const input of this.reasons) input.checked = false;
    this.explanation.value = "";
    this.legalGround.value = "";
    this.clearErrors();
    this.renderCounter();
  }

  renderCounter() {
    const used = this.explanation.value.length;
    this.counter.textContent = `${used}/${EXPLANATION_MAX}`;
    this.counter.classList.toggle("is-near", used > EXPLANATION_MAX * 0.9);
  }

  /** The element showing a field's error and the control it concerns (null for fields the form lacks). */
  slot(field) {
    if (field === "category") return { error: this.categoryError, control: this.reasonGroup, focus: this.reasons.find((i) => i.checked) || this.reasons[0] };
    if (field === "explanation") return { error: this.explanationError, control: this.explanation, focus: this.explanation };
    if (field === "legal_ground") return { error: this.legalGroundError, control: this.legalGround, focus: this.legalGround };
    return null;
  }

  showError(field, message) {
    const slot = this.slot(field);
    slot.error.textContent = sentence(message);
    slot.error.hidden = false;
    slot.control.setAttribute("aria-invalid", "true");
  }

  clearError(field) {
    const slot = this.slot(field);
    slot.error.textContent = "";
    slot.error.hidden = true;
    slot.control.removeAttribute("aria-invalid");
    this.setFormError("");
  }

  setFormError(message) {
    this.formError.textContent = message;
    this.formError.hidden = !message;
  }

  clearErrors() {
    for (const field of ["category", "explanation", "legal_ground"]) this.clearError(field);
  }

  /** Shows a failed report in the form: field errors beside their fields, anything else below them. */
  showProblem(error) {
    const problem = error.problem || {};
    const errors = error.status === 422 && Array.isArray(problem.errors) ? problem.errors : [];
    let first = null;
    let placed = 0;
    for (const item of errors) {
      const slot = item && typeof item.field === "string" ? this.slot(item.field) : null;
      if (!slot || typeof item.message !== "string") continue;
      this.showError(item.field, item.message);
      placed += 1;
      if (!first) first = slot.focus;
    }
    if (placed < errors.length || errors.length === 0) this.setFormError(error.detail);
    if (first) first.focus({ preventScroll: false });
  }

  setBusy(busy) {
    this.busy = busy;
    this.root.classList.toggle("is-busy", busy);
    this.root.setAttribute("aria-busy", String(busy));
    this.submitButton.disabled = busy;
    this.submitButton.textContent = busy ? t("Sending…") : t("Submit");
  }

  async submit() {
    if (this.busy || !this.target) return;
    this.clearErrors();
    const chosen = this.reasons.find((input) => input.checked);
    if (!chosen) {
      this.showError("category", t("Choose a reason"));
      this.reasons[0].focus();
      return;
    }
    const target = this.target;
    const legalGround = this.legalGround.value.trim();
    const report = {
      content_type: target.type,
      content_id: String(target.id),
      category: chosen.value,
      explanation: this.explanation.value,
      legal_ground: legalGround || null,
    };
    this.setBusy(true);
    try {
      await api("POST", "/api/v1/reports", report);
      toast(t("Thanks — we received your report"), { kind: "ok" });
      if (this.target === target) {
        this.target = null; // the next opening starts afresh, even on the same content
        this.close();
      }
    } catch (error) {
      if (!(error instanceof ApiError) || error.status === 401) {
        reportError(error, t("The report was not sent. Try again."));
        return;
      }
      if (this.target === target && this.isOpen) this.showProblem(error);
      else reportError(error, t("The report was not sent. Try again.")); // the sheet moved on meanwhile
    } finally {
      this.setBusy(false);
    }
  }

  /** Tab from the last control goes to the first, Shift+Tab from the first to the last. */
  wrapFocus(event) {
    // The sheet starts with its close button and ends with Submit, so the radio group's own Tab rules
    // never decide which control is first or last.
    const controls = [...this.root.querySelectorAll(FOCUSABLE)].filter((node) => node.offsetParent !== null && node.type !== "radio");
    if (!controls.length) return;
    const first = controls[0];
    const last = controls[controls.length - 1];
    if (event.shiftKey && (document.activeElement === first || document.activeElement === this.root)) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault();
      first.focus();
    }
  }
}

let sheet = null;

/**
 * Opens the report sheet on a piece of content; a visitor who is not logged in is sent to log in.
 * @param target.type "video", "comment", "account" or "message"
 * @param target.id the content's id
 * @param target.label what is reported, shown at the top ("Video by @ana")
 * @param target.trigger the button that opened it: focus goes back to it on closing (default: the focused element)
 */
export function openReport({ type, id, label = "", trigger = null }) {
  if (!requireLogin()) return;
  if (!sheet) sheet = new ReportSheet();
  const opener = trigger || (document.activeElement instanceof HTMLElement && document.activeElement !== document.body ? document.activeElement : null);
  sheet.open({ type, id: String(id), label }, opener);
}
