// data-poll="N": the page re-reads itself every N seconds while the tab is
// visible and swaps its live regions (as a live event would). For state that
// changes with the clock rather than with an event, such as a worker turning
// inactive 30 s after it last called in. The smallest N on the page wins;
// a page without data-poll never polls.
import { wire, refresh } from "./app.js";

let timer = null;
let every = 0;

wire(() => {
  const values = [...document.querySelectorAll("[data-poll]")]
    .map((el) => Number(el.dataset.poll))
    .filter((n) => Number.isFinite(n) && n >= 2);
  const next = values.length ? Math.min(...values) : 0;
  if (next === every) return;
  every = next;
  if (timer) clearInterval(timer);
  timer = every ? setInterval(() => { if (!document.hidden) refresh().catch(() => {}); }, every * 1000) : null;
});
