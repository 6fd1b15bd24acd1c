// The studio's analytics pages: days and hours are the creator's, so the page learns this browser's time zone
// once (a cookie the server reads when the address names none) and shows the figures in it.

const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
const field = document.querySelector("[data-studio-tz]");
if (zone && field && field.value !== zone && !new URLSearchParams(location.search).has("tz")) {
  document.cookie = `reelm_tz=${zone}; path=/studio; max-age=31536000; samesite=lax`;
  const url = new URL(location.href);
  url.searchParams.set("tz", zone);
  location.replace(url);
}
