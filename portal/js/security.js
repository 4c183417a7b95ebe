// An API's Security tab: "With credentials" (a client certificate, Basic, an Authorization
// header, headers, query parameters), the backend TLS options, and Save (effective at once).
// An API that combines kinds shows "Several" and every kind it holds, so a Save never drops one.

import { checkbox, field, h } from "./dom.js";
import { FormProblem } from "./forms.js";

const KINDS = [
  ["none", "None"],
  ["certificate", "Client certificates"],
  ["basic", "Basic"],
  ["authorization", "Authorization"],
  ["header", "Header"],
  ["query", "Query"],
];

/** The user and password of a literal Basic pair, else null (a {{named value}}, another scheme). */
function basicPair(authorization) {
  if (!authorization || authorization.scheme.toLowerCase() !== "basic" || authorization.parameter.includes("{{")) return null;
  try {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(atob(authorization.parameter), (c) => c.charCodeAt(0)));
    const colon = text.indexOf(":");
    return colon < 0 ? null : { user: text.slice(0, colon), password: text.slice(colon + 1) };
  } catch {
    return null;
  }
}

function kindsOf(credentials) {
  const kinds = [];
  if (credentials?.certificateId) kinds.push("certificate");
  if (credentials?.authorization) kinds.push(basicPair(credentials.authorization) ? "basic" : "authorization");
  if (Object.keys(credentials?.header ?? {}).length) kinds.push("header");
  if (Object.keys(credentials?.query ?? {}).length) kinds.push("query");
  return kinds;
}

/** The form's parts for `api` (its properties), the certificates and CA certificates to choose from. */
export function securityFields(api, certificates, caCertificates) {
  const credentials = api.credentials ?? {};
  const initial = kindsOf(credentials);
  const options = [...KINDS, ...(initial.length > 1 ? [["several", "Several"]] : [])];
  const withCredentials = h("select", {}, options.map(([value, label]) => h("option", { value }, label)));
  withCredentials.value = initial.length > 1 ? "several" : initial[0] ?? "none";

  const certificate = certificateSection(credentials.certificateId, certificates);
  const stored = basicPair(credentials.authorization);
  const basic = basicSection(stored, credentials.authorization);
  const authorization = authorizationSection(stored ? null : credentials.authorization);
  const header = pairList("Header", credentials.header);
  const query = pairList("Query parameter", credentials.query);
  const sections = { certificate, basic, authorization, header, query };
  const tls = tlsSection(api.tls ?? {}, caCertificates);

  const active = () => (withCredentials.value === "several" ? initial : withCredentials.value === "none" ? [] : [withCredentials.value]);
  const show = () => {
    for (const [kind, section] of Object.entries(sections)) section.element.hidden = !active().includes(kind);
  };
  withCredentials.addEventListener("change", show);
  show();

  return {
    elements: [
      field("With credentials", withCredentials, "What the gateway presents to the backend on every call."),
      Object.values(sections).map((s) => s.element),
      tls.element,
    ],
    controls: {
      CertificateNotFound: certificate.select,
      NamedValueNotFound: withCredentials,
      InvalidHeader: withCredentials,
      certificateId: certificate.select,
      "properties.credentials": withCredentials,
      "properties.credentials.certificateId": certificate.select,
      "properties.credentials.certificateIds": certificate.select,
      "properties.credentials.authorization": authorization.scheme,
      "properties.credentials.authorization.parameter": authorization.parameter,
      "properties.credentials.header": header.first(),
      "properties.credentials.query": query.first(),
      ...tls.controls,
    },
    /** The API's `credentials` and `tls` as the form holds them; a FormProblem when incomplete. */
    values() {
      const wire = {};
      for (const kind of active()) Object.assign(wire, sections[kind].value());
      return { credentials: Object.keys(wire).length ? wire : undefined, tls: tls.value() };
    },
  };
}

function certificateSection(bound, certificates) {
  const select = h("select", {}, h("option", { value: "" }, "Choose a certificate"));
  for (const item of certificates) {
    const p = item.properties;
    select.append(h("option", { value: item.name }, `${p.subject} (…${p.thumbprint.slice(-4)})`));
  }
  if (bound && !certificates.some((c) => c.name === bound)) select.append(h("option", { value: bound }, `${bound} (not found)`));
  select.value = bound ?? "";
  const element = h("div", { class: "section" }, field("Client certificate", select, "Presented in the TLS handshake with the backend; a rotation (a new upload under the same name) is picked up from the next connection."));
  return {
    select,
    element,
    value() {
      if (!select.value) throw new FormProblem("Choose the client certificate to present.", select);
      return { certificateId: select.value };
    },
  };
}

function utf8Base64(text) {
  return btoa(String.fromCharCode(...new TextEncoder().encode(text)));
}

function basicSection(stored, storedAuthorization) {
  const user = h("input", { type: "text", autocomplete: "off", value: stored?.user ?? "" });
  const password = h("input", { type: "password", autocomplete: "new-password", placeholder: stored ? "Unchanged" : "" });
  const element = h(
    "fieldset",
    {},
    h("legend", {}, "Basic credentials"),
    field("User name", user),
    field("Password", password, stored ? "Leave empty to keep the stored password. A secret belongs in a named value: use Authorization with {{name}}." : "Stored as written (APIM's authentication-basic). A secret belongs in a named value: use Authorization with {{name}}."),
  );
  return {
    element,
    value() {
      if (user.value.includes(":")) throw new FormProblem("A Basic user name cannot hold ':' (RFC 7617).", user);
      // An empty user name with a password is RFC 7617's; both empty is a form left blank.
      if (!user.value && !password.value && !stored) throw new FormProblem("Enter the Basic user name and password.", user);
      // Untouched: sent back exactly as stored (its scheme's case, its base64 padding).
      if (stored && user.value === stored.user && !password.value) return { authorization: storedAuthorization };
      const secret = password.value || stored?.password || "";
      return { authorization: { scheme: "Basic", parameter: utf8Base64(`${user.value}:${secret}`) } };
    },
  };
}

function authorizationSection(current) {
  const scheme = h("input", { type: "text", autocomplete: "off", spellcheck: "false", value: current?.scheme ?? "Bearer" });
  const parameter = h("input", { type: "text", autocomplete: "off", spellcheck: "false", value: current?.parameter ?? "" });
  const element = h(
    "fieldset",
    {},
    h("legend", {}, "Authorization header"),
    field("Scheme", scheme),
    field("Parameter", parameter, "Sent as Authorization: SCHEME PARAMETER. It may be, or hold, {{named-value}}: a secret named value stays out of the policy."),
  );
  return {
    element,
    scheme,
    parameter,
    value() {
      if (!scheme.value.trim()) throw new FormProblem("Enter the Authorization scheme.", scheme);
      return { authorization: { scheme: scheme.value.trim(), parameter: parameter.value } };
    },
  };
}

/** Name and value rows (headers or query parameters); repeated names send several values. */
function pairList(noun, entries) {
  const rows = [];
  const list = h("div");
  const add = h("button", { type: "button", class: "secondary" }, `Add ${noun.toLowerCase()}`);
  const plural = noun === "Header" ? "header" : "query";
  const element = h("fieldset", {}, h("legend", {}, noun === "Header" ? "Headers" : "Query parameters"), list, add);

  function relabel() {
    rows.forEach((row, i) => {
      const suffix = i ? ` ${i + 1}` : "";
      row.nameLabel.textContent = `${noun} name${suffix}`;
      row.valueLabel.textContent = `${noun} value${suffix}`;
      row.remove.textContent = "Remove";
      row.remove.setAttribute("aria-label", `Remove ${noun.toLowerCase()}${suffix}`);
    });
  }

  function addRow(name = "", value = "") {
    const nameInput = h("input", { type: "text", autocomplete: "off", spellcheck: "false", value: name });
    const valueInput = h("input", { type: "text", autocomplete: "off", spellcheck: "false", value });
    const nameField = field("", nameInput);
    const valueField = field("", valueInput);
    const remove = h("button", { type: "button", class: "secondary" });
    const row = { nameInput, valueInput, nameLabel: nameField.firstChild, valueLabel: valueField.firstChild, remove };
    row.element = h("div", { class: "pair" }, nameField, valueField, remove);
    remove.addEventListener("click", () => {
      rows.splice(rows.indexOf(row), 1);
      row.element.remove();
      if (!rows.length) addRow();
      relabel();
      add.focus();
    });
    rows.push(row);
    list.append(row.element);
    relabel();
    return row;
  }

  add.addEventListener("click", () => addRow().nameInput.focus());
  for (const [name, values] of Object.entries(entries ?? {})) for (const value of values) addRow(name, value);
  if (!rows.length) addRow();

  return {
    element,
    first: () => rows[0].nameInput,
    value() {
      const wire = {};
      for (const row of rows) {
        const name = row.nameInput.value.trim();
        if (!name && !row.valueInput.value) continue;
        if (!name) throw new FormProblem(`Enter the ${noun.toLowerCase()} name.`, row.nameInput);
        (wire[name] ??= []).push(row.valueInput.value);
      }
      if (!Object.keys(wire).length) throw new FormProblem(`Enter at least one ${noun.toLowerCase()}.`, rows[0].nameInput);
      return { [plural]: wire };
    },
  };
}

function tlsSection(tls, caCertificates) {
  const chain = checkbox("Validate certificate chain", tls.validateCertificateChain !== false);
  const name = checkbox("Validate certificate name", tls.validateCertificateName !== false);
  // The stored ids first, in their stored order (a Save changes nothing untouched), then the others.
  const stored = tls.caCertificateIds ?? [];
  const subjects = new Map(caCertificates.map((item) => [item.name, item.properties.subject]));
  const label = (ca) => (subjects.has(ca) ? `${ca}: ${subjects.get(ca)}` : `${ca} (not found)`);
  const cas = [
    ...stored.map((ca) => ({ id: ca, box: checkbox(label(ca), true) })),
    ...caCertificates.filter((item) => !stored.includes(item.name)).map((item) => ({ id: item.name, box: checkbox(label(item.name), false) })),
  ];
  const pins = h("textarea", { rows: "3", spellcheck: "false", class: "code" });
  pins.value = (tls.serverCertificateThumbprints ?? []).join("\n");
  const serverName = h("input", { type: "text", autocomplete: "off", spellcheck: "false", value: tls.serverName ?? "" });
  const element = h(
    "fieldset",
    {},
    h("legend", {}, "Backend TLS"),
    chain.element,
    name.element,
    h(
      "fieldset",
      {},
      h("legend", {}, "Trusted CA certificates"),
      cas.length ? cas.map((c) => c.box.element) : h("p", { class: "hint" }, "No CA certificates uploaded (see CA certificates)."),
      h("p", { class: "hint" }, "None ticked: the backend's chain is checked against the process-wide trust store."),
    ),
    field("Pinned server thumbprints (one per line)", pins, "SHA-1 or SHA-256 of the backend's certificate; any other certificate is refused."),
    field("Server name (SNI)", serverName, "Sent as SNI and checked instead of the backend URL's host name."),
  );
  return {
    element,
    controls: {
      "properties.tls": chain.input,
      "properties.tls.caCertificateIds": cas[0]?.box.input ?? chain.input,
      "tls.caCertificateIds": cas[0]?.box.input ?? chain.input,
      "properties.tls.serverCertificateThumbprints": pins,
      "properties.tls.serverName": serverName,
    },
    value() {
      const wire = { validateCertificateChain: chain.input.checked, validateCertificateName: name.input.checked };
      const ids = cas.filter((c) => c.box.input.checked).map((c) => c.id);
      if (ids.length) wire.caCertificateIds = ids;
      const thumbprints = pins.value.split("\n").map((t) => t.trim()).filter(Boolean);
      if (thumbprints.length) wire.serverCertificateThumbprints = thumbprints;
      if (serverName.value.trim()) wire.serverName = serverName.value.trim();
      return wire;
    },
  };
}
