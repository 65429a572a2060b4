// data-live: regions that follow changes made anywhere (REST, MCP, another
// tab, another instance). One EventSource per tab on <body data-live-src>;
// each event is a signal: the page refetches itself and swaps the regions
// that changed (app.js swapRegions). Reconnects with backoff; refetches on
// every reconnect, on `resync`, and when the tab returns after 60 s hidden.
// <body data-live-state> says "open" once the stream listens ("reconnecting"
// after an error), for tests and styling.
import { refresh } from "./app.js";

const SIGNALS = [
  "task_changed", "story_changed", "pbi_changed", "sprint_changed", "product_changed",
  "sprint_run_changed", "job_status", "job_enqueued", "question_changed", "resync",
  "worker_presence", "idea_changed",
];

let timer = null;
let running = false;
let again = false;
function schedule() {
  // One refetch at a time: an answer that overtook a newer one would put
  // stale regions back with no event left to correct them. Events during a
  // refetch ask for one more after it.
  if (running) {
    again = true;
    return;
  }
  if (timer) return;
  // Events come in bursts (a roll-up changes a task, its story and PBI,
  // published one after the other within a few ms): one refetch per burst.
  // The wait adds to every update's latency, so it stays short; a burst
  // split in two costs one more refetch, never a stale page.
  timer = setTimeout(async () => {
    timer = null;
    running = true;
    try {
      await refresh();
    } catch (e) {
      // Offline or the server restarting: the reconnect refetches.
    }
    running = false;
    if (again) {
      again = false;
      schedule();
    }
  }, 40);
}

function connect(src) {
  let backoff = 1000;
  let opened = 0;
  let source = null;
  const open = () => {
    const es = new EventSource(src);
    source = es;
    es.addEventListener("ready", () => {
      backoff = 1000;
      document.body.dataset.liveState = "open";
      // After a reconnect, re-read: changes made while disconnected sent
      // no event here. The first `ready` is not re-read, so a change in the
      // moment between render and subscription waits for the next event;
      // re-reading on every page load doubles the page requests.
      if (opened++ > 0) schedule();
    });
    for (const t of SIGNALS) es.addEventListener(t, schedule);
    es.addEventListener("error", () => {
      document.body.dataset.liveState = "reconnecting";
      // The browser retries by itself unless the stream is closed (429, 401,
      // server restart): then back off up to 30 s.
      if (es.readyState === EventSource.CLOSED && source === es) {
        setTimeout(() => { if (source === es) open(); }, backoff);
        backoff = Math.min(backoff * 2, 30000);
      }
    });
  };
  open();
  // A page kept in the back/forward cache keeps its stream open unless we
  // close it, and Chromium allows only 6 connections per host over HTTP/1.1:
  // after a few pages every request of the site (a drop's POST included)
  // waits forever. Close on pagehide; reopen when the page is shown again
  // (the `ready` of a reopened stream refetches the page).
  window.addEventListener("pagehide", () => {
    if (source) source.close();
    source = null;
  });
  window.addEventListener("pageshow", (e) => {
    if (e.persisted && !source) open();
  });
  let hiddenAt = 0;
  document.addEventListener("visibilitychange", () => {
    if (document.hidden) {
      hiddenAt = Date.now();
    } else if (hiddenAt && Date.now() - hiddenAt > 60000) {
      schedule();
    }
  });
}

const src = document.body?.dataset.liveSrc;
if (src && "EventSource" in window) connect(src);
