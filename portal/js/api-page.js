// One API: its Settings, Security and Policy tabs, and "Test connection" (the dry run).
// Every Save sends the whole API with If-Match, so a change made elsewhere meanwhile is not overwritten.

import { KeyRefused, call, id, listAll } from "./api.js";
import { alertBox, busy, clear, field, h, markInvalid, say, showError, statusBox } from "./dom.js";
import { settingsFields } from "./apis.js";
import { FormProblem, showFailure } from "./forms.js";
import { securityFields } from "./security.js";
import { renderReport } from "./test-report.js";

const TABS = [
  ["settings", "Settings"],
  ["security", "Security"],
  ["policy", "Policy"],
];

export async function renderApiPage(view, apiId, tab) {
  const loadAlert = alertBox();
  view.append(h("p", {}, h("a", { href: "#/apis" }, "Back to APIs")), loadAlert);
  let state;
  try {
    const api = await call("GET", `management/apis/${id(apiId)}`);
    state = { api: api.data, etag: api.etag };
  } catch (error) {
    if (!(error instanceof KeyRefused) && view.isConnected) {
      view.prepend(h("h2", { tabindex: "-1" }, `API ${apiId}`));
      showError(loadAlert, error);
    }
    return;
  }
  if (!view.isConnected) return; // the operator went elsewhere meanwhile: touch no title, no URL

  const heading = h("h2", { tabindex: "-1" }, state.api.properties.displayName);
  const where = h("p");
  const describe = () => {
    heading.textContent = state.api.properties.displayName;
    where.textContent = `/gateway/${state.api.properties.path} → ${state.api.properties.serviceUrl}`;
    if (view.isConnected) document.title = `${state.api.properties.displayName} – certgate`;
  };
  describe();
  const testButton = h("button", { type: "button", class: "secondary" }, "Test connection");
  const reportBody = h("div");
  const report = h("section", { class: "report", "aria-labelledby": "test-report-title", hidden: true }, h("h3", { id: "test-report-title" }, "Test report"), reportBody);
  testButton.addEventListener("click", () => runTest(apiId, testButton, report, reportBody));

  const tablist = h("div", { role: "tablist", "aria-label": `API ${apiId}` });
  const panels = h("div");
  view.append(h("div", { class: "page-head" }, h("div", {}, heading, where), testButton), report, tablist, panels);

  const save = async (properties) => {
    const answer = await call("PUT", `management/apis/${id(apiId)}`, { body: { properties }, ifMatch: state.etag });
    state = { api: answer.data, etag: answer.etag };
    describe();
  };
  const current = () => state;
  const builders = {
    settings: (panel) => settingsPanel(panel, current, save),
    security: (panel) => securityPanel(panel, current, save),
    policy: (panel) => policyPanel(panel, apiId),
  };
  const tabs = TABS.map(([key, label]) => {
    const button = h("button", { type: "button", role: "tab", id: `tab-${key}`, "aria-controls": `panel-${key}` }, label);
    const panel = h("div", { role: "tabpanel", id: `panel-${key}`, "aria-labelledby": `tab-${key}`, tabindex: "0" });
    button.addEventListener("click", () => select(key));
    tablist.append(button);
    panels.append(panel);
    return { key, button, panel };
  });

  function select(key, focus = false) {
    for (const t of tabs) {
      const on = t.key === key;
      t.button.setAttribute("aria-selected", String(on));
      t.button.tabIndex = on ? 0 : -1;
      t.panel.hidden = !on;
      // Built once, so that edits survive a look at another tab; the policy is read anew each time.
      if (on && (key === "policy" || !t.panel.hasChildNodes())) {
        t.panel.replaceChildren();
        builders[key](t.panel);
      }
      if (on && focus) t.button.focus();
    }
    if (view.isConnected && location.hash.startsWith(`#/apis/${id(apiId)}`)) {
      history.replaceState(null, "", `#/apis/${id(apiId)}/${key}`);
    }
  }

  // The tabs pattern of WAI-ARIA: arrows, Home and End move between tabs.
  tablist.addEventListener("keydown", (event) => {
    const at = tabs.findIndex((t) => t.button === document.activeElement);
    if (at < 0) return;
    const moves = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: tabs.length - 1 };
    if (!(event.key in moves)) return;
    event.preventDefault();
    select(tabs[(moves[event.key] + tabs.length) % tabs.length].key, true);
  });

  select(TABS.some(([key]) => key === tab) ? tab : "settings");
}

/** A tab's form: Save sends it, its alert shows what the API refused, its status what was done
 * (cleared as soon as the operator edits again). `onSubmit` answers what to do once saved. */
function formShell(panel, name, fields, controls, onSubmit) {
  const status = statusBox();
  const errorBox = alertBox();
  const submit = h("button", { type: "submit" }, "Save");
  const form = h("form", { class: "panel", "aria-label": name, novalidate: true }, fields, errorBox, status, h("div", { class: "actions" }, submit));
  form.addEventListener("input", () => say(status, ""));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(submit, async () => {
      clear(errorBox);
      say(status, "");
      markInvalid(controls, {}, { scope: form });
      try {
        const after = await onSubmit();
        (after ?? { status, submit }).status.textContent = "Saved. The change is effective at once.";
        after?.submit.focus();
      } catch (error) {
        if (error instanceof KeyRefused) return;
        if (error.code === "PreconditionFailed" && !(error instanceof FormProblem)) {
          error.message = `The API was changed elsewhere since this page loaded: reload the page to see it. (${error.message})`;
        }
        showFailure(errorBox, error, controls, form);
      }
    });
  });
  panel.append(form);
  return { status, submit };
}

function settingsPanel(panel, current, save) {
  const settings = settingsFields(current().api.properties);
  formShell(panel, "Settings", settings.elements, settings.controls, async () => {
    const values = settings.values();
    const now = current().api.properties;
    await save({ ...values, displayName: values.displayName || current().api.name, ...(now.credentials ? { credentials: now.credentials } : {}), tls: now.tls });
  });
}

/** The Security tab reads the certificates to choose from; when that fails it says so and offers
 * to try again (the other tabs do not need them). After a Save it is built anew from the saved API. */
async function securityPanel(panel, current, save) {
  // The first time a status says what is awaited; after a Save the saved form stays until its
  // successor is ready.
  if (!panel.hasChildNodes()) panel.append(h("p", { role: "status", class: "status" }, "Reading the certificates…"));
  let certificates;
  let caCertificates;
  try {
    [certificates, caCertificates] = await Promise.all([listAll("management/certificates"), listAll("management/caCertificates")]);
  } catch (error) {
    if (error instanceof KeyRefused) return null;
    const box = alertBox();
    showError(box, error);
    const retry = h("button", { type: "button", class: "secondary" }, "Try again");
    retry.addEventListener("click", () => securityPanel(panel, current, save).then((shell) => shell?.submit.focus()));
    panel.replaceChildren(box, retry);
    return null;
  }
  panel.replaceChildren();
  const security = securityFields(current().api.properties, certificates, caCertificates);
  return formShell(panel, "Security", security.elements, security.controls, async () => {
    const { credentials, tls } = security.values();
    const { displayName, path, serviceUrl } = current().api.properties;
    await save({ displayName, path, serviceUrl, ...(credentials ? { credentials } : {}), tls });
    return securityPanel(panel, current, save); // what is stored now (a Basic password field empty again)
  });
}

async function policyPanel(panel, apiId) {
  const errorBox = alertBox();
  const xml = h("textarea", { readOnly: true, class: "code policy", rows: "14", spellcheck: "false" });
  panel.append(
    field("Policy XML", xml, "Read-only: the policy follows the API's security settings (named values as {{name}}, never their secret values)."),
    errorBox,
  );
  try {
    xml.value = (await call("GET", `management/apis/${id(apiId)}/policy`)).data.properties.value;
  } catch (error) {
    if (!(error instanceof KeyRefused)) showError(errorBox, error);
  }
}

async function runTest(apiId, button, report, body) {
  report.hidden = false;
  body.replaceChildren(h("p", { role: "status", class: "status" }, "Testing the connection…"));
  await busy(button, async () => {
    try {
      const answer = await call("POST", `management/apis/${id(apiId)}/test`);
      body.replaceChildren(...renderReport(answer.data));
    } catch (error) {
      if (error instanceof KeyRefused) return;
      const box = alertBox();
      showError(box, error);
      body.replaceChildren(box);
    }
  });
}
