// The article editor: a preview that follows the typing (rendered by the server, as readers
// get it), the stored time shown in the editor's timezone, and a copy of unsaved typing kept
// in this browser. Without this script the form still saves and the preview shows the last
// version sent.
"use strict";

const PREVIEW_DELAY = 300; // ms of quiet typing before the body is rendered again

function debounced(fn, delay) {
  let timer;
  return () => {
    clearTimeout(timer);
    timer = setTimeout(fn, delay);
  };
}

function livePreview(form) {
  const token = form.querySelector('input[name="csrf_token"]').value;
  const body = form.querySelector("#body_markdown");
  const target = document.querySelector("[data-preview-body]");
  const status = document.querySelector("[data-preview-status]");
  const number = new Intl.NumberFormat();
  let asked = 0;
  const render = async () => {
    const mine = ++asked;
    try {
      const answer = await fetch(form.dataset.previewUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/json",
          Accept: "application/json",
          "X-CSRFToken": token,
        },
        body: JSON.stringify({ body_markdown: body.value }),
      });
      if (mine !== asked) return; // a later keystroke's preview is on its way
      if (!answer.ok) {
        status.textContent = answer.status === 422
          ? "Too long to preview."
          : `Preview not updated: the server answered ${answer.status}.`;
        return;
      }
      const data = await answer.json();
      target.innerHTML = data.html; // sanitized on the server by the same cleaner as a save
      status.textContent = data.words
        ? `${number.format(data.words)} words · ${data.minutes} min read`
        : "Nothing to preview yet.";
    } catch (error) {
      if (mine === asked) status.textContent = "Preview not updated: the server cannot be reached.";
    }
  };
  body.addEventListener("input", debounced(render, PREVIEW_DELAY));

  // Title, dek and byline are plain text: shown as typed, without asking the server.
  const plain = [
    ["#title", "[data-preview-title]", null],
    ["#dek", "[data-preview-dek]", "[data-preview-dek]"],
    ["#author", "[data-preview-author]", "[data-preview-byline]"],
  ];
  for (const [source, shown, box] of plain) {
    const input = form.querySelector(source);
    const el = document.querySelector(shown);
    input.addEventListener("input", () => {
      const text = input.value.trim();
      el.textContent = text || (box ? "" : "Untitled");
      if (box) document.querySelector(box).hidden = !text;
    });
  }
}

// A stored time arrives in UTC; show it in the editor's zone (admin.js fills `timezone`).
function localTime(form) {
  const input = form.querySelector("input[data-utc]");
  if (!input || !input.value) return;
  const when = new Date(`${input.value}:00Z`);
  if (Number.isNaN(when.getTime())) return;
  const two = (n) => String(n).padStart(2, "0");
  input.value = `${when.getFullYear()}-${two(when.getMonth() + 1)}-${two(when.getDate())}` +
    `T${two(when.getHours())}:${two(when.getMinutes())}`;
  form.querySelector('input[name="timezone"]').value =
    Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

// Typing not yet saved is kept in localStorage, so a closed tab or a crash loses nothing;
// sending the form drops it (an error page shows everything that was sent anyway).
function keepDraft(form) {
  const key = `broadsheet:article-draft:${form.dataset.draftKey}`;
  const fields = [...form.querySelectorAll("input[type=text], input[type=url], " +
    "input[type=datetime-local], textarea")];
  const snapshot = () => Object.fromEntries(fields.map((f) => [f.name, f.value]));
  const shown = JSON.stringify(snapshot());
  const store = {
    read() {
      try { return JSON.parse(localStorage.getItem(key)); } catch (error) { return null; }
    },
    write(value) {
      try { localStorage.setItem(key, JSON.stringify(value)); } catch (error) { /* full, or off */ }
    },
    drop() {
      try { localStorage.removeItem(key); } catch (error) { /* off */ }
    },
  };
  const banner = document.querySelector("[data-draft]");
  const kept = store.read();
  if (banner && kept && kept.fields && JSON.stringify(kept.fields) !== shown) {
    const at = new Date(kept.at);
    banner.querySelector("[data-draft-text]").textContent =
      `This browser kept typing you had not saved (${at.toLocaleString()}).`;
    banner.hidden = false;
    banner.querySelector("[data-draft-restore]").addEventListener("click", () => {
      for (const field of fields) {
        if (field.name in kept.fields) {
          field.value = kept.fields[field.name];
          field.dispatchEvent(new Event("input", { bubbles: true }));
        }
      }
      banner.hidden = true;
      form.querySelector("#body_markdown").focus();
    });
    banner.querySelector("[data-draft-discard]").addEventListener("click", () => {
      store.drop();
      banner.hidden = true;
    });
  }
  form.addEventListener("input", debounced(() => {
    const now = snapshot();
    if (JSON.stringify(now) === shown) store.drop();
    else store.write({ at: Date.now(), fields: now });
  }, 500));
  form.addEventListener("submit", () => store.drop());
}

document.addEventListener("DOMContentLoaded", () => {
  const form = document.querySelector("form[data-preview-url]");
  if (!form) return; // someone who may only read the article gets no form
  livePreview(form);
  localTime(form);
  keepDraft(form);
});
