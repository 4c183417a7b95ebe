// The portal's shell: sign-in with the management key (the tab's session storage only), the
// sections' navigation and the hash routes (#/certificates, #/apis/orders/security, ...).

import { KeyRefused, call, onKeyRefused, session } from "./api.js";
import { renderApiPage } from "./api-page.js";
import { renderApis } from "./apis.js";
import { renderCaCertificates } from "./ca-certificates.js";
import { renderCertificates } from "./certificates.js";
import { closeDialogs } from "./dialogs.js";
import { alertBox, field, h, showError, statusBox } from "./dom.js";
import { renderNamedValues } from "./named-values.js";

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const signOutButton = document.getElementById("sign-out");
// Sign-out reaches every tab of this page that shares the key (a duplicated tab copies it).
const tabs = "BroadcastChannel" in window ? new BroadcastChannel("certgate-portal") : null;

const SECTIONS = [
  [/^#\/certificates$/, "Client certificates", (view) => renderCertificates(view)],
  [/^#\/ca-certificates$/, "CA certificates", (view) => renderCaCertificates(view)],
  [/^#\/named-values$/, "Named values", (view) => renderNamedValues(view)],
  [/^#\/apis$/, "APIs", (view) => renderApis(view)],
  [/^#\/apis\/([^/]+)(?:\/([a-z]+))?$/, null, (view, m) => renderApiPage(view, decodeURIComponent(m[1]), m[2])],
];

function decodable(text) {
  try {
    decodeURIComponent(text);
    return true;
  } catch {
    return false;
  }
}

/** Shows the view of the current hash in a fresh container (a late answer of the view before
 * lands in a detached one). `focus`: move focus to the view's heading (after a navigation). */
function route(focus) {
  closeDialogs();
  if (!session.key) {
    signIn();
    return;
  }
  nav.hidden = false;
  signOutButton.hidden = false;
  const hash = location.hash || "#/certificates";
  const found = decodable(hash) && SECTIONS.map(([pattern, title, render]) => [hash.match(pattern), title, render]).find(([m]) => m);
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
  Promise.resolve()
    .then(() => render(view, match))
    .then(() => {
      if (focus && view.isConnected) view.querySelector("h2")?.focus();
    })
    .catch((error) => {
      const box = alertBox();
      showError(box, error);
      view.append(box);
    });
}

/** The key field, its alert and its button, as the sign-in page and the sign-in dialog show them. */
function keyForm(titleText, intro, buttons) {
  const key = h("input", { type: "password", autocomplete: "off", spellcheck: "false", required: true });
  const errorBox = alertBox();
  const submit = h("button", { type: "submit" }, "Sign in");
  const titleId = titleText === "Sign in" ? "sign-in-title" : "sign-in-again-title";
  const form = h(
    "form",
    { class: "panel", "aria-labelledby": titleId, novalidate: true },
    h("h2", { id: titleId }, titleText),
    h("p", {}, intro),
    field("Management key", key),
    errorBox,
    h("div", { class: "actions" }, submit, buttons),
  );
  return { form, key, errorBox, submit };
}

/** Checks `form.key` by one list call; true when it is accepted (it is then kept). */
async function tryKey({ key, errorBox, submit }) {
  if (!key.value) {
    showError(errorBox, { message: "Enter the management key." });
    key.setAttribute("aria-invalid", "true");
    key.focus();
    return false;
  }
  submit.disabled = true;
  session.key = key.value;
  try {
    await call("GET", "management/certificates?$top=1", { reauth: false });
    key.value = "";
    return true;
  } catch (error) {
    session.forget();
    if (error instanceof KeyRefused) showRefusal(errorBox, error, key);
    else {
      showError(errorBox, error);
      key.focus();
    }
    return false;
  } finally {
    submit.disabled = false;
  }
}

const INTRO = "certgate's management API takes the function app's master key (locally: CERTGATE_LOCAL_MASTER_KEY). The key stays in this tab's session storage until you sign out or close the tab.";

/** The sign-in page. */
function signIn() {
  closeDialogs();
  nav.hidden = true;
  signOutButton.hidden = true;
  document.title = "Sign in – certgate";
  const parts = keyForm("Sign in", INTRO, []);
  parts.form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (await tryKey(parts)) route(true);
  });
  main.replaceChildren(parts.form);
  parts.key.focus();
}

function showRefusal(box, error, key) {
  showError(box, { ...error, message: `The management key was refused: ${error.message} Enter the master key again.` });
  key.value = "";
  key.setAttribute("aria-invalid", "true");
  key.focus();
}

// A key refused while a view is open (rotated, revoked): ask again over the view, so that what
// was typed survives, then send the refused call again. One dialog for every call refused meanwhile.
let asking = null;
onKeyRefused((refused) => {
  if (!session.key || main.querySelector("#sign-in-title")) return Promise.resolve(false);
  asking ??= new Promise((resolve) => {
    const leave = h("button", { type: "button", class: "secondary" }, "Sign out");
    const parts = keyForm("Sign in again", "Your edits on the page are kept; the refused request is sent again with the new key.", [leave]);
    const dialog = h("dialog", { class: "reauth", "aria-labelledby": "sign-in-again-title" }, parts.form);
    let accepted = false;
    dialog.addEventListener("cancel", (event) => event.preventDefault()); // answer it, not Escape it
    dialog.addEventListener("close", () => {
      dialog.remove();
      asking = null;
      resolve(accepted);
      if (!accepted) signOut();
    });
    parts.form.addEventListener("submit", async (event) => {
      event.preventDefault();
      accepted = await tryKey(parts);
      if (accepted) dialog.close();
    });
    leave.addEventListener("click", () => dialog.close());
    document.body.append(dialog);
    dialog.showModal();
    showRefusal(parts.errorBox, refused, parts.key);
  });
  return asking;
});

function signOut(everywhere = true) {
  session.forget();
  if (everywhere) tabs?.postMessage("signed-out");
  signIn();
  const status = statusBox();
  main.prepend(status);
  status.textContent = "Signed out: the key is forgotten.";
}

tabs?.addEventListener("message", (event) => {
  if (event.data === "signed-out" && session.key) signOut(false);
});
window.addEventListener("hashchange", () => route(true));
signOutButton.addEventListener("click", () => signOut());
route(false);
