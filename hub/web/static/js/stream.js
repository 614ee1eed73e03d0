// The /ws client every screen uses (protocol: docs/realtime.md). It authenticates with
// the first message, subscribes with `since` = the last position it applied so a
// reconnect replays exactly what was missed, and tells the page how the line is.
import { accessToken, clearSession, toLogin } from "./api.js";

const HEARTBEAT_MS = 15_000; // a ping this often; its pong also moves `position` forward
const PONG_TIMEOUT_MS = 8_000; // no pong by then: the line is dead even if no close came
const BACKOFF_MS = [500, 1000, 2000, 4000, 8000, 15000];

export class Stream {
  /**
   * topics: () => the topics to (re)subscribe, e.g. [{kind: "region", key: "339901"}]
   * onFrame(frame): every frame after auth, in order, duplicates already dropped
   * onStatus(status, detail): "connecting" | "live" | "reconnecting" | "offline"
   */
  constructor({ topics, onFrame, onStatus }) {
    this.topics = topics;
    this.onFrame = onFrame;
    this.onStatus = onStatus || (() => {});
    this.position = null; // the last stream position applied
    this.ws = null;
    this.attempt = 0;
    this.status = "connecting";
    this.acks = new Map();
    this.replayed = 0;
    this.stopped = false;
    this.everLive = false;
    this.timers = {};
    window.addEventListener("online", () => this.reconnectSoon(0));
    window.addEventListener("offline", () => {
      this.setStatus("offline");
      // The socket may hang on until a heartbeat fails; start over as soon as we are back.
      if (this.ws) this.ws.close(4000, "offline");
    });
  }

  setStatus(status, detail) {
    this.status = status;
    this.onStatus(status, detail);
  }

  start() {
    this.connect();
    return this;
  }

  async connect() {
    clearTimeout(this.timers.retry);
    if (this.stopped) return;
    let token;
    try {
      token = await accessToken();
    } catch (err) {
      if (err.status === 401 || err.status === 403) {
        clearSession();
        toLogin();
        return;
      }
      this.scheduleRetry();
      return;
    }
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/ws`);
    this.ws = ws;
    ws.onopen = () => ws.send(JSON.stringify({ type: "auth", token }));
    ws.onmessage = (msg) => this.receive(ws, msg.data);
    ws.onclose = (ev) => this.closed(ws, ev);
    ws.onerror = () => {}; // onclose follows and decides
  }

  send(message) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(message));
      return true;
    }
    return false;
  }

  /** Subscribe again (e.g. a new region topic); resumes from the current position. */
  resubscribe() {
    const message = { type: "subscribe", topics: this.topics() };
    if (this.position != null) message.since = this.position;
    this.replayed = 0;
    if (this.send(message)) this.send({ type: "ping", nonce: "caught-up" });
  }

  receive(ws, text) {
    if (ws !== this.ws) return;
    let frame;
    try {
      frame = JSON.parse(text);
    } catch {
      return;
    }
    switch (frame.type) {
      case "welcome":
        this.attempt = 0;
        this.resubscribe();
        this.heartbeat();
        return;
      case "event":
        if (this.position != null && frame.position <= this.position) return; // seen
        this.position = frame.position;
        this.replayed += 1;
        break;
      case "snapshot":
        this.position = Math.max(this.position ?? 0, frame.position);
        break;
      case "pong":
        clearTimeout(this.timers.pong);
        // Every frame up to the pong's position that concerns us was queued before it.
        this.position = Math.max(this.position ?? 0, frame.position);
        if (frame.nonce === "caught-up") {
          const resumed = this.everLive && this.status !== "live";
          this.everLive = true;
          this.setStatus("live", resumed ? { replayed: this.replayed } : undefined);
        }
        return;
      case "error":
        // The hub was too busy for the subscription, or it came too fast: ask again soon.
        if (frame.code === "busy" || frame.code === "rate_limited") {
          clearTimeout(this.timers.resubscribe);
          const waitMs = 1000 * (frame.retry_after_s || 1) + Math.random() * 1000;
          this.timers.resubscribe = setTimeout(() => this.resubscribe(), waitMs);
        }
        break;
      case "ack_result": {
        const waiter = this.acks.get(frame.case_id);
        if (waiter) {
          this.acks.delete(frame.case_id);
          waiter(frame);
        }
        break;
      }
      default:
        break;
    }
    this.onFrame(frame);
  }

  heartbeat() {
    clearInterval(this.timers.beat);
    this.timers.beat = setInterval(() => {
      if (!this.send({ type: "ping", nonce: "beat" })) return;
      clearTimeout(this.timers.pong);
      this.timers.pong = setTimeout(() => this.ws && this.ws.close(4000, "no pong"), PONG_TIMEOUT_MS);
    }, HEARTBEAT_MS);
  }

  closed(ws, ev) {
    if (ws !== this.ws) return;
    this.ws = null;
    clearInterval(this.timers.beat);
    clearTimeout(this.timers.pong);
    for (const [caseId, waiter] of this.acks) waiter({ type: "ack_result", case_id: caseId, ok: false, error: { message: "disconnected" } });
    this.acks.clear();
    if (this.stopped) return;
    if (ev.code === 4001 || ev.code === 4003) {
      // The token was refused or the session ended: one refresh, else log in again.
      accessToken({ force: true }).then(
        () => this.reconnectSoon(0),
        () => {
          clearSession();
          toLogin();
        },
      );
      return;
    }
    if (!navigator.onLine) {
      this.setStatus("offline");
      return; // the "online" event reconnects
    }
    this.scheduleRetry();
  }

  scheduleRetry() {
    this.setStatus("reconnecting");
    const base = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)];
    this.attempt += 1;
    this.reconnectSoon(base + Math.random() * base * 0.3);
  }

  reconnectSoon(delayMs) {
    clearTimeout(this.timers.retry);
    if (this.ws) return;
    if (this.status === "live") this.setStatus("reconnecting");
    this.timers.retry = setTimeout(() => this.connect(), delayMs);
  }

  /** Acknowledge a task over the socket; resolves with the ack_result frame. */
  ack(caseId, version, note = "") {
    return new Promise((resolve) => {
      if (!this.send({ type: "ack", case_id: caseId, version, note })) {
        resolve({ ok: false, error: { message: "not connected" } });
        return;
      }
      this.acks.set(caseId, resolve);
    });
  }
}

/** A status pill and banner for a stream: `[data-conn]` elements get the state. */
export function showStatus(status, detail, t) {
  for (const el of document.querySelectorAll("[data-conn]")) {
    el.dataset.state = status;
    el.textContent = t(`conn.${status}`);
  }
  const banner = document.getElementById("conn-banner");
  if (!banner) return;
  if (status === "live") {
    if (detail && detail.replayed !== undefined) {
      banner.textContent = t("conn.resumed", { n: detail.replayed });
      banner.dataset.state = "resumed";
      banner.hidden = false;
      clearTimeout(showStatus.timer);
      showStatus.timer = setTimeout(() => (banner.hidden = true), 4000);
    } else {
      banner.hidden = true;
    }
  } else if (status !== "connecting") {
    clearTimeout(showStatus.timer);
    banner.textContent = t(`conn.${status}`);
    banner.dataset.state = status;
    banner.hidden = false;
  }
}
