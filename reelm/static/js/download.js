// Downloading a video where its creator allows it: the server makes the watermarked MP4 once, in its worker,
// so the page asks (POST) until it is ready, then fetches the file as a download. One at a time per video.

import { api, reportError, requireLogin, toast } from "./api.js";
import { t } from "./i18n.js";

// A long video takes minutes to prepare; past this the page stops asking (the server keeps going).
const GIVE_UP_MS = 15 * 60 * 1000;
const pending = new Set();

const wait = (seconds) => new Promise((resolve) => setTimeout(resolve, Math.max(1, seconds || 2) * 1000));

/** Downloads `video` (a card's item) once the server has made its watermarked file. */
export async function downloadVideo(video) {
  if (!requireLogin() || pending.has(video.id)) return;
  pending.add(video.id);
  const started = Date.now();
  let told = false;
  try {
    for (;;) {
      const status = await api("POST", `/api/v1/videos/${encodeURIComponent(video.id)}/download`);
      if (status && status.status === "ready") {
        // Same origin, served as an attachment: the browser saves it and the page stays.
        const link = document.createElement("a");
        link.href = status.url;
        link.download = "";
        link.hidden = true;
        document.body.append(link);
        link.click();
        link.remove();
        toast(t("Download started"), { kind: "ok" });
        return;
      }
      if (!told) {
        toast(t("Preparing your download…"));
        told = true;
      }
      if (Date.now() - started > GIVE_UP_MS) {
        toast(t("Your download is taking long. Try again in a few minutes."), { kind: "error" });
        return;
      }
      await wait(status && status.retry_after_s);
    }
  } catch (error) {
    reportError(error, t("Couldn’t download the video."));
  } finally {
    pending.delete(video.id);
  }
}
