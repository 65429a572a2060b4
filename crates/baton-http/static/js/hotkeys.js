// data-hotkey="e": pressing the key activates that visible control.
// data-nav-item: j/k (or arrows with Alt) move the selection through the
// page's items; Enter opens the selected item's [data-open] link.
// "?" lists the page's shortcuts; they can be switched off there
// (remembered in this browser only). Keys are ignored while typing.
import { wire } from "./app.js";

const OFF = "baton.hotkeys.off";
const enabled = () => localStorage.getItem(OFF) !== "1";

function typing(e) {
  const t = e.target;
  return t instanceof Element && (t.matches("input, textarea, select, [contenteditable]") || t.closest("dialog[open]"));
}

function visible(el) {
  return !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
}

function select(delta) {
  const items = [...document.querySelectorAll("[data-nav-item]")].filter(visible);
  if (!items.length) return;
  const current = items.findIndex((el) => el.classList.contains("selected"));
  const next = items[Math.max(0, Math.min(items.length - 1, current + delta))] || items[0];
  for (const el of items) el.classList.remove("selected");
  next.classList.add("selected");
  next.setAttribute("tabindex", "-1");
  next.focus();
  next.scrollIntoView({ block: "nearest" });
}

function help() {
  let dialog = document.getElementById("hotkey-help");
  if (!dialog) {
    dialog = document.createElement("dialog");
    dialog.id = "hotkey-help";
    dialog.setAttribute("aria-labelledby", "hotkey-help-title");
    document.body.appendChild(dialog);
  }
  const rows = [["j / k", "next / previous item"], ["Enter", "open the selected item"], ["?", "this list"]];
  for (const el of document.querySelectorAll("[data-hotkey]")) {
    if (visible(el)) rows.push([el.dataset.hotkey, (el.textContent || el.getAttribute("aria-label") || "").trim()]);
  }
  dialog.replaceChildren();
  const h = document.createElement("h2");
  h.id = "hotkey-help-title";
  h.textContent = "Keyboard shortcuts";
  const list = document.createElement("dl");
  for (const [k, what] of rows) {
    const dt = document.createElement("dt");
    const kbd = document.createElement("kbd");
    kbd.textContent = k;
    dt.appendChild(kbd);
    const dd = document.createElement("dd");
    dd.textContent = what;
    list.append(dt, dd);
  }
  const toggle = document.createElement("button");
  toggle.type = "button";
  toggle.textContent = enabled() ? "Switch shortcuts off" : "Switch shortcuts on";
  toggle.addEventListener("click", () => {
    localStorage.setItem(OFF, enabled() ? "1" : "0");
    dialog.close();
  });
  const close = document.createElement("button");
  close.type = "button";
  close.textContent = "Close";
  close.addEventListener("click", () => dialog.close());
  dialog.append(h, list, toggle, close);
  dialog.showModal();
}

document.addEventListener("keydown", (e) => {
  if (e.ctrlKey || e.metaKey || e.altKey || typing(e)) return;
  if (e.key === "?") {
    e.preventDefault();
    help();
    return;
  }
  if (!enabled()) return;
  if (e.key === "j" || e.key === "ArrowDown" && document.activeElement?.matches("[data-nav-item]")) {
    e.preventDefault();
    select(1);
  } else if (e.key === "k" || e.key === "ArrowUp" && document.activeElement?.matches("[data-nav-item]")) {
    e.preventDefault();
    select(-1);
  } else if (e.key === "Enter" && document.activeElement?.matches("[data-nav-item]")) {
    const link = document.activeElement.querySelector("[data-open]");
    if (link) link.click();
  } else {
    const target = [...document.querySelectorAll(`[data-hotkey="${CSS.escape(e.key)}"]`)].find(visible);
    if (target && !target.disabled) {
      e.preventDefault();
      if (target.matches("input, textarea, select")) target.focus();
      else target.click();
    }
  }
});

// Menus (<details data-menu>) close on Escape and on a click elsewhere.
wire(() => {});
document.addEventListener("click", (e) => {
  for (const d of document.querySelectorAll("details[data-menu][open]")) {
    if (!d.contains(e.target)) d.removeAttribute("open");
  }
});
document.addEventListener("keydown", (e) => {
  if (e.key !== "Escape") return;
  for (const d of document.querySelectorAll("details[data-menu][open], details[data-popover][open]")) {
    d.removeAttribute("open");
    d.querySelector("summary")?.focus();
  }
});
