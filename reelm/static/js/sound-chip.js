// A sound as videos and lists show it: its title in the page's language, its cover as a small disc, and the
// chip on a video's card. Pure builders, no side effects: card.js, search.js and typeahead.js share them.

import { el } from "./api.js";
import { t } from "./i18n.js";

/** A sound's title as shown: its own, or "original sound – @handle" in the page's language. */
export function soundTitle(sound) {
  return sound.named ? sound.title : t("original sound – @{handle}", { handle: sound.creator.handle });
}

/** A sound's cover as a small disc (the poster of the video it comes from). */
export function soundThumb(sound) {
  const thumb = el("span", { className: "sound-thumb", "aria-hidden": "true" });
  if (sound.cover_url) thumb.append(el("img", { src: sound.cover_url, alt: "", loading: "lazy", decoding: "async" }));
  return thumb;
}

/**
 * The sound of a video as its card shows it: a chip "♪ title" with a turning disc, to the sound's page, and a
 * notice where the sound was taken down (the video then plays without it). Empty when it has neither.
 */
export function soundNotes(item) {
  const parts = [];
  if (item.audio_muted) {
    parts.push(el("p", { className: "sound-muted", role: "note", "data-testid": "sound-muted" }, t("This sound isn’t available")));
  }
  const s = item.sound;
  if (s) {
    const title = soundTitle({ ...s, creator: { handle: s.creator_handle } });
    parts.push(el("a", {
      className: `sound-chip${s.available ? "" : " is-unavailable"}`, href: `/sound/${encodeURIComponent(s.id)}`,
      "data-testid": "sound-chip", "aria-label": t("Sound: {title}", { title }),
    },
    el("span", { className: "sound-chip-disc", "aria-hidden": "true" }),
    el("span", { className: "sound-chip-note", "aria-hidden": "true" }, "♪"),
    el("span", { className: "sound-chip-title" }, title)));
  }
  return parts;
}
