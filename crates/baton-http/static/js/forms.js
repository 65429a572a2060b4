// data-enhance: a form that posts without leaving the page. The server
// answers as it does for a plain form (303 to the page, or the page with
// the form's errors); the live regions of that answer replace ours, so the
// server stays the truth. A redirect to another page is followed.
// data-confirm="…": asks before submitting (plain forms too).
// data-announce="…": said after success.
import { wire, post, swapRegions, announce, errorText } from "./app.js";

function samePage(url) {
  const u = new URL(url, location.href);
  return u.pathname === location.pathname;
}

wire((root) => {
  for (const form of root.querySelectorAll("form[data-confirm]:not([data-wired-confirm])")) {
    form.dataset.wiredConfirm = "1";
    form.addEventListener("submit", (e) => {
      if (!window.confirm(form.dataset.confirm)) e.preventDefault();
    });
  }
  for (const form of root.querySelectorAll("form[data-enhance]:not([data-wired-enhance])")) {
    form.dataset.wiredEnhance = "1";
    form.addEventListener("submit", async (e) => {
      if (e.defaultPrevented || form.method.toLowerCase() !== "post") return;
      e.preventDefault();
      const data = new FormData(form);
      if (e.submitter?.name) data.append(e.submitter.name, e.submitter.value);
      form.setAttribute("aria-busy", "true");
      try {
        const res = await post(form.action, data);
        if (res.redirected && !samePage(res.url)) {
          location.assign(res.url);
          return;
        }
        const region = form.closest("[data-live][id]");
        swapRegions(res.doc, region ? [region.id] : []);
        if (res.ok) {
          announce(form.dataset.announce || "");
        } else {
          announce(errorText(res.doc) || "That did not work.");
        }
      } catch (err) {
        announce("Network error: nothing was changed. Try again.");
      } finally {
        form.removeAttribute("aria-busy");
      }
    });
  }
});
