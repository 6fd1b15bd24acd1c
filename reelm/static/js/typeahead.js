// The search field of every page (templates/base.html): on phones and over full-screen video a search icon
// that opens it full screen; elsewhere a field at the top of the page. From the first character it suggests
// accounts, hashtags (with their video counts) and the viewer's recent searches, as a listbox the keyboard
// walks (aria-activedescendant): up and down move, Enter opens, Escape closes. Enter with nothing chosen
// opens the results.

import { ApiError, api, avatarNode, el, formatCount, query } from "./api.js";
import { highlight } from "./discover.js";
import { soundThumb, soundTitle } from "./sound-chip.js";
import { icon } from "./icons.js";
import { t, tn } from "./i18n.js";

const DEBOUNCE_MS = 150;

/** Suggestions for a combobox `input`, shown in `list`; `onPick(href)` follows the chosen one. */
export class Typeahead {
  constructor(input, list, { onPick = (href) => location.assign(href) } = {}) {
    this.input = input;
    this.list = list;
    this.onPick = onPick;
    this.options = [];
    this.active = -1;
    this.timer = 0;
    this.controller = null;
    this.shownFor = null;
    input.addEventListener("input", () => this.schedule());
    input.addEventListener("keydown", (event) => this.key(event));
    input.addEventListener("focus", () => {
      if (this.input.value.trim() && this.options.length) this.open();
    });
    input.addEventListener("blur", () => setTimeout(() => {
      if (!this.list.contains(document.activeElement)) this.close();
    }, 120));
    // A pointer picks without taking focus from the field first.
    list.addEventListener("mousedown", (event) => event.preventDefault());
    list.addEventListener("click", (event) => {
      const option = event.target instanceof Element ? event.target.closest("[role=option]") : null;
      if (option) this.pick(this.options.findIndex((o) => o.node === option));
    });
  }

  schedule() {
    clearTimeout(this.timer);
    const text = this.input.value.trim();
    if (!text) {
      this.abort();
      this.render([], "");
      return;
    }
    this.timer = setTimeout(() => this.fetch(text), DEBOUNCE_MS);
  }

  abort() {
    if (this.controller) this.controller.abort();
    this.controller = null;
  }

  async fetch(text) {
    this.abort(); // an answer to older typing must never replace a newer one
    const controller = new AbortController();
    this.controller = controller;
    try {
      const response = await fetch(`/api/v1/search/suggestions${query({ q: text })}`, {
        headers: { Accept: "application/json" }, credentials: "same-origin", signal: controller.signal,
      });
      if (!response.ok) throw new ApiError(response.status, "");
      const found = await response.json();
      if (controller.signal.aborted || this.input.value.trim() !== text) return;
      this.render(this.entries(found), text);
    } catch (error) {
      if (controller.signal.aborted) return;
      this.render([], text, error instanceof ApiError && error.status === 451
        ? t("Search is switched off in this realm right now.")
        : t("Suggestions are unavailable. Press Enter to search."));
    } finally {
      if (this.controller === controller) this.controller = null;
    }
  }

  /** The options to show, in the order shown: recent searches, accounts, hashtags, sounds. */
  entries(found) {
    const words = (found.query || "").trim() ? this.words(found.query) : [];
    const entries = [];
    for (const recent of found.recent || []) {
      entries.push({
        kind: "recent", href: `/search${query({ q: recent.query })}`,
        content: [icon("clock", "icon icon-sm typeahead-icon"), el("span", { className: "typeahead-main" }, highlight(recent.query, words))],
        label: t("Recent search: {query}", { query: recent.query }),
      });
    }
    for (const account of found.accounts || []) {
      entries.push({
        kind: "account", href: `/@${encodeURIComponent(account.handle)}`,
        content: [
          avatarNode(account, "sm"),
          el("span", { className: "typeahead-main" },
            el("span", { className: "typeahead-name" }, highlight(account.display_name || account.handle, words)),
            el("span", { className: "typeahead-sub" }, highlight(`@${account.handle}`, words))),
        ],
        label: `${account.display_name || account.handle} @${account.handle}`,
      });
    }
    for (const tag of found.hashtags || []) {
      const count = tn("{count} video", "{count} videos", tag.video_count, { count: formatCount(tag.video_count) });
      entries.push({
        kind: "hashtag", href: `/tag/${encodeURIComponent(tag.tag)}`,
        content: [
          icon("hash", "icon icon-sm typeahead-icon"),
          el("span", { className: "typeahead-main" }, highlight(`#${tag.tag}`, words)),
          el("span", { className: "typeahead-sub" }, count),
        ],
        label: `#${tag.tag}, ${count}`,
      });
    }
    for (const sound of found.sounds || []) {
      const title = soundTitle(sound);
      const count = tn("{count} video", "{count} videos", sound.video_count, { count: formatCount(sound.video_count) });
      entries.push({
        kind: "sound", href: `/sound/${encodeURIComponent(sound.id)}`,
        content: [
          soundThumb(sound),
          el("span", { className: "typeahead-main" },
            el("span", { className: "typeahead-name" }, highlight(title, words)),
            el("span", { className: "typeahead-sub" }, `@${sound.creator.handle}`)),
          el("span", { className: "typeahead-sub" }, count),
        ],
        label: t("Sound: {title}, {count}", { title, count }),
      });
    }
    return entries;
  }

  /** The typed words folded roughly as the server folds them, to highlight before results come. */
  words(text) {
    return text.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase().split(/[^\p{L}\p{N}_]+/u).filter(Boolean);
  }

  render(entries, text, message = "") {
    const id = this.list.id;
    this.options = entries.map((entry, index) => {
      const node = el("li", {
        id: `${id}-option-${index}`, role: "option", className: `typeahead-option typeahead-${entry.kind}`,
        "aria-selected": "false", "aria-label": entry.label, "data-testid": `typeahead-${entry.kind}`,
      }, ...entry.content);
      return { ...entry, node };
    });
    const children = this.options.map((o) => o.node);
    if (text) {
      // The last option always searches for exactly what was typed.
      const all = el("li", {
        id: `${id}-option-${children.length}`, role: "option", className: "typeahead-option typeahead-all",
        "aria-selected": "false", "data-testid": "typeahead-all",
      }, icon("search", "icon icon-sm typeahead-icon"), el("span", { className: "typeahead-main" }, t("Search for “{query}”", { query: text })));
      this.options.push({ kind: "all", href: `/search${query({ q: text })}`, node: all });
      children.push(all);
    }
    if (message) children.unshift(el("li", { className: "typeahead-note", role: "presentation" }, message));
    this.list.replaceChildren(...children);
    this.shownFor = text;
    this.setActive(-1);
    if (this.options.length && document.activeElement === this.input) this.open();
    else if (!this.options.length) this.close();
  }

  open() {
    this.list.hidden = false;
    this.input.setAttribute("aria-expanded", "true");
  }

  close() {
    this.list.hidden = true;
    this.input.setAttribute("aria-expanded", "false");
    this.setActive(-1);
  }

  get isOpen() {
    return !this.list.hidden;
  }

  setActive(index) {
    this.active = index;
    this.options.forEach((option, i) => option.node.setAttribute("aria-selected", String(i === index)));
    if (index >= 0) {
      this.input.setAttribute("aria-activedescendant", this.options[index].node.id);
      this.options[index].node.scrollIntoView({ block: "nearest" });
    } else {
      this.input.removeAttribute("aria-activedescendant");
    }
  }

  key(event) {
    const count = this.options.length;
    switch (event.key) {
      case "ArrowDown":
        if (!count) return;
        event.preventDefault();
        this.open();
        this.setActive(this.active + 1 >= count ? 0 : this.active + 1);
        break;
      case "ArrowUp":
        if (!count) return;
        event.preventDefault();
        this.open();
        this.setActive(this.active <= 0 ? count - 1 : this.active - 1);
        break;
      case "Enter":
        if (this.isOpen && this.active >= 0) {
          event.preventDefault();
          this.pick(this.active);
        }
        break; // otherwise the form submits: the results of what was typed
      case "Escape":
        if (this.isOpen) {
          event.preventDefault();
          event.stopPropagation();
          this.close();
        }
        break;
      default:
    }
  }

  pick(index) {
    const option = this.options[index];
    if (!option) return;
    this.close();
    this.onPick(option.href, option);
  }
}

// ---- the search of every page ----------------------------------------------------------------------

const bar = document.querySelector("[data-site-search]");
if (bar) {
  const form = bar.querySelector("form");
  const input = form.querySelector("input[name=q]");
  const list = form.querySelector("[role=listbox]");
  const opener = bar.querySelector(".site-search-open");
  const closer = bar.querySelector(".site-search-close");
  const typeahead = new Typeahead(input, list);
  let returnFocus = null;

  const openFull = () => {
    returnFocus = document.activeElement;
    bar.classList.add("is-open");
    document.documentElement.classList.add("search-is-open");
    opener.setAttribute("aria-expanded", "true");
    input.focus();
    if (input.value.trim()) typeahead.schedule();
  };
  const closeFull = () => {
    if (!bar.classList.contains("is-open")) return;
    typeahead.close();
    bar.classList.remove("is-open");
    document.documentElement.classList.remove("search-is-open");
    opener.setAttribute("aria-expanded", "false");
    if (returnFocus && returnFocus.focus) returnFocus.focus();
  };
  opener.addEventListener("click", openFull);
  closer.addEventListener("click", closeFull);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && bar.classList.contains("is-open") && !typeahead.isOpen) {
      event.preventDefault();
      closeFull();
    }
    // "/" focuses search, as on many sites, unless the viewer is typing somewhere.
    if (event.key === "/" && !event.metaKey && !event.ctrlKey && !event.altKey) {
      const target = event.target;
      if (target && target.closest && target.closest("input, textarea, select, [contenteditable]")) return;
      event.preventDefault();
      if (getComputedStyle(opener).display !== "none") openFull();
      else input.focus();
    }
  });
  form.addEventListener("submit", (event) => {
    if (!input.value.trim()) event.preventDefault();
  });
  // Module scripts run after the page is shown: mark when the icon works, so that tests can wait for it.
  bar.dataset.ready = "true";
}
