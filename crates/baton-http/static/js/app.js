// Shared helpers of Baton's page modules. Each behaviour module imports
// these and wires its own data-* attributes; see UI.md.

/** Runs `fn(root)` now (or when the DOM is ready) and after every swap. */
export function wire(fn) {
  const run = (root) => {
    try { fn(root); } catch (e) { console.error(e); }
  };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", () => run(document));
  } else {
    run(document);
  }
  document.addEventListener("baton:updated", (e) => run(e.detail?.root || document));
}

/** Says `text` through the page's polite live region. */
export function announce(text) {
  const region = document.getElementById("announce");
  if (!region || !text) return;
  region.textContent = "";
  // A fresh text node after a tick makes screen readers repeat equal messages.
  setTimeout(() => { region.textContent = text; }, 30);
}

/** Whether `el` holds work in progress that a refresh must not wipe. */
function busy(el) {
  const a = document.activeElement;
  if (a && a !== document.body && el.contains(a) && a.matches("input, textarea, select, [contenteditable]")) return true;
  // A card being dragged: swapping it away would drop the drag.
  if (el.querySelector(".dragging")) return true;
  return el.matches("[data-editing]") || el.querySelector("[data-editing]") !== null;
}

/**
 * `el`'s markup without what the page's scripts and the user add to it:
 * the modules' `data-wired-*` marks, `aria-busy` and which `<details>` are
 * open. A live refresh that brings nothing new must leave the region alone
 * (an open "Move…" popover stays open, nothing is re-wired); comparing the
 * raw markup would always differ by the wiring marks.
 */
function settled(el) {
  const copy = el.cloneNode(true);
  for (const n of [copy, ...copy.querySelectorAll("*")]) {
    for (const a of [...n.attributes]) {
      if (a.name.startsWith("data-wired-") || a.name === "aria-busy" || (a.name === "open" && n.localName === "details")) {
        n.removeAttribute(a.name);
      }
    }
  }
  return copy.outerHTML;
}

/** Where `node` sits in its region: its id, or its nearest id'd ancestor and its index there by tag. */
function keyOf(node) {
  if (node.id) return { id: node.id };
  const owner = node.parentElement && node.parentElement.closest("[id]");
  if (!owner) return null;
  const tag = node.localName;
  return { owner: owner.id, tag, index: [...owner.getElementsByTagName(tag)].indexOf(node) };
}

/** The element of the fresh region `root` at `key` (from keyOf), or null. */
function lookup(root, key) {
  if (!key) return null;
  const byId = (id) => (root.id === id ? root : root.querySelector(`#${CSS.escape(id)}`));
  if (key.id) return byId(key.id);
  const owner = byId(key.owner);
  return (owner && owner.getElementsByTagName(key.tag)[key.index]) || null;
}

/** Fields of `el` the user changed and has not submitted: their key and what they hold now. */
function edits(el) {
  const out = [];
  for (const f of el.querySelectorAll("input, textarea, select")) {
    if (f.type === "hidden" || f.type === "file") continue;
    let changed;
    if (f.localName === "select") {
      changed = [...f.options].some((o) => o.selected !== o.defaultSelected);
    } else if (f.type === "checkbox" || f.type === "radio") {
      changed = f.checked !== f.defaultChecked;
    } else {
      changed = f.value !== f.defaultValue;
    }
    if (changed) out.push({ key: keyOf(f), value: f.value, checked: f.checked });
  }
  return out;
}

/** Puts the user's unsaved `edits` back into the fresh region `root`. */
function restore(root, list) {
  for (const e of list) {
    const f = lookup(root, e.key);
    if (!f || !f.matches("input, textarea, select")) continue;
    if (f.type === "checkbox" || f.type === "radio") f.checked = e.checked;
    else f.value = e.value;
  }
}

const deferred = new Set();

/**
 * Replaces every live region (`[data-live][id]`) of the page by the element
 * with the same id in `doc`, when it differs. Regions holding a focused
 * input (or a dragged card) are skipped and retried when focus leaves them,
 * unless `force` lists them (the form the user just submitted). A swapped
 * region keeps what the user had opened (`<details>`), typed or ticked and
 * not yet submitted, the keyboard selection and the focus.
 */
export function swapRegions(doc, force = []) {
  const swapped = [];
  for (const el of document.querySelectorAll("[data-live][id]")) {
    const fresh = doc.getElementById(el.id);
    if (!fresh) continue;
    const forced = force.includes(el.id);
    if (!forced && busy(el)) {
      deferred.add(el.id);
      continue;
    }
    deferred.delete(el.id);
    // The submitted form's region is always re-rendered (its answer resets
    // or re-opens it); others only when what they show changed.
    if (forced ? fresh.outerHTML === el.outerHTML : settled(fresh) === settled(el)) continue;
    // The submitted form's own answer decides what is open; a refresh
    // keeps what the user opened.
    const open = forced ? [] : [...el.querySelectorAll("details[open]")].map(keyOf);
    const unsaved = forced ? [] : edits(el);
    const selected = [...el.querySelectorAll(".selected[id]")].map((n) => n.id);
    const a = document.activeElement;
    const focus = !forced && a && el.contains(a) ? keyOf(a) : null;
    const node = document.importNode(fresh, true);
    el.replaceWith(node);
    for (const k of open) {
      const d = lookup(node, k);
      if (d && d.localName === "details") d.open = true;
    }
    restore(node, unsaved);
    for (const id of selected) {
      const n = lookup(node, { id });
      if (n) {
        n.classList.add("selected");
        n.setAttribute("tabindex", "-1");
      }
    }
    const f = lookup(node, focus);
    if (f) f.focus({ preventScroll: true });
    swapped.push(node);
  }
  const title = doc.querySelector("title");
  if (title) document.title = title.textContent;
  for (const root of swapped) {
    document.dispatchEvent(new CustomEvent("baton:updated", { detail: { root } }));
  }
  return swapped;
}

/** Fetches `url` (the current page by default) and swaps its live regions. */
export async function refresh(url = location.href) {
  const res = await fetch(url, { credentials: "same-origin", headers: { "X-Baton-Refresh": "1" } });
  if (!res.ok && res.status !== 404) return;
  const doc = new DOMParser().parseFromString(await res.text(), "text/html");
  swapRegions(doc);
}

document.addEventListener("focusout", () => {
  if (deferred.size === 0) return;
  setTimeout(() => {
    const a = document.activeElement;
    for (const id of deferred) {
      const el = document.getElementById(id);
      if (el && !(a && el.contains(a))) {
        refresh();
        return;
      }
    }
  }, 50);
});

/**
 * Posts `data` (a FormData or URLSearchParams) to `url` as a form would and
 * returns { ok, status, doc, url, redirected }: the page the server answered
 * with (after its redirect), parsed.
 */
export async function post(url, data) {
  const body = data instanceof URLSearchParams ? data : new URLSearchParams(data);
  const res = await fetch(url, {
    method: "POST",
    body,
    credentials: "same-origin",
    headers: { "X-Baton-Async": "1" },
  });
  const doc = new DOMParser().parseFromString(await res.text(), "text/html");
  return { ok: res.ok, status: res.status, doc, url: res.url, redirected: res.redirected };
}

/** The first error message the server's page carries, if any. */
export function errorText(doc) {
  const alert = doc.querySelector("[role=alert], .field-error, main h1 + p");
  return alert ? alert.textContent.trim().replace(/\s+/g, " ") : "";
}
