// data-dnd-item / data-dnd-zone: native HTML5 drag-and-drop that submits
// the same move form a keyboard user reaches through the card's "Move…"
// control (so every drag has a single-pointer and keyboard alternative).
//
//   <ul data-dnd-zone data-dnd-accept="task" data-dnd-field="status"
//       data-dnd-value="in_progress" data-dnd-label="In progress">
//     <li data-dnd-item data-dnd-kind="task" draggable="true"
//         data-code="T-12" data-move-url="/products/P/tasks/T-12/moves">
//
// On drop the item moves at once (optimistic) and the module posts
// {field: value, before: next item's code, after: previous item's code,
// return_to: this page}. The server's answer is the truth: its live
// regions replace ours, so a refusal moves the card back, and the reason is
// announced. Focus returns to the card's [data-move-button].
import { wire, post, swapRegions, announce, errorText } from "./app.js";

let dragged = null;
let origin = null;

function itemAfter(zone, x, y) {
  const items = [...zone.querySelectorAll(":scope > [data-dnd-item], :scope > * > [data-dnd-item]")]
    .filter((el) => el !== dragged && el.closest("[data-dnd-zone]") === zone);
  const horizontal = zone.dataset.dndAxis === "x";
  for (const el of items) {
    const r = el.getBoundingClientRect();
    const mid = horizontal ? r.left + r.width / 2 : r.top + r.height / 2;
    if ((horizontal ? x : y) < mid) return el;
  }
  return null;
}

function siblingCode(el, dir) {
  let s = dir > 0 ? el.nextElementSibling : el.previousElementSibling;
  while (s && !s.matches("[data-dnd-item]")) s = dir > 0 ? s.nextElementSibling : s.previousElementSibling;
  return s ? s.dataset.code || "" : "";
}

async function drop(item, zone) {
  const data = new URLSearchParams();
  data.set(zone.dataset.dndField, zone.dataset.dndValue || "");
  data.set("before", siblingCode(item, 1));
  data.set("after", siblingCode(item, -1));
  data.set("return_to", location.pathname + location.search);
  const code = item.dataset.code || "";
  const id = item.id;
  try {
    const res = await post(item.dataset.moveUrl, data);
    swapRegions(res.doc);
    if (res.ok) {
      announce(`Moved ${code} to ${zone.dataset.dndLabel || zone.dataset.dndValue || "its new place"}.`);
    } else {
      announce(`${code} was not moved: ${errorText(res.doc) || "refused"}.`);
    }
  } catch (err) {
    if (origin) origin.parent.insertBefore(item, origin.next);
    announce(`${code} was not moved: network error.`);
  }
  const again = id && document.getElementById(id);
  const button = again && again.querySelector("[data-move-button]");
  if (button) button.focus();
}

wire((root) => {
  for (const item of root.querySelectorAll("[data-dnd-item]:not([data-wired-dnd])")) {
    item.dataset.wiredDnd = "1";
    if (item.matches("[data-dnd-disabled]")) continue;
    item.addEventListener("dragstart", (e) => {
      dragged = item;
      origin = { parent: item.parentNode, next: item.nextSibling, zone: item.closest("[data-dnd-zone]") };
      e.dataTransfer.effectAllowed = "move";
      e.dataTransfer.setData("text/plain", item.dataset.code || "");
      item.classList.add("dragging");
      e.stopPropagation();
    });
    item.addEventListener("dragend", () => {
      item.classList.remove("dragging");
      for (const z of document.querySelectorAll(".dnd-over")) z.classList.remove("dnd-over");
      // Dropped outside any zone: put it back.
      if (dragged && origin && !item.dataset.dropped) origin.parent.insertBefore(item, origin.next);
      delete item.dataset.dropped;
      dragged = null;
    });
  }
  for (const zone of root.querySelectorAll("[data-dnd-zone]:not([data-wired-zone])")) {
    zone.dataset.wiredZone = "1";
    const accepts = () => dragged && (!zone.dataset.dndAccept || zone.dataset.dndAccept === dragged.dataset.dndKind);
    zone.addEventListener("dragover", (e) => {
      if (!accepts()) return;
      e.preventDefault();
      e.stopPropagation();
      zone.classList.add("dnd-over");
      const after = itemAfter(zone, e.clientX, e.clientY);
      const list = zone.matches("[data-dnd-list]") ? zone : zone.querySelector("[data-dnd-list]") || zone;
      if (after) after.parentNode.insertBefore(dragged, after);
      else list.appendChild(dragged);
    });
    zone.addEventListener("dragleave", (e) => {
      if (!zone.contains(e.relatedTarget)) zone.classList.remove("dnd-over");
    });
    zone.addEventListener("drop", (e) => {
      if (!accepts()) return;
      e.preventDefault();
      e.stopPropagation();
      zone.classList.remove("dnd-over");
      const item = dragged;
      item.dataset.dropped = "1";
      const unchanged = origin && origin.zone === zone && origin.next === item.nextSibling;
      if (!unchanged) drop(item, zone);
    });
  }
});
