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

// A hidden `timezone` field says which zone a typed date and time is in.
function fillTimezones(root) {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  for (const input of root.querySelectorAll("input[data-timezone]")) input.value = zone;
  for (const hint of root.querySelectorAll("[data-timezone-name]")) hint.textContent = zone;
}

// The preview frames in light or dark mode, as a mail client in that mode shows them.
function schemeSwitch(root) {
  for (const button of root.querySelectorAll("button[data-scheme]")) {
    button.addEventListener("click", () => {
      const scheme = button.dataset.scheme;
      for (const other of root.querySelectorAll("button[data-scheme]")) {
        other.setAttribute("aria-pressed", String(other === button));
      }
      for (const frame of root.querySelectorAll("iframe[data-preview-frame]")) {
        const url = new URL(frame.src, location.href);
        url.searchParams.set("scheme", scheme);
        frame.src = url.toString();
      }
    });
  }
}

// When a campaign that ended while the page was open finished, how long it took, its pace.
function showFinished(timing, data) {
  if (!timing || !timing.hidden) return;
  const at = new Date(data.finished.at);
  const time = document.createElement("time");
  time.dateTime = data.finished.at;
  time.dataset.local = "";
  time.textContent = `${new Intl.DateTimeFormat("en-GB", {
    day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit",
    timeZone: "UTC",
  }).format(at)} UTC`;
  timing.querySelector('[data-timing="at"]').replaceChildren(time);
  for (const key of ["took", "pace"]) {
    const value = timing.querySelector(`[data-timing="${key}"]`);
    value.textContent = data.finished[key] || "";
    value.parentElement.hidden = !data.finished[key];
  }
  timing.querySelector("[data-timing-label]").textContent =
    data.status === "cancelled" ? "Cancelled" : "Finished";
  timing.hidden = false;
  localTimes(timing);
}

// The page's live parts (pace, chart, failures, rates), rendered afresh by the server: each
// replaces its element, keeping open whichever of its <details> the reader opened.
function swapFragments(fragments) {
  for (const [name, html] of Object.entries(fragments)) {
    const el = document.querySelector(`[data-fragment="${name}"]`);
    if (!el || el.innerHTML === html) continue;
    const open = [...el.querySelectorAll("details[open]")].map((d) => d.closest("[id]")?.id);
    el.innerHTML = html;
    for (const id of open) {
      const details = id && el.querySelector(`#${CSS.escape(id)} details`);
      if (details) details.open = true;
    }
    localTimes(el);
  }
}

// A campaign's delivery, kept up to date without reloading while it is scheduled, sending
// or paused: the counts, the bar, the status label and which controls are offered.
function liveDelivery(card) {
  const url = card.dataset.progressUrl;
  const number = new Intl.NumberFormat();
  const live = new Set(["scheduled", "sending", "paused"]);
  let status = card.dataset.status;
  if (!live.has(status)) return;
  const show = (data) => {
    for (const [key, value] of Object.entries(data.counts)) {
      for (const el of card.querySelectorAll(`[data-count="${key}"]`)) {
        (el.querySelector("a") || el).textContent = number.format(value); // keep its link
      }
    }
    const bar = card.querySelector("[data-live-bar]");
    if (bar) {
      bar.max = Math.max(data.counts.total, 1);
      bar.value = data.done;
    }
    const meter = card.querySelector("[data-live-meter]");
    if (meter) meter.hidden = data.counts.total === 0;
    const done = card.querySelector("[data-live-done]");
    if (done) done.textContent = number.format(data.done);
    const planning = card.querySelector("[data-live-planning]");
    if (planning) planning.hidden = data.counts.total !== 0;
    if (data.finished) showFinished(card.querySelector("[data-live-timing]"), data);
    swapFragments(data.fragments || {});
    const counted = card.querySelector("[data-counted-at]");
    if (counted && data.counted_at) {
      counted.dateTime = data.counted_at;
      counted.textContent = `${new Date(data.counted_at).toISOString().slice(11, 19)} UTC`;
    }
    for (const label of document.querySelectorAll("[data-live-status]")) {
      label.textContent = data.status;
      label.dataset.status = data.status;
    }
    const pause = document.querySelector("[data-live-pause]");
    if (pause) {
      pause.textContent = data.pause_reason || "";
      pause.hidden = !data.pause_reason;
    }
    for (const form of card.querySelectorAll("form[data-when]")) {
      const needed = form.dataset.needs ? data.counts[form.dataset.needs] > 0 : true;
      form.hidden = !needed || !form.dataset.when.split(" ").includes(data.status);
    }
    if (status === "scheduled" && data.status !== "scheduled") {
      location.reload(); // the send started: the page's steps give way to its progress
    }
    status = data.status;
    card.dataset.status = status;
  };
  const poll = async () => {
    try {
      const answer = await fetch(url, { headers: { Accept: "application/json" } });
      if (answer.ok) show(await answer.json());
    } catch (error) {
      // A network hiccup: try again at the next tick.
    }
    if (live.has(status)) setTimeout(poll, status === "sending" ? 1500 : 5000);
    // Once final, one last look after the next tick, which takes the send's last sample.
    else if (!settled) {
      settled = true;
      setTimeout(poll, 6000);
    }
  };
  let settled = false;
  setTimeout(poll, 1000);
}

// A segment's readers, counted only when asked (a count reads every reader it could hold):
// a link in the list, or a campaign's audience as it is chosen. Without the script the link
// opens the segment's page, which counts it.
async function fetchCount(url) {
  const answer = await fetch(url, { headers: { Accept: "application/json" } });
  if (!answer.ok) throw new Error(`${answer.status}`);
  return (await answer.json()).text;
}

function countsOnRequest(root) {
  for (const link of root.querySelectorAll("a[data-count-url]")) {
    link.addEventListener("click", async (event) => {
      event.preventDefault();
      link.textContent = "Counting…";
      try {
        link.replaceWith(await fetchCount(link.dataset.countUrl));
      } catch (error) {
        link.textContent = "Could not count: open its page";
        link.removeAttribute("data-count-url");
      }
    });
  }
  // A campaign's audience on its forms: counted again as newsletters are ticked or a
  // segment chosen (the server counted the choice the page was made with).
  for (const fieldset of root.querySelectorAll("fieldset[data-audience-count-url]")) {
    const out = fieldset.querySelector(".audience-count");
    const show = async () => {
      const query = new URLSearchParams();
      for (const box of fieldset.querySelectorAll("input[name=newsletters]:checked")) {
        query.append("newsletters", box.value);
      }
      query.set("segment", fieldset.querySelector("select[name=segment]").value);
      out.textContent = "Counting its readers…";
      try {
        const answer = await fetch(`${fieldset.dataset.audienceCountUrl}?${query}`, {
          headers: { Accept: "application/json" },
        });
        const data = await answer.json();
        out.textContent = answer.ok
          ? data.text
          : `Cannot be counted: ${Object.values(data.errors || {}).join("; ")}`;
      } catch (error) {
        out.textContent = "Its readers could not be counted; the draft's page counts them.";
      }
    };
    fieldset.addEventListener("change", show);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  countsOnRequest(document);
  fillTimezones(document);
  schemeSwitch(document);
  for (const card of document.querySelectorAll("[data-progress-url]")) liveDelivery(card);
});

// An import of readers being checked or run: its bar and counts kept up to date without a
// reload; when its state changes (checked, done, failed), the page is loaded again for it.
function liveImport(section) {
  const number = new Intl.NumberFormat();
  const poll = async () => {
    try {
      const answer = await fetch(section.dataset.importUrl, { headers: { Accept: "application/json" } });
      if (answer.ok) {
        const data = await answer.json();
        if (data.status !== section.dataset.status) {
          location.reload();
          return;
        }
        const bar = section.querySelector("[data-import-bar]");
        if (bar && data.share !== null) bar.value = data.share;
        for (const [key, value] of Object.entries(data.counts)) {
          for (const el of section.querySelectorAll(`[data-import-count="${key}"]`)) {
            el.textContent = number.format(value);
          }
        }
      }
    } catch (error) {
      // A network hiccup: try again at the next tick.
    }
    setTimeout(poll, 1000);
  };
  if (["checking", "running"].includes(section.dataset.status)) setTimeout(poll, 1000);
}

document.addEventListener("DOMContentLoaded", () => {
  for (const section of document.querySelectorAll("[data-import-url]")) liveImport(section);
});
