// CA certificates: public certificates that APIs may trust (tls.caCertificateIds); upload of a
// .cer/.pem file, the list, and the delete with its in-use warning.

import { call, id } from "./api.js";
import { listing } from "./lists.js";
import { usedBy } from "./certificates.js";
import { deleteButton } from "./dialogs.js";
import { alertBox, base64, day, expiryFlag, field, h, statusBox, thumbprintCell } from "./dom.js";
import { chosenFile, openableForm, required } from "./forms.js";

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
    const remove = deleteButton({
      noun: "CA certificate",
      path: `management/caCertificates/${id(item.name)}`,
      name: item.name,
      title: "CA certificate",
      consequence: "APIs could no longer trust backends it issued. This cannot be undone.",
      status,
      refresh,
    });
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
  return openableForm({
    buttonLabel: "Upload CA certificate",
    title: "Upload CA certificate",
    fields: [
      field("Name", name, "1 to 80 letters, digits, - _ or . An existing name is replaced."),
      field("Certificate file (.cer, .pem)", file, "A public certificate, DER or PEM; never a private key."),
    ],
    first: name,
    submitLabel: "Upload",
    controls: { InvalidIdentifier: name, InvalidCertificate: file, PayloadTooLarge: file },
    status,
    refresh,
    send: async () => {
      const key = required(name, "Enter a name for the CA certificate.");
      const data = base64(await chosenFile(file, "Choose the certificate file."));
      const answer = await call("PUT", `management/caCertificates/${id(key)}`, { body: { properties: { data } } });
      return `CA certificate '${answer.data.name}' ${answer.status === 201 ? "uploaded" : "replaced"}: ${answer.data.properties.subject}.`;
    },
  });
}
