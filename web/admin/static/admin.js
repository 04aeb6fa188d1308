// Broadsheet admin: small enhancements; every page works without them.
"use strict";

// Show times in the reader's own timezone too: the page says UTC, this adds local time.
function localTimes(root) {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (zone === "UTC" || zone === "Etc/UTC") return; // the page already says UTC
  const format = new Intl.DateTimeFormat(undefined, {
    weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit",
    timeZoneName: "short",
  });
  for (const el of root.querySelectorAll("time[data-local]")) {
    if (el.dataset.shown) continue;
    const when = new Date(el.getAttribute("datetime"));
    if (Number.isNaN(when.getTime())) continue;
    const local = document.createElement("span");
    local.className = "muted";
    local.textContent = ` (${format.format(when)})`;
    el.after(local);
    el.dataset.shown = "1";
  }
}

document.addEventListener("DOMContentLoaded", () => localTimes(document));
