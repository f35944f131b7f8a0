// How `agent validate` prints a BackendTLSPolicy: each ancestor (the served Gateway) with its
// conditions, in text and in JSON.
import { expect, test } from "bun:test";
import { formatJson, formatText } from "./format.ts";
import type { ValidationReport } from "./run.ts";

test("a BackendTLSPolicy's ancestors and their conditions are printed", () => {
  const ancestors = [
    {
      ancestorRef: { group: "gateway.networking.k8s.io", kind: "Gateway", namespace: "infra", name: "web" },
      controllerName: "projectcontour.io/gateway-controller",
      conditions: [
        { type: "Accepted", status: "False" as const, reason: "NoValidCACertificate", message: "no caCertificateRef is a valid CA bundle: see ResolvedRefs" },
        { type: "ResolvedRefs", status: "False" as const, reason: "InvalidCACertificateRef", message: "caCertificateRef ConfigMap apps/ca not found" },
      ],
    },
  ];
  const report: ValidationReport = {
    objects: [{ kind: "BackendTLSPolicy", namespace: "apps", name: "p", currentStatus: "invalid", description: "At least one error present, see Errors for details", errors: [], warnings: [], ancestors }],
    rejected: [],
    problems: [],
    ignored: [],
    routes: [],
    valid: false,
  };
  expect(formatText(report, { color: false, routes: false })).toContain(
    "  ancestor Gateway infra/web\n    Accepted=False NoValidCACertificate: no caCertificateRef is a valid CA bundle: see ResolvedRefs\n    ResolvedRefs=False InvalidCACertificateRef: caCertificateRef ConfigMap apps/ca not found\n",
  );
  expect(JSON.parse(formatJson(report, { routes: false })).objects[0].ancestors).toEqual(ancestors);
});
