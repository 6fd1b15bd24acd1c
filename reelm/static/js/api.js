// The JSON API client, toasts and small helpers every page module shares.

import { formatCompact, formatRelative, t } from "./i18n.js";

/** An API failure: `status` (0 when the network failed) and the problem's human `detail`. */
export class ApiError extends Error {
  constructor(status, detail, problem = null) {
    super(detail);
    this.name = "ApiError";
    this.status = status;
    this.detail = detail;
    this.problem = problem;
    this.type = problem && typeof problem.type === "string" ? problem.type : null;
  }
}

export function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.getAttribute("content") || "" : "";
}

const GENERIC = {
  401: t("Please log in to do that."),
  403: t("You are not allowed to do that."),
  404: t("It is not there any more."),
  409: t("That conflicts with something else."),
  413: t("That file is too large."),
  429: t("Too many requests. Please wait a moment and try again."),
  451: t("This is not available in your region right now."),
};

/** Turns a response body (problem+json or anything else) into an ApiError. */
export function problemError(status, bodyText, statusText = "") {
  let problem = null;
  try {
    problem = bodyText ? JSON.parse(bodyText) : null;
  } catch {
    problem = null;
  }
  let detail = problem && typeof problem === "object" ? problem.detail || problem.title : "";
  if (typeof detail !== "string" || !detail) {
    detail = GENERIC[status] || (status >= 500 ? t("Something went wrong on our side. Please try again.") : t("Request failed ({status}).", { status }));
  }
  return new ApiError(status, detail, problem && typeof problem === "object" ? problem : null);
}

/**
 * Calls the API. `path` is either a full "/api/v1/..." path or one relative to /api/v1.
 * `body` is sent as JSON (or as-is when it is FormData). Resolves to the parsed JSON, or null.
 */
export async function api(method, path, body) {
  const url = path.startsWith("/api/") || /^https?:/.test(path) ? path : `/api/v1${path.startsWith("/") ? "" : "/"}${path}`;
  const headers = { Accept: "application/json, application/problem+json" };
  const verb = method.toUpperCase();
  if (verb !== "GET" && verb !== "HEAD") headers["X-CSRF-Token"] = csrfToken();
  let payload;
  if (body instanceof FormData) {
    payload = body;
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, { method: verb, headers, body: payload, credentials: "same-origin" });
  } catch {
    throw new ApiError(0, t("Network error. Check your connection and try again."));
  }
  const text = response.status === 204 ? "" : await response.text();
  if (!response.ok) throw problemError(response.status, text, response.statusText);
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError(response.status, t("The server sent an unexpected answer."));
  }
}

/** Builds a query string from an object, leaving out null/undefined/"" values. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== "") search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

// ---- toasts ------------------------------------------------------------------------------------

/** Shows a short message at the top of the screen. kind: "info" | "error" | "ok". */
export function toast(message, { kind = "info", duration = 2600 } = {}) {
  let box = document.getElementById("toasts");
  if (!box) {
    box = document.createElement("div");
    box.id = "toasts";
    box.className = "toasts";
    box.setAttribute("role", "status");
    box.setAttribute("aria-live", "polite");
    document.body.append(box);
  }
  const item = document.createElement("div");
  item.className = `toast toast-${kind}`;
  item.textContent = message;
  box.append(item);
  while (box.children.length > 3) box.firstElementChild.remove();
  const wait = kind === "error" ? Math.max(duration, 4500) : duration;
  setTimeout(() => {
    item.classList.add("is-leaving");
    setTimeout(() => item.remove(), reducedMotion() ? 0 : 250);
  }, wait);
  return item;
}

// ---- who is looking ------------------------------------------------------------------------------

export function viewer() {
  const data = document.body.dataset;
  return data.viewerId ? { id: data.viewerId, handle: data.viewerHandle } : null;
}

export function loginUrl(next = location.pathname + location.search) {
  return `/login?next=${encodeURIComponent(next)}`;
}

/** True when logged in; otherwise sends the visitor to the login page and returns false. */
export function requireLogin() {
  if (viewer()) return true;
  location.assign(loginUrl());
  return false;
}

/** The usual way to report a failed action: log in on 401, otherwise a toast with the detail. */
export function reportError(error, fallback = t("Something went wrong.")) {
  if (error instanceof ApiError && error.status === 401) {
    location.assign(loginUrl());
    return;
  }
  const message = error instanceof ApiError ? error.detail : fallback;
  toast(message || fallback, { kind: "error" });
  if (!(error instanceof ApiError)) console.error(error);
}

// ---- formatting ----------------------------------------------------------------------------------

/** 1234 -> "1.2K" (en), "1,2 k" (fr): floors, so 999 999 never reads as a million (reelm.i18n for pages). */
export function formatCount(value) {
  return formatCompact(Math.floor(Number(value) || 0));
}

/** "now", "5 min. ago", "3 hr. ago", "2 days ago" in the page's language, or a date for older things. */
export function relativeTime(iso) {
  return formatRelative(iso);
}

export function reducedMotion() {
  return window.matchMedia("(prefers-reduced-motion: reduce)").matches;
}

export function isDesktop() {
  return window.matchMedia("(min-width: 768px)").matches;
}

/** Small DOM builder: el("a", { className: "x", href: "/" }, "text", child). Text is always textContent. */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "className") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else if (key in node && typeof value !== "string") node[key] = value;
    else node.setAttribute(key === "htmlFor" ? "for" : key, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789_.";

/** An avatar <img>, or a coloured initial: the same rule as the `avatar` macro. */
export function avatarNode(user, size = "md") {
  if (user && user.avatar_url) {
    return el("img", { className: `avatar avatar-${size}`, src: user.avatar_url, alt: "", loading: "lazy", decoding: "async" });
  }
  const handle = (user && user.handle) || "";
  const name = (user && (user.display_name || user.handle)) || "?";
  const hue = (((ALPHABET.indexOf(handle.slice(0, 1).toLowerCase()) + handle.length) % 8) + 8) % 8;
  return el("span", { className: `avatar avatar-${size} avatar-letter hue-${hue}`, "aria-hidden": "true" },
    Array.from(name)[0].toUpperCase());
}

/** True when an event target is something the user is typing into. */
export function isTyping(target) {
  return Boolean(target && target.closest && target.closest("input, textarea, select, [contenteditable=''], [contenteditable='true']"));
}

// Whether the viewer moves focus with the keyboard (Tab) or the pointer; :focus-visible cannot tell us,
// because any key press makes the focused element match it.
let keyboardFocus = false;
document.addEventListener("keydown", (event) => {
  if (event.key === "Tab") keyboardFocus = true;
}, true);
document.addEventListener("pointerdown", () => {
  keyboardFocus = false;
}, true);

/**
 * Whether Space belongs to the focused element rather than to the player: a button or link reached with
 * Tab keeps Space; one that merely kept focus after a click (or a script's focus()) does not.
 */
export function keepsSpace(target) {
  if (!keyboardFocus || !target || !target.closest) return false;
  return Boolean(target.closest("button, a, [role=slider], summary"));
}

/** Escape closes an open sheet (`isOpen`, `close()`) wherever focus is, before anything beneath it sees the key. */
export function closeOnEscape(sheet) {
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && sheet.isOpen) {
      event.preventDefault();
      event.stopPropagation();
      sheet.close();
    }
  }, true);
}
