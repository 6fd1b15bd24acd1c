// The interface's language in scripts: translated messages and numbers, dates and times per locale.
//
// The page carries the messages of its locale that scripts use, as JSON in
// <script type="application/json" id="i18n-catalogue"> (reelm.i18n.script_catalogue), and names its locale
// in <html lang>. English is the message ids themselves, so a message missing from the catalogue shows in
// English rather than not at all.

const EMPTY = { locale: "en", plural_categories: ["one", "other"], messages: {} };

function readCatalogue() {
  const node = typeof document !== "undefined" ? document.getElementById("i18n-catalogue") : null;
  if (!node) return EMPTY;
  try {
    const parsed = JSON.parse(node.textContent || "{}");
    return { ...EMPTY, ...parsed, messages: parsed.messages || {} };
  } catch {
    return EMPTY; // a broken catalogue must not take the page's scripts down with it
  }
}

const catalogue = readCatalogue();

/** The page's locale, as <html lang> states it (the server chose it). */
export const locale = (typeof document !== "undefined" && document.documentElement.lang) || catalogue.locale || "en";

const pluralRules = new Intl.PluralRules(locale);

function fill(text, params) {
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name) =>
    Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : whole,
  );
}

/** A message in the page's language: t("Followed by {name}", { name }). */
export function t(msgid, params) {
  const translated = catalogue.messages[msgid];
  return fill(typeof translated === "string" && translated ? translated : msgid, params);
}

/**
 * A message that depends on a count: tn("{count} video", "{count} videos", n). `count` is filled with the
 * number in the locale's digits and separators unless params gives its own.
 */
export function tn(singular, plural, n, params = {}) {
  const category = pluralRules.select(n);
  const forms = catalogue.messages[singular];
  let text;
  if (Array.isArray(forms) && forms.length) {
    const categories = catalogue.plural_categories || ["one", "other"];
    const index = categories.indexOf(category);
    // A category the catalogue has no form for (French "many", for a million) takes the general form.
    text = forms[index >= 0 && index < forms.length ? index : forms.length - 1];
  } else {
    text = category === "one" ? singular : plural;
  }
  return fill(text, { count: formatNumber(n), ...params });
}

/** 1234567 → "1,234,567" (en), "1.234.567" (de). */
export function formatNumber(value, options) {
  return new Intl.NumberFormat(locale, options).format(value);
}

/** 1234 → "1.2K" (en), "1234" (de), "1,2 k" (fr): counts on buttons and tiles; rounded down, so 999 999 never
 * reads as a million. */
export function formatCompact(value) {
  const n = Math.max(0, Number(value) || 0);
  let shown = n;
  if (n >= 1000) {
    const step = 10 ** (3 * Math.floor(Math.log10(n) / 3) - 1); // a tenth of the thousand, million... shown
    shown = Math.floor(n / step) * step;
  }
  return new Intl.NumberFormat(locale, { notation: "compact", maximumFractionDigits: 1 }).format(shown);
}

/** A calendar day, with the year only when it is not this year's. */
export function formatDate(value, options) {
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime())) return "";
  const sameYear = date.getFullYear() === new Date().getFullYear();
  const chosen = options || (sameYear ? { month: "short", day: "numeric" } : { year: "numeric", month: "short", day: "numeric" });
  return new Intl.DateTimeFormat(locale, chosen).format(date);
}

/** A day and time of day, in the browser's time zone. */
export function formatDateTime(value, options = { dateStyle: "medium", timeStyle: "short" }) {
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime())) return "";
  return new Intl.DateTimeFormat(locale, options).format(date);
}

const STEPS = [
  ["second", 60],
  ["minute", 60],
  ["hour", 24],
  ["day", 7],
];

/**
 * How long ago, short: "3 min. ago" (en), "vor 3 Min." (de), "il y a 3 min" (fr); older than a week, the
 * day itself. Empty for a time that cannot be read.
 */
export function formatRelative(value, now = Date.now()) {
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime())) return "";
  let amount = Math.round((date.getTime() - now) / 1000);
  if (Math.abs(amount) < 45) return new Intl.RelativeTimeFormat(locale, { numeric: "auto" }).format(0, "second");
  for (const [unit, size] of STEPS) {
    if (Math.abs(amount) < size) {
      return new Intl.RelativeTimeFormat(locale, { numeric: "always", style: "short" }).format(amount, unit);
    }
    amount = Math.round(amount / size);
  }
  return formatDate(date);
}
