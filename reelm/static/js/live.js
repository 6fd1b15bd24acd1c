// The page's one live connection (/api/v1/live), shared by every module that listens.
//
// Frames arrive as events named after their type ("message", "read", "typing", "conversation",
// "hidden", "notifications", "reset", "ready"). When the socket drops, it reconnects with a growing
// delay and says which numbers it holds (each listener adds its cursors), so the server sends what was
// missed, in order, once. Where WebSockets fail (a proxy, a strict network), `mode` becomes "polling"
// and listeners poll the JSON API instead, while reconnecting goes on in the background.

import { ApiError, csrfToken, viewer } from "./api.js";

const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 30000;
const FAILURES_BEFORE_POLLING = 2;
const SEND_TIMEOUT_MS = 8000;
// Close codes after which reconnecting as is cannot help (see reelm/messages/live.py).
const POLICY_VIOLATION = 1008;
const SESSION_ENDED = 4401;

class LiveConnection extends EventTarget {
  constructor() {
    super();
    this.socket = null;
    this.mode = "connecting"; // "connecting" | "live" | "polling"
    this.failures = 0;
    this.started = false;
    this.cursorSources = new Set();
    this.sends = new Map(); // client key -> { resolve, reject, timer }
  }

  /** Opens the connection once per page (later calls do nothing); only for logged-in visitors. */
  start() {
    if (this.started || !viewer()) return;
    this.started = true;
    if (!("WebSocket" in window)) {
      this.setMode("polling");
      return;
    }
    this.connect();
  }

  /** `source()` returns [{conversation_id, seq}] of what the page holds; asked at every (re)connect. */
  addCursors(source) {
    this.cursorSources.add(source);
  }

  send(frame) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(frame));
  }

  /**
   * Sends a message over the socket; resolves to the stored message, rejects with an ApiError when the
   * server refused it, or with a plain Error when the socket could not say (the caller then retries over
   * HTTP with the same client key, which the server answers with the message if it was stored).
   */
  sendMessage(message) {
    return new Promise((resolve, reject) => {
      if (this.mode !== "live" || !this.socket || this.socket.readyState !== WebSocket.OPEN) {
        reject(new Error("not connected"));
        return;
      }
      const key = message.client_key;
      const timer = setTimeout(() => {
        this.sends.delete(key);
        reject(new Error("no answer"));
      }, SEND_TIMEOUT_MS);
      this.sends.set(key, { resolve, reject, timer });
      this.socket.send(JSON.stringify({ ...message, type: "send" }));
    });
  }

  settleSend(frame) {
    const waiting = this.sends.get(frame.client_key);
    if (!waiting) return;
    this.sends.delete(frame.client_key);
    clearTimeout(waiting.timer);
    if (frame.type === "sent") waiting.resolve(frame.message);
    else waiting.reject(new ApiError(frame.problem.status, frame.problem.detail, frame.problem));
  }

  setMode(mode) {
    if (this.mode === mode) return;
    this.mode = mode;
    this.dispatchEvent(new CustomEvent("mode", { detail: mode }));
  }

  cursors() {
    const all = [];
    for (const source of this.cursorSources) all.push(...source());
    return all.slice(0, 200);
  }

  connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    let socket;
    try {
      socket = new WebSocket(`${scheme}://${location.host}/api/v1/live`);
    } catch {
      this.setMode("polling");
      return;
    }
    this.socket = socket;
    let ready = false;
    socket.addEventListener("open", () => {
      socket.send(JSON.stringify({ type: "hello", csrf: csrfToken(), cursors: this.cursors() }));
    });
    socket.addEventListener("message", (event) => {
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      if (!frame || typeof frame.type !== "string") return;
      if (frame.type === "sent" || frame.type === "send-failed") {
        this.settleSend(frame);
        return;
      }
      if (frame.type === "ready") {
        ready = true;
        this.failures = 0;
        this.setMode("live");
      }
      this.dispatchEvent(new CustomEvent(frame.type, { detail: frame }));
    });
    socket.addEventListener("close", (event) => {
      if (this.socket === socket) this.socket = null;
      for (const [key, waiting] of this.sends) {
        clearTimeout(waiting.timer);
        waiting.reject(new Error("connection closed"));
        this.sends.delete(key);
      }
      if (event.code === SESSION_ENDED || event.code === POLICY_VIOLATION) {
        this.setMode("polling"); // the JSON API will say what is wrong (log in again, usually)
        return;
      }
      if (!ready) this.failures += 1;
      if (this.failures >= FAILURES_BEFORE_POLLING) this.setMode("polling");
      else if (this.mode === "live") this.setMode("connecting");
      const delay = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** Math.min(this.failures, 5));
      setTimeout(() => this.connect(), delay * (0.75 + Math.random() * 0.5));
    });
  }
}

export const live = new LiveConnection();
