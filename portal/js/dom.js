// Building the page: elements from text only (never HTML strings), fields with labels, alerts.

const PROPERTIES = new Set(["value", "checked", "selected", "disabled", "readOnly", "hidden", "required", "multiple", "open"]);
let counter = 0;

/** A fresh id for a label's `for`, an `aria-controls` and the like. */
export function uid(prefix = "id") {
  counter += 1;
  return `${prefix}-${counter}`;
}

/** `h("button", {type: "button", onclick: f}, "Save")`: children are nodes or text. */
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2), value);
    } else if (name === "class") {
      element.className = value;
    } else if (PROPERTIES.has(name)) {
      element[name] = value;
    } else {
      element.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(element, children);
  return element;
}

export function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

/** A labelled control: `<div class="field"><label>…</label>control<p class="hint">…</p></div>`. */
export function field(label, control, hint) {
  control.id ||= uid("field");
  const parts = [h("label", { for: control.id }, label), control];
  if (hint) {
    const hintId = uid("hint");
    control.setAttribute("aria-describedby", hintId);
    parts.push(h("p", { class: "hint", id: hintId }, hint));
  }
  return h("div", { class: "field" }, parts);
}

/** A checkbox with its label after it. */
export function checkbox(label, checked, props = {}) {
  const input = h("input", { type: "checkbox", id: uid("check"), checked, ...props });
  return { input, element: h("div", { class: "check" }, input, h("label", { for: input.id }, label)) };
}

export function alertBox() {
  return h("div", { role: "alert", class: "alert" });
}

export function statusBox() {
  return h("p", { role: "status", class: "status" });
}

/** An error of the API in an alert: its message, its code, and each detail (the APIs that use a
 * certificate, say). Any other error is shown by its message: nothing fails silently. */
export function showError(box, error) {
  box.classList.remove("warning");
  const message = [error.message || String(error)];
  if (error.code) message.push(" ", h("span", { class: "code-name" }, `(${error.code})`));
  const details = Array.isArray(error.details) ? error.details : [];
  box.replaceChildren();
  if (details.length) {
    box.append(h("p", {}, message), h("ul", {}, details.map((d) => h("li", {}, d.message || d.target || d.code))));
  } else {
    append(box, message);
  }
}

export function showWarning(box, ...content) {
  box.classList.add("warning");
  box.replaceChildren(...content.map((c) => (c instanceof Node ? c : document.createTextNode(c))));
}

export function clear(box) {
  box.classList.remove("warning");
  box.replaceChildren();
}

export function say(box, text) {
  box.textContent = text;
}

/** A table inside a focusable region. On a narrow screen each row becomes a card whose cells
 * carry their column's name (`data-label`); the explicit roles keep it a table for assistive
 * technology whatever its CSS display. */
export function table(name, columns, rows, emptyText) {
  const body = rows.length
    ? rows
    : [h("tr", {}, h("td", { colspan: columns.length, class: "empty" }, emptyText))];
  for (const row of body) {
    row.setAttribute("role", "row");
    [...row.children].forEach((cell, i) => {
      cell.setAttribute("role", cell.tagName === "TH" ? "rowheader" : "cell");
      if (rows.length) cell.dataset.label = columns[i];
    });
    // "Delete", "Edit": the same name on every row, described by the row's name.
    const header = row.querySelector("th");
    if (header) {
      header.id ||= uid("row");
      for (const button of row.querySelectorAll("button")) button.setAttribute("aria-describedby", header.id);
    }
  }
  return h(
    "div",
    { class: "table-wrap", role: "region", "aria-label": `${name} table`, tabindex: "0" },
    h(
      "table",
      { role: "table" },
      h("caption", {}, name),
      h("thead", { role: "rowgroup" }, h("tr", { role: "row" }, columns.map((c) => h("th", { scope: "col", role: "columnheader" }, c)))),
      h("tbody", { role: "rowgroup" }, body),
    ),
  );
}

/** Text as an ISO date (YYYY-MM-DD), the way Azure's portal lists expiry. */
export function day(iso) {
  return typeof iso === "string" ? iso.slice(0, 10) : "";
}

/** The expiry flag of a certificate: within 30 days, today, or past. */
export function expiryFlag(days) {
  if (typeof days !== "number") return null;
  if (days < 0) return h("span", { class: "flag bad" }, "Expired");
  if (days === 0) return h("span", { class: "flag bad" }, "Expires today");
  if (days <= 30) return h("span", { class: "flag warn" }, `Expires in ${days} day${days === 1 ? "" : "s"}`);
  return null;
}

/** A thumbprint with its last four characters apart, as the contract asks. */
export function thumbprintCell(thumbprint) {
  const text = String(thumbprint ?? "");
  return h("td", { class: "thumbprint" }, h("code", {}, text.slice(0, -4)), " ", h("strong", {}, text.slice(-4)));
}

/** Bytes as base64 (a .pfx or a certificate file for the API's `data`). */
export function base64(buffer) {
  const bytes = new Uint8Array(buffer);
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/** Marks the control that an error names (by its `target`, the longest key its target starts
 * with, else its code) and moves focus to it, else to `fallback` (the form's alert). Marks left by
 * an earlier error in `scope` are cleared first. */
export function markInvalid(controls, error, { scope, fallback } = {}) {
  for (const control of Object.values(controls)) control.removeAttribute("aria-invalid");
  for (const control of scope?.querySelectorAll("[aria-invalid]") ?? []) control.removeAttribute("aria-invalid");
  if (!error.code && !error.target) return;
  let control = controls[error.target];
  if (!control && typeof error.target === "string") {
    const key = Object.keys(controls).filter((k) => error.target.startsWith(`${k}.`)).sort((a, b) => b.length - a.length)[0];
    control = key && controls[key];
  }
  control ||= controls[error.code];
  if (control) {
    control.setAttribute("aria-invalid", "true");
    control.focus();
  } else if (fallback) {
    fallback.tabIndex = -1;
    fallback.focus();
  }
}

/** A button that opens a form in its place; the form's Cancel (or a success) closes it again. */
export function opener(button, form, firstControl) {
  const open = () => {
    button.hidden = true;
    form.hidden = false;
    button.setAttribute("aria-expanded", "true");
    firstControl.focus();
  };
  const close = () => {
    form.hidden = true;
    button.hidden = false;
    button.setAttribute("aria-expanded", "false");
    button.focus();
  };
  form.id ||= uid("form");
  button.setAttribute("aria-controls", form.id);
  button.setAttribute("aria-expanded", "false");
  button.addEventListener("click", open);
  return { open, close };
}

/** Runs a form's submit with its button busy meanwhile. A disabled button loses focus: it
 * gets it back afterwards unless the work moved focus somewhere on purpose. */
export async function busy(button, work) {
  const focused = document.activeElement === button;
  button.disabled = true;
  try {
    return await work();
  } finally {
    button.disabled = false;
    const lost = !document.activeElement || document.activeElement === document.body;
    if (focused && lost && button.isConnected && !button.closest("[hidden]")) button.focus();
  }
}
