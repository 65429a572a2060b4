// The bid form of an opportunity (area "browse"):
// - data-browse-fee="URL" on the amount input: as the amount changes, the
//   fee preview region (#fee-preview) is replaced by the server's partial
//   from URL?amount=…&currency=… (the same computation as the bid answer).
// - data-browse-count="N" on a textarea: a live character counter in the
//   element its aria-describedby names, saying how many are still missing.
// Without JavaScript the "Preview fee" button re-renders the page instead.
import { wire } from "./app.js";

function wireFee(input) {
  if (input.dataset.wiredBrowseFee) return;
  input.dataset.wiredBrowseFee = "1";
  let timer = null;
  let seq = 0;
  const update = async () => {
    const form = input.form;
    const region = document.getElementById("fee-preview");
    if (!form || !region) return;
    const currency = form.elements.namedItem("currency")?.value || "";
    const url = `${input.dataset.browseFee}?amount=${encodeURIComponent(input.value.trim())}&currency=${encodeURIComponent(currency)}`;
    const mine = ++seq;
    try {
      const res = await fetch(url, { headers: { Accept: "text/html" }, credentials: "same-origin" });
      if (!res.ok || mine !== seq) return;
      const tpl = document.createElement("template");
      tpl.innerHTML = (await res.text()).trim();
      const fresh = tpl.content.firstElementChild;
      if (fresh && fresh.id === "fee-preview") region.replaceWith(fresh);
    } catch (e) {
      console.error(e);
    }
  };
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(update, 250);
  });
  if (input.value.trim()) update();
}

function wireCount(area) {
  if (area.dataset.wiredBrowseCount) return;
  area.dataset.wiredBrowseCount = "1";
  const min = Number(area.dataset.browseCount) || 0;
  const out = document.getElementById((area.getAttribute("aria-describedby") || "").split(" ")[0]);
  if (!out) return;
  const show = () => {
    const n = [...area.value.trim()].length;
    out.textContent = n < min ? `${n} characters — ${min - n} more needed` : `${n} characters`;
    out.classList.toggle("short", n < min);
  };
  area.addEventListener("input", show);
  show();
}

wire((root) => {
  root.querySelectorAll("[data-browse-fee]").forEach(wireFee);
  root.querySelectorAll("[data-browse-count]").forEach(wireCount);
});
