// The form that a button opens in its place (upload a certificate, add an API): its alert, its
// Save and Cancel, the field an error names marked, and what is done once the API said yes.

import { KeyRefused } from "./api.js";
import { alertBox, busy, clear, h, markInvalid, opener, say, showError, uid } from "./dom.js";

/** A problem found before anything is sent, shown like the API's errors, on `control`. */
export class FormProblem extends Error {
  constructor(message, control) {
    super(message);
    this.control = control;
  }
}

/** Shows `error` in `box`: a FormProblem on its control, an API error on the control that its
 * code or target names (`controls`), else focus on the alert. */
export function showFailure(box, error, controls, form) {
  showError(box, error);
  if (error instanceof FormProblem) {
    error.control.setAttribute("aria-invalid", "true");
    error.control.focus();
  } else {
    markInvalid(controls, error, { scope: form, fallback: box });
  }
}

/** `button` (labelled `buttonLabel`) opens `form` (heading `title`, `fields`, `submitLabel`,
 * Cancel). `send()` runs with Save busy and answers the status message; then the form closes and
 * `refresh()` reads the list again. `onError(error)` runs after an error is shown. */
export function openableForm({ buttonLabel, title, fields, first, submitLabel, controls, status, send, refresh, onError }) {
  const errorBox = alertBox();
  const submit = h("button", { type: "submit" }, submitLabel);
  const cancel = h("button", { type: "button", class: "secondary" }, "Cancel");
  const headingId = uid("form-title");
  const form = h(
    "form",
    { class: "panel", hidden: true, "aria-labelledby": headingId, novalidate: true },
    h("h3", { id: headingId }, title),
    fields,
    errorBox,
    h("div", { class: "actions" }, submit, cancel),
  );
  const button = h("button", { type: "button" }, buttonLabel);
  const toggle = opener(button, form, first);
  const reset = () => {
    form.reset();
    clear(errorBox);
    markInvalid(controls, {}, { scope: form });
  };
  cancel.addEventListener("click", () => {
    reset();
    toggle.close();
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(submit, async () => {
      clear(errorBox);
      markInvalid(controls, {}, { scope: form });
      try {
        const message = await send();
        say(status, message);
        reset();
        toggle.close();
        refresh();
      } catch (error) {
        if (error instanceof KeyRefused) return;
        showFailure(errorBox, error, controls, form);
        onError?.(error);
      }
    });
  });
  return { button, form };
}

/** The value of a required text field, else a FormProblem saying `missing`. */
export function required(input, missing) {
  const value = input.value.trim();
  if (!value) throw new FormProblem(missing, input);
  return value;
}

/** The chosen file's bytes, else a FormProblem saying `missing`. */
export async function chosenFile(input, missing) {
  if (!input.files.length) throw new FormProblem(missing, input);
  return input.files[0].arrayBuffer();
}
