// Named values: the values that credentials refer to as {{name}}. A secret value is typed in a
// password field and never shown back (the API never returns it).

import { KeyRefused, call, id } from "./api.js";
import { listing } from "./lists.js";
import { deleteButton } from "./dialogs.js";
import { alertBox, busy, checkbox, clear, field, h, markInvalid, say, statusBox } from "./dom.js";
import { required, showFailure } from "./forms.js";

export function renderNamedValues(view) {
  const status = statusBox();
  const listAlert = alertBox();
  const list = h("div");
  const add = h("button", { type: "button" }, "Add named value");
  const editor = namedValueForm(status, () => refresh(), add);
  add.addEventListener("click", () => editor.open(null));
  view.append(h("h2", { tabindex: "-1" }, "Named values"), status, add, editor.form, listAlert, list);

  const refresh = listing(list, listAlert, {
    name: "Named values",
    path: "management/namedValues",
    columns: ["Name", "Display name", "Value", "Tags", "Actions"],
    row,
    empty: "No named values yet.",
  });

  function row(item) {
    const p = item.properties;
    const edit = h("button", { type: "button", class: "secondary" }, "Edit");
    edit.addEventListener("click", () => editor.open(item, edit));
    const remove = deleteButton({
      noun: "Named value",
      path: `management/namedValues/${id(item.name)}`,
      name: item.name,
      title: "named value",
      consequence: "The delete is refused while an API's credentials refer to it as {{name}}. This cannot be undone.",
      status,
      refresh,
    });
    return h(
      "tr",
      {},
      h("th", { scope: "row" }, item.name),
      h("td", {}, p.displayName),
      h("td", { class: "subject" }, p.secret ? h("span", { class: "flag info" }, "Secret (hidden)") : h("code", {}, p.value ?? "")),
      h("td", {}, (p.tags ?? []).join(", ")),
      h("td", {}, h("div", { class: "actions" }, edit, remove)),
    );
  }

  refresh();
}

function namedValueForm(status, refresh, addButton) {
  const name = h("input", { type: "text", required: true, autocomplete: "off", spellcheck: "false", maxlength: "80" });
  const displayName = h("input", { type: "text", autocomplete: "off" });
  const value = h("input", { type: "text", autocomplete: "off", spellcheck: "false" });
  const secret = checkbox("Secret", true);
  const tags = h("input", { type: "text", autocomplete: "off" });
  const errorBox = alertBox();
  const submit = h("button", { type: "submit" }, "Save");
  const cancel = h("button", { type: "button", class: "secondary" }, "Cancel");
  const heading = h("h3", { id: "named-value-title" }, "Named value");
  const form = h(
    "form",
    { class: "panel", hidden: true, "aria-labelledby": "named-value-title", novalidate: true },
    heading,
    field("Name", name, "Credentials refer to it as {{name}}."),
    field("Display name", displayName, "Empty: the name."),
    field("Value", value),
    secret.element,
    field("Tags (comma-separated)", tags),
    errorBox,
    h("div", { class: "actions" }, submit, cancel),
  );
  const controls = { InvalidIdentifier: name, "properties.value": value, "properties.displayName": displayName, "properties.tags": tags };
  let returnFocus = addButton;
  let shown = { tags: "", stored: [] }; // the tags as shown, so that an untouched field sends them as stored

  const showSecret = () => {
    value.type = secret.input.checked ? "password" : "text";
  };
  secret.input.addEventListener("change", showSecret);

  function open(item, from) {
    returnFocus = from ?? addButton;
    form.reset();
    clear(errorBox);
    markInvalid(controls, {}, { scope: form });
    name.readOnly = Boolean(item);
    name.value = item?.name ?? "";
    displayName.value = item?.properties.displayName ?? "";
    secret.input.checked = item ? Boolean(item.properties.secret) : true;
    value.value = item && !item.properties.secret ? item.properties.value ?? "" : "";
    value.placeholder = item?.properties.secret ? "A secret is never shown: enter its value again" : "";
    tags.value = (item?.properties.tags ?? []).join(", ");
    shown = { tags: tags.value, stored: item?.properties.tags ?? [] };
    showSecret();
    heading.textContent = item ? `Named value ${item.name}` : "Named value";
    form.hidden = false;
    addButton.hidden = true;
    (item ? displayName : name).focus();
  }

  function close(saved) {
    form.reset();
    value.value = "";
    form.hidden = true;
    addButton.hidden = false;
    if (saved) {
      // The row's Edit button goes with the refresh: focus moves to what was done.
      status.tabIndex = -1;
      status.focus();
    } else {
      (returnFocus?.isConnected ? returnFocus : addButton).focus();
    }
  }

  cancel.addEventListener("click", () => close(false));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(submit, async () => {
      clear(errorBox);
      markInvalid(controls, {}, { scope: form });
      try {
        const key = required(name, "Enter a name for the named value.");
        const properties = {
          displayName: displayName.value || key,
          value: value.value,
          secret: secret.input.checked,
          tags: tags.value === shown.tags ? shown.stored : tags.value.split(",").map((t) => t.trim()).filter(Boolean),
        };
        const answer = await call("PUT", `management/namedValues/${id(key)}`, {
          body: { properties },
        });
        say(status, `Named value '${key}' ${answer.status === 201 ? "added" : "saved"}${properties.secret ? " (secret: its value is not shown)" : ""}.`);
        close(true);
        refresh();
      } catch (error) {
        if (error instanceof KeyRefused) return;
        showFailure(errorBox, error, controls, form);
      }
    });
  });
  return { form, open };
}
