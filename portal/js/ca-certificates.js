// CA certificates: public certificates that APIs may trust (tls.caCertificateIds); upload of a
// .cer/.pem file, the list, and the delete with its in-use warning.

import { KeyRefused, call, id } from "./api.js";
import { listing } from "./lists.js";
import { usedBy } from "./certificates.js";
import { deleteResource } from "./dialogs.js";
import {
  alertBox, base64, busy, clear, day, expiryFlag, field, h, markInvalid, opener, say, showError,
  statusBox, thumbprintCell,
} from "./dom.js";

const DAY_MS = 86_400_000;

export function renderCaCertificates(view) {
  const status = statusBox();
  const listAlert = alertBox();
  const list = h("div");
  const upload = uploadForm(status, () => refresh());
  view.append(h("h2", { tabindex: "-1" }, "CA certificates"), status, upload.button, upload.form, listAlert, list);

  const refresh = listing(list, listAlert, {
    name: "CA certificates",
    path: "management/caCertificates",
    columns: ["Name", "Subject", "Thumbprint", "Expires", "Used by", "Actions"],
    row,
    empty: "No CA certificates yet.",
  });

  function row(item) {
    const p = item.properties;
    const remove = h("button", { type: "button", class: "secondary" }, "Delete");
    remove.addEventListener("click", () =>
      deleteResource({
        noun: "CA certificate",
        path: `management/caCertificates/${id(item.name)}`,
        name: item.name,
        title: "CA certificate",
        consequence: "APIs could no longer trust backends it issued. This cannot be undone.",
        opener: remove,
        status,
        refresh,
      }),
    );
    const days = Math.floor((Date.parse(p.expirationDate) - Date.now()) / DAY_MS);
    return h(
      "tr",
      {},
      h("th", { scope: "row" }, item.name),
      h("td", { class: "subject" }, p.subject, p.isCa === false ? [h("br"), h("span", { class: "flag info" }, "Not a CA certificate")] : null),
      thumbprintCell(p.thumbprint),
      h("td", {}, h("span", { class: "date" }, day(p.expirationDate)), " ", Number.isNaN(days) ? null : expiryFlag(days)),
      h("td", {}, usedBy(p.usedBy)),
      h("td", {}, remove),
    );
  }

  refresh();
}

function uploadForm(status, refresh) {
  const name = h("input", { type: "text", required: true, autocomplete: "off", spellcheck: "false", maxlength: "80" });
  const file = h("input", { type: "file", required: true, accept: ".cer,.crt,.pem,.der" });
  const errorBox = alertBox();
  const submit = h("button", { type: "submit" }, "Upload");
  const cancel = h("button", { type: "button", class: "secondary" }, "Cancel");
  const headingId = "upload-ca-title";
  const form = h(
    "form",
    { class: "panel", hidden: true, "aria-labelledby": headingId, novalidate: true },
    h("h3", { id: headingId }, "Upload CA certificate"),
    field("Name", name, "1 to 80 letters, digits, - _ or . An existing name is replaced."),
    field("Certificate file (.cer, .pem)", file, "A public certificate, DER or PEM; never a private key."),
    errorBox,
    h("div", { class: "actions" }, submit, cancel),
  );
  const button = h("button", { type: "button" }, "Upload CA certificate");
  const toggle = opener(button, form, name);
  const controls = { InvalidIdentifier: name, InvalidCertificate: file, PayloadTooLarge: file };
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
      if (!name.value.trim() || !file.files.length) {
        showError(errorBox, { message: !name.value.trim() ? "Enter a name for the CA certificate." : "Choose the certificate file." });
        (name.value.trim() ? file : name).focus();
        return;
      }
      try {
        const data = base64(await file.files[0].arrayBuffer());
        const answer = await call("PUT", `management/caCertificates/${id(name.value.trim())}`, { body: { properties: { data } } });
        say(status, `CA certificate '${answer.data.name}' ${answer.status === 201 ? "uploaded" : "replaced"}: ${answer.data.properties.subject}.`);
        form.reset();
        toggle.close();
        refresh();
      } catch (error) {
        if (error instanceof KeyRefused) return;
        showError(errorBox, error);
        markInvalid(controls, error, { scope: form, fallback: errorBox });
      }
    });
  });
  return { button, form };
}
