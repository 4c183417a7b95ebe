// APIs: the list (name, path under /gateway/, backend, credentials), "Add API" and the delete.
// One API's own page (settings, security, policy, test) is api-page.js.

import { KeyRefused, call, id } from "./api.js";
import { listing } from "./lists.js";
import { deleteResource } from "./dialogs.js";
import { alertBox, busy, clear, field, h, markInvalid, opener, say, showError, statusBox } from "./dom.js";

export function renderApis(view) {
  const status = statusBox();
  const listAlert = alertBox();
  const list = h("div");
  const create = createForm(status, () => refresh());
  view.append(h("h2", { tabindex: "-1" }, "APIs"), status, create.button, create.form, listAlert, list);

  const refresh = listing(list, listAlert, {
    name: "APIs",
    path: "management/apis",
    columns: ["Name", "Path", "Backend", "Credentials", "Actions"],
    row,
    empty: "No APIs yet. Add one.",
  });

  function row(item) {
    const p = item.properties;
    const remove = h("button", { type: "button", class: "secondary" }, "Delete");
    remove.addEventListener("click", () =>
      deleteResource({
        noun: "API",
        path: `management/apis/${id(item.name)}`,
        name: item.name,
        title: "API",
        consequence: `Calls to /gateway/${p.path} will answer 404 ApiNotFound. This cannot be undone.`,
        opener: remove,
        status,
        refresh,
      }),
    );
    return h(
      "tr",
      {},
      h("th", { scope: "row" }, h("a", { href: `#/apis/${id(item.name)}` }, item.name)),
      h("td", {}, h("code", {}, p.path)),
      h("td", { class: "subject" }, p.serviceUrl),
      h("td", {}, describeCredentials(p.credentials)),
      h("td", {}, remove),
    );
  }

  refresh();
}

/** What an API sends its backend, in a few words ("Client certificate backend-prod; Header x-api-key"). */
export function describeCredentials(credentials) {
  const parts = [];
  if (credentials?.certificateId) parts.push(`Client certificate ${credentials.certificateId}`);
  if (credentials?.authorization) parts.push(`Authorization ${credentials.authorization.scheme}`);
  for (const name of Object.keys(credentials?.header ?? {})) parts.push(`Header ${name}`);
  for (const name of Object.keys(credentials?.query ?? {})) parts.push(`Query ${name}`);
  return parts.length ? parts.join("; ") : h("span", { class: "empty" }, "None");
}

/** The fields of an API's settings (also its page's Settings tab). */
export function settingsFields(api) {
  const displayName = h("input", { type: "text", autocomplete: "off", value: api?.displayName ?? "" });
  const path = h("input", { type: "text", autocomplete: "off", spellcheck: "false", value: api?.path ?? "" });
  const serviceUrl = h("input", { type: "url", autocomplete: "off", spellcheck: "false", value: api?.serviceUrl ?? "" });
  return {
    displayName,
    path,
    serviceUrl,
    elements: [
      field("Display name", displayName),
      field("Path", path, "Callers reach it at /gateway/PATH: segments of letters, digits, - _ . ~, no leading or trailing /."),
      field("Backend URL", serviceUrl, "An absolute https URL (plain http only without a client certificate)."),
    ],
    controls: { InvalidPath: path, PathInUse: path, InvalidServiceUrl: serviceUrl, "properties.displayName": displayName },
    values() {
      return { displayName: displayName.value, path: path.value.trim(), serviceUrl: serviceUrl.value.trim() };
    },
  };
}

function createForm(status, refresh) {
  const name = h("input", { type: "text", required: true, autocomplete: "off", spellcheck: "false", maxlength: "80" });
  const settings = settingsFields(null);
  const errorBox = alertBox();
  const submit = h("button", { type: "submit" }, "Create");
  const cancel = h("button", { type: "button", class: "secondary" }, "Cancel");
  const form = h(
    "form",
    { class: "panel", hidden: true, "aria-labelledby": "add-api-title", novalidate: true },
    h("h3", { id: "add-api-title" }, "Add API"),
    field("Name", name, "1 to 80 letters, digits, - _ or ."),
    settings.elements,
    errorBox,
    h("div", { class: "actions" }, submit, cancel),
  );
  const button = h("button", { type: "button" }, "Add API");
  const toggle = opener(button, form, name);
  const controls = { InvalidIdentifier: name, PreconditionFailed: name, ...settings.controls };
  cancel.addEventListener("click", () => {
    form.reset();
    clear(errorBox);
    markInvalid(controls, {}, { scope: form });
    toggle.close();
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(submit, async () => {
      clear(errorBox);
      markInvalid(controls, {}, { scope: form });
      const key = name.value.trim();
      if (!key) {
        showError(errorBox, { message: "Enter a name for the API." });
        name.focus();
        return;
      }
      const properties = settings.values();
      properties.displayName ||= key;
      try {
        // Create, never replace: an API of that name already there answers 412.
        await call("PUT", `management/apis/${id(key)}`, { body: { properties }, ifNoneMatch: "*" });
        say(status, `API '${key}' created at /gateway/${properties.path}. Open it to choose its credentials.`);
        form.reset();
        toggle.close();
        refresh();
      } catch (error) {
        if (error instanceof KeyRefused) return;
        showError(errorBox, error.code === "PreconditionFailed" ? { ...error, message: `An API named '${key}' already exists. ${error.message}` } : error);
        markInvalid(controls, error, { scope: form, fallback: errorBox });
      }
    });
  });
  return { button, form };
}
