// The dry run's report (POST /management/apis/{id}/test), step by step: name resolution, TCP,
// TLS, HTTP; a failed step says why and which side failed, and the steps after it are absent.

import { h } from "./dom.js";

const STEPS = { dns: "Name resolution", tcp: "TCP connect", tls: "TLS handshake", http: "HTTP request" };
const SKIP = new Set(["name", "ok", "ms", "error"]);

function words(key) {
  const text = key.replace(/([a-z0-9])([A-Z])/g, "$1 $2").toLowerCase();
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function value(data) {
  if (data === null || data === undefined) return h("span", { class: "empty" }, "none");
  if (Array.isArray(data)) {
    if (!data.length) return h("span", { class: "empty" }, "none");
    return h("ul", {}, data.map((item) => h("li", {}, value(item))));
  }
  if (typeof data === "object") return facts(data);
  if (typeof data === "boolean") return data ? "yes" : "no";
  return String(data);
}

function facts(data) {
  return h("dl", {}, Object.entries(data).filter(([key]) => !SKIP.has(key)).map(([key, item]) => [h("dt", {}, words(key)), h("dd", {}, value(item))]));
}

/** The report as a list of steps, with a one-line verdict. */
export function renderReport(report) {
  const steps = report.steps ?? [];
  const failed = steps.find((s) => !s.ok);
  const verdict = report.ok
    ? `Passed: ${steps.length} steps, the backend answered.`
    : `Failed at ${STEPS[failed?.name] ?? failed?.name ?? "a step"}: ${failed?.error?.message ?? "see below"}`;
  return [
    h("p", { role: report.ok ? "status" : "alert", class: report.ok ? "status" : "alert" }, verdict),
    h(
      "ol",
      {},
      steps.map((step) =>
        h(
          "li",
          { class: step.ok ? "step" : "step failed" },
          h("h4", {}, `${step.ok ? "✓" : "✗"} ${STEPS[step.name] ?? step.name}: ${step.ok ? "passed" : "failed"}${typeof step.ms === "number" ? ` (${step.ms} ms)` : ""}`),
          step.error
            ? h("p", {}, `${step.error.message} (${step.error.code}; the side that failed: ${step.error.side}).`)
            : null,
          facts(step),
        ),
      ),
    ),
  ];
}
