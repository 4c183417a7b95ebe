// The confirmation dialog of every delete: a modal <dialog>, focus on "Cancel", back on the
// button that opened it when it closes; the API's refusal is shown inside it.

import { KeyRefused, call } from "./api.js";
import { alertBox, clear, h, say, showError, showWarning, uid } from "./dom.js";

/** Asks "Yes, delete it"; `confirm` runs the delete (its error stays in the dialog, and the dialog
 * cannot be dismissed while it runs, so its outcome is always seen). */
export function confirmDelete({ title, body = [], warning = null, confirm, opener, onDone }) {
  const titleId = uid("dialog-title");
  const bodyId = uid("dialog-body");
  const errorBox = alertBox();
  const yes = h("button", { type: "button", class: "danger" }, "Yes, delete it");
  const cancel = h("button", { type: "button", class: "secondary" }, "Cancel");
  if (warning) warning.id ||= uid("dialog-warning");
  const dialog = h(
    "dialog",
    { "aria-labelledby": titleId, "aria-describedby": [bodyId, warning?.id].filter(Boolean).join(" ") },
    h("h3", { id: titleId }, title),
    h("div", { id: bodyId }, body),
    warning,
    errorBox,
    h("div", { class: "actions" }, yes, cancel),
  );
  let deleted = false;
  let pending = false;
  dialog.addEventListener("cancel", (event) => {
    if (pending) event.preventDefault(); // Escape while the delete runs
  });
  dialog.addEventListener("close", () => {
    dialog.remove();
    if (opener?.isConnected) opener.focus();
    onDone?.(deleted);
  });
  cancel.addEventListener("click", () => dialog.close());
  yes.addEventListener("click", async () => {
    pending = true;
    yes.disabled = true;
    cancel.disabled = true;
    clear(errorBox);
    try {
      await confirm();
      deleted = true;
      pending = false;
      dialog.close();
    } catch (error) {
      pending = false;
      if (error instanceof KeyRefused) {
        dialog.close();
        return;
      }
      showError(errorBox, error);
      yes.disabled = false;
      cancel.disabled = false;
      cancel.focus();
    }
  });
  document.body.append(dialog);
  dialog.showModal();
  cancel.focus();
  return dialog;
}

/** Closes every delete dialog (the view under it is going away). */
export function closeDialogs() {
  for (const dialog of document.querySelectorAll("dialog.confirm[open]")) dialog.close();
}

/** The delete of one resource: the dialog reads it again first and names the APIs that use it
 * now (`usedBy`), then "Yes, delete it" asks the API, whose refusal (409, one detail per API) stays
 * in the dialog. `title`: the noun of the dialog's title ("CA certificate"). */
export async function deleteResource({ noun, title, path, name, consequence, opener, status, refresh }) {
  if (opener.disabled) return; // a second click while the first one reads the resource
  opener.disabled = true;
  let warning;
  try {
    const { data } = await call("GET", path);
    warning = inUseWarning(noun, name, data?.properties?.usedBy ?? []);
  } catch (error) {
    if (error instanceof KeyRefused) return;
    warning = alertBox();
    if (error.status !== 404) showError(warning, error);
  } finally {
    opener.disabled = false;
  }
  if (!opener.isConnected) return; // the view was left meanwhile
  let done = "";
  const dialog = confirmDelete({
    title: `Delete ${title} ${name}?`,
    body: [h("p", {}, consequence)],
    warning,
    opener,
    confirm: async () => {
      const answer = await call("DELETE", path);
      done = answer.status === 204 ? `${noun} '${name}' was already gone.` : `${noun} '${name}' deleted.`;
    },
    onDone: (deleted) => {
      if (!deleted) return;
      // Said once the dialog is closed (the page under a modal dialog is inert), and focused:
      // the row and its Delete button go with the refresh.
      say(status, done);
      status.tabIndex = -1;
      status.focus();
      refresh();
    },
  });
  dialog.classList.add("confirm");
}

/** A row's "Delete" button: `deleteResource` with it as the opener. */
export function deleteButton(options) {
  const button = h("button", { type: "button", class: "secondary" }, "Delete");
  button.addEventListener("click", () => deleteResource({ ...options, opener: button }));
  return button;
}

/** The in-use warning of a delete dialog, naming every API. */
function inUseWarning(noun, name, apis) {
  const box = alertBox();
  if (apis.length) {
    const whom = apis.length === 1 ? "the API" : `${apis.length} APIs`;
    showWarning(box, `${noun} '${name}' is used by ${whom}: ${apis.join(", ")}. `, "The delete is refused while they use it: change those APIs first.");
  }
  return box;
}
