// Client certificates: the list (subject, thumbprint with its last four apart, expiry flag, the
// APIs that use it), the upload of a .pfx with its password, and the delete with its in-use warning.

import { call, id } from "./api.js";
import { listing } from "./lists.js";
import { deleteButton } from "./dialogs.js";
import { alertBox, base64, day, expiryFlag, field, h, statusBox, thumbprintCell } from "./dom.js";
import { chosenFile, openableForm, required } from "./forms.js";

const WARNINGS = { NotClientAuth: "Not for client authentication", SelfSigned: "Self-signed" };

export function renderCertificates(view) {
  const status = statusBox();
  const listAlert = alertBox();
  const list = h("div");
  const upload = uploadForm(status, () => refresh());
  view.append(h("h2", { tabindex: "-1" }, "Client certificates"), status, upload.button, upload.form, listAlert, list);

  const refresh = listing(list, listAlert, {
    name: "Client certificates",
    path: "management/certificates",
    columns: ["Name", "Subject", "Thumbprint", "Expires", "Used by", "Actions"],
    row,
    empty: "No client certificates yet. Upload one.",
  });

  function row(item) {
    const p = item.properties;
    const flags = (p.warnings ?? []).filter((w) => WARNINGS[w]).map((w) => h("span", { class: "flag info" }, WARNINGS[w]));
    const remove = deleteButton({
      noun: "Certificate",
      path: `management/certificates/${id(item.name)}`,
      name: item.name,
      title: "certificate",
      consequence: "APIs bound to it could no longer present it. This cannot be undone.",
      status,
      refresh,
    });
    return h(
      "tr",
      {},
      h("th", { scope: "row" }, item.name),
      h("td", { class: "subject" }, p.subject, flags.length ? h("br") : null, flags),
      thumbprintCell(p.thumbprint),
      h("td", {}, h("span", { class: "date" }, day(p.expirationDate)), " ", expiryFlag(p.daysToExpiry)),
      h("td", {}, usedBy(p.usedBy)),
      h("td", {}, remove),
    );
  }

  refresh();
}

/** The APIs that use a resource, each a link to its page. */
export function usedBy(names) {
  if (!names?.length) return h("span", { class: "empty" }, "None");
  return names.flatMap((name, i) => [i ? ", " : "", h("a", { href: `#/apis/${id(name)}` }, name)]);
}

function uploadForm(status, refresh) {
  const name = h("input", { type: "text", name: "name", required: true, autocomplete: "off", spellcheck: "false", maxlength: "80" });
  const file = h("input", { type: "file", name: "file", required: true, accept: ".pfx,.p12,application/x-pkcs12" });
  const password = h("input", { type: "password", name: "password", autocomplete: "off" });
  return openableForm({
    buttonLabel: "Upload certificate",
    title: "Upload certificate",
    fields: [
      field("Name", name, "1 to 80 letters, digits, - _ or . An existing name is replaced: its APIs present the new certificate from their next connection."),
      field("Certificate file (.pfx)", file),
      field("Password", password, "The .pfx file's password; it is checked now and never stored in clear."),
    ],
    first: name,
    submitLabel: "Upload",
    controls: { InvalidIdentifier: name, InvalidPassword: password, InvalidCertificate: file, MissingPrivateKey: file, CertificateExpired: file, PayloadTooLarge: file },
    status,
    refresh,
    onError: () => {
      password.value = ""; // a wrong password is typed again, not edited
    },
    send: async () => {
      const key = required(name, "Enter a name for the certificate.");
      const data = base64(await chosenFile(file, "Choose the .pfx file."));
      const answer = await call("PUT", `management/certificates/${id(key)}`, { body: { properties: { data, password: password.value } } });
      const p = answer.data.properties;
      return `Certificate '${answer.data.name}' ${answer.status === 201 ? "uploaded" : "replaced"}: ${p.subject}, thumbprint …${p.thumbprint.slice(-4)}, expires ${day(p.expirationDate)}.`;
    },
  });
}
