// APIs: the list (name, path under /gateway/, backend, credentials), "Add API" and the delete.
// One API's own page (settings, security, policy, test) is api-page.js.

import { call, id } from "./api.js";
import { listing } from "./lists.js";
import { deleteButton } from "./dialogs.js";
import { alertBox, field, h, statusBox } from "./dom.js";
import { openableForm, required } from "./forms.js";

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
    const remove = deleteButton({
      noun: "API",
      path: `management/apis/${id(item.name)}`,
      name: item.name,
      title: "API",
      consequence: `Calls to /gateway/${p.path} will answer 404 ApiNotFound. This cannot be undone.`,
      status,
      refresh,
    });
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
  return openableForm({
    buttonLabel: "Add API",
    title: "Add API",
    fields: [field("Name", name, "1 to 80 letters, digits, - _ or ."), settings.elements],
    first: name,
    submitLabel: "Create",
    controls: { InvalidIdentifier: name, PreconditionFailed: name, ...settings.controls },
    status,
    refresh,
    send: async () => {
      const key = required(name, "Enter a name for the API.");
      const properties = settings.values();
      properties.displayName ||= key;
      try {
        // Create, never replace: an API of that name already there answers 412.
        await call("PUT", `management/apis/${id(key)}`, { body: { properties }, ifNoneMatch: "*" });
      } catch (error) {
        if (error.code === "PreconditionFailed") error.message = `An API named '${key}' already exists. ${error.message}`;
        throw error;
      }
      return `API '${key}' created at /gateway/${properties.path}. Open it to choose its credentials.`;
    },
  });
}
