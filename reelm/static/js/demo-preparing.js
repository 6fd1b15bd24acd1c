// For You in a fresh demo: while its videos are transcoded, the empty feed says how many are ready
// (templates/_demo_preparing.html) and this keeps the count current. When more are ready and the feed
// still shows nothing, the page reloads so that the feed picks them up.

import { t } from "./i18n.js";

const POLL_MS = 3000;
const box = document.querySelector("[data-testid=demo-preparing]");
const feed = document.getElementById("feed");

function show(ready, total) {
  box.dataset.ready = String(ready);
  box.dataset.total = String(total);
  box.querySelector("[data-preparing-count]").textContent = t(
    "The demo's videos are being prepared: {ready} of {total} ready.",
    { ready, total },
  );
  const bar = box.querySelector("progress");
  bar.max = total;
  bar.value = ready;
}

async function poll() {
  let progress;
  try {
    const answer = await fetch("/api/v1/demo/preparing", { headers: { Accept: "application/json" } });
    if (!answer.ok) return; // not a demo any more, or the server is restarting: keep what is shown
    progress = await answer.json();
  } catch {
    setTimeout(poll, POLL_MS); // offline for a moment
    return;
  }
  const before = Number(box.dataset.ready);
  show(progress.ready, progress.total);
  const feedEmpty = !feed || feed.children.length === 0;
  if (progress.ready > before && feedEmpty) {
    window.location.reload();
    return;
  }
  if (progress.ready < progress.total) setTimeout(poll, POLL_MS);
}

if (box) setTimeout(poll, POLL_MS);
