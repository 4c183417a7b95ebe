// The confirmation dialog of every delete: a modal <dialog>, focus on "Cancel", back on the
// button that opened it when it closes; the API's refusal is shown inside it.

import { KeyRefused, call } from "./api.js";
import { alertBox, clear, h, say, showError, showWarning, uid } from "./dom.js";

/** Asks "Yes, delete it"; `confirm` runs the delete (its error stays in the dialog). */
export function confirmDelete({ title, body = [], warning = null, confirm, opener, onDone }) {
  const titleId = uid("dialog-title");
  const errorBox = alertBox();
  const yes = h("button", { type: "button", class: "danger" }, "Yes, delete it");
  const cancel = h("button", { type: "button", class: "secondary" }, "Cancel");
  const dialog = h(
    "dialog",
    { "aria-labelledby": titleId },
    h("h3", { id: titleId }, title),
    body,
    warning,
    errorBox,
    h("div", { class: "actions" }, yes, cancel),
  );
  let deleted = false;
  dialog.addEventListener("close", () => {
    dialog.remove();
    if (opener?.isConnected) opener.focus();
    onDone?.(deleted);
  });
  cancel.addEventListener("click", () => dialog.close());
  yes.addEventListener("click", async () => {
    yes.disabled = true;
    cancel.disabled = true;
    clear(errorBox);
    try {
      await confirm();
      deleted = true;
      dialog.close();
    } catch (error) {
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

/** The delete of one resource: the dialog reads it again first and names the APIs that use it
 * now (`usedBy`), then "Yes, delete it" asks the API, whose refusal (409, one detail per API) stays
 * in the dialog. */
export async function deleteResource({ noun, path, name, consequence, opener, status, refresh }) {
  let warning;
  try {
    const { data } = await call("GET", path);
    warning = inUseWarning(noun, name, data?.properties?.usedBy ?? []);
  } catch (error) {
    if (error instanceof KeyRefused) return;
    warning = alertBox();
    if (error.status !== 404) showError(warning, error);
  }
  confirmDelete({
    title: `Delete ${noun.toLowerCase()} ${name}?`,
    body: [h("p", {}, consequence)],
    warning,
    opener,
    confirm: async () => {
      const answer = await call("DELETE", path);
      say(status, answer.status === 204 ? `${noun} '${name}' was already gone.` : `${noun} '${name}' deleted.`);
    },
    onDone: (deleted) => {
      if (!deleted) return;
      // The row and its Delete button go with the refresh: focus moves to what was done.
      status.tabIndex = -1;
      status.focus();
      refresh();
    },
  });
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
