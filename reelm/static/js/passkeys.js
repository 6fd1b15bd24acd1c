// Passkeys (WebAuthn): add one in Settings, Security; log in with one on the log-in page (without a
// password) or as the second step of a log-in. The server makes the options and checks the answers; this
// only carries them between it and the browser's navigator.credentials.

import { api, ApiError } from "./api.js";
import { t } from "./i18n.js";

const supported = typeof window.PublicKeyCredential === "function" && !!navigator.credentials;

function fromBase64url(text) {
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const padded = base64 + "===".slice((base64.length + 3) % 4);
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0)).buffer;
}

function toBase64url(buffer) {
  let binary = "";
  for (const byte of new Uint8Array(buffer)) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function withIds(list) {
  return (list || []).map((item) => ({ ...item, id: fromBase64url(item.id) }));
}

/** The server's JSON options as the browser wants them: the binary members as ArrayBuffers. */
function creationOptions(json) {
  return {
    ...json,
    challenge: fromBase64url(json.challenge),
    user: { ...json.user, id: fromBase64url(json.user.id) },
    excludeCredentials: withIds(json.excludeCredentials),
  };
}

function requestOptions(json) {
  return { ...json, challenge: fromBase64url(json.challenge), allowCredentials: withIds(json.allowCredentials) };
}

/** The browser's answer as WebAuthn's JSON (what PublicKeyCredential.toJSON gives, where it exists). */
function credentialJson(credential) {
  const r = credential.response;
  const response = { clientDataJSON: toBase64url(r.clientDataJSON) };
  if (r.attestationObject) {
    response.attestationObject = toBase64url(r.attestationObject);
    if (typeof r.getTransports === "function") response.transports = r.getTransports();
  }
  if (r.authenticatorData) response.authenticatorData = toBase64url(r.authenticatorData);
  if (r.signature) response.signature = toBase64url(r.signature);
  if (r.userHandle) response.userHandle = toBase64url(r.userHandle);
  const json = { id: credential.id, rawId: toBase64url(credential.rawId), type: credential.type, response };
  if (credential.authenticatorAttachment) json.authenticatorAttachment = credential.authenticatorAttachment;
  return json;
}

function say(status, text) {
  if (status) status.textContent = text;
}

function failure(error) {
  if (error instanceof ApiError) return error.detail;
  // The person closed the browser's prompt, or no passkey fits: not an error of ours.
  if (error && error.name === "NotAllowedError") return t("No passkey was used.");
  return t("This browser could not use a passkey.");
}

async function addPasskey(box) {
  const status = box.querySelector("[data-passkey-status]");
  say(status, t("Follow your browser’s prompt…"));
  try {
    const options = await api("POST", "/me/passkey-options");
    const credential = await navigator.credentials.create({ publicKey: creationOptions(options) });
    await api("POST", "/me/passkeys", { credential: credentialJson(credential) });
    window.location.assign("/settings/security?done=passkey-added");
  } catch (error) {
    say(status, failure(error));
  }
}

async function logIn(box) {
  const status = box.querySelector("[data-passkey-status]");
  say(status, t("Follow your browser’s prompt…"));
  try {
    // Page routes, not the API's (they set the session cookie): given whole, so api() leaves them as they are.
    const options = await api("POST", new URL("/login/passkey/options", window.location.origin).href);
    const credential = await navigator.credentials.get({ publicKey: requestOptions(options) });
    const answer = await api("POST", new URL("/login/passkey", window.location.origin).href, { credential: credentialJson(credential), next: box.dataset.next || "/" });
    window.location.assign(answer.next);
  } catch (error) {
    say(status, failure(error));
  }
}

function start() {
  const add = document.querySelector("[data-passkey-add]");
  if (add) {
    const button = add.querySelector("button");
    if (supported) {
      button.hidden = false;
      button.addEventListener("click", () => addPasskey(add));
    } else {
      say(add.querySelector("[data-passkey-status]"), t("This browser cannot make passkeys."));
    }
  }
  for (const box of document.querySelectorAll("[data-passkey-step]")) {
    const button = box.querySelector("button");
    if (supported) {
      button.hidden = false;
      button.addEventListener("click", () => logIn(box));
    }
  }
  document.body.dataset.passkeysReady = "true";
}

start();
