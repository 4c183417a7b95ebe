// The portal's shell: sign-in with the management key (the tab's session storage only), the
// sections' navigation and the hash routes (#/certificates, #/apis/orders/security, ...).

import { KeyRefused, call, session } from "./api.js";
import { renderApiPage } from "./api-page.js";
import { renderApis } from "./apis.js";
import { renderCaCertificates } from "./ca-certificates.js";
import { renderCertificates } from "./certificates.js";
import { alertBox, field, h, showError, statusBox } from "./dom.js";
import { renderNamedValues } from "./named-values.js";

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const signOutButton = document.getElementById("sign-out");

const SECTIONS = [
  [/^#\/certificates$/, "Client certificates", (view) => renderCertificates(view)],
  [/^#\/ca-certificates$/, "CA certificates", (view) => renderCaCertificates(view)],
  [/^#\/named-values$/, "Named values", (view) => renderNamedValues(view)],
  [/^#\/apis$/, "APIs", (view) => renderApis(view)],
  [/^#\/apis\/([^/]+)(?:\/([a-z]+))?$/, null, (view, m) => renderApiPage(view, decodeURIComponent(m[1]), m[2])],
];

/** Shows the view of the current hash in a fresh container (a late answer of the view before
 * lands in a detached one). `focus`: move focus to the view's heading (after a navigation). */
function route(focus) {
  if (!session.key) {
    signIn();
    return;
  }
  nav.hidden = false;
  signOutButton.hidden = false;
  const hash = location.hash || "#/certificates";
  const found = SECTIONS.map(([pattern, title, render]) => [hash.match(pattern), title, render]).find(([m]) => m);
  if (!found) {
    location.replace("#/certificates");
    return;
  }
  const [match, title, render] = found;
  for (const link of nav.querySelectorAll("a")) {
    const current = hash === link.getAttribute("href") || (hash.startsWith("#/apis/") && link.getAttribute("href") === "#/apis");
    if (current) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  document.title = `${title ?? "API"} – certgate`;
  const view = h("div");
  main.replaceChildren(view);
  // A view may render after reading the API (an API's page): focus its heading once it is there.
  Promise.resolve(render(view, match)).then(() => {
    if (focus && view.isConnected) view.querySelector("h2")?.focus();
  });
}

/** The sign-in form; `refused`: the 401 that brought the page here. */
function signIn(refused) {
  nav.hidden = true;
  signOutButton.hidden = true;
  document.title = "Sign in – certgate";
  const key = h("input", { type: "password", autocomplete: "off", spellcheck: "false", required: true });
  const errorBox = alertBox();
  const submit = h("button", { type: "submit" }, "Sign in");
  const form = h(
    "form",
    { class: "panel", "aria-labelledby": "sign-in-title", novalidate: true },
    h("h2", { id: "sign-in-title" }, "Sign in"),
    h("p", {}, "certgate's management API takes the function app's master key (locally: CERTGATE_LOCAL_MASTER_KEY). The key stays in this tab's session storage until you sign out or close the tab."),
    field("Management key", key),
    errorBox,
    h("div", { class: "actions" }, submit),
  );
  if (refused) showRefusal(errorBox, refused, key);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!key.value) {
      showError(errorBox, { message: "Enter the management key." });
      key.setAttribute("aria-invalid", "true");
      key.focus();
      return;
    }
    submit.disabled = true;
    session.key = key.value;
    try {
      await call("GET", "management/certificates?$top=1");
      key.value = "";
      route(true);
    } catch (error) {
      session.forget();
      if (error instanceof KeyRefused) showRefusal(errorBox, error, key);
      else showError(errorBox, error);
      submit.disabled = false;
    }
  });
  main.replaceChildren(form);
  key.focus();
}

function showRefusal(box, error, key) {
  showError(box, { ...error, message: `The management key was refused: ${error.message} Enter the master key again.` });
  key.value = "";
  key.setAttribute("aria-invalid", "true");
  key.focus();
}

window.addEventListener("certgate:key-refused", (event) => {
  if (!main.querySelector("#sign-in-title")) signIn(event.detail);
});
window.addEventListener("hashchange", () => route(true));
signOutButton.addEventListener("click", () => {
  session.forget();
  signIn();
  const status = statusBox();
  status.textContent = "Signed out: the key is forgotten.";
  main.prepend(status);
});
route(false);
