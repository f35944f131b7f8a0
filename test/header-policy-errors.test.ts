// Header policies with several mistakes, as a user sees them in `agent validate`: every error of the
// request and the response policy is a condition of its own, on routes and on services alike (only
// the first was shown, so fixing one revealed the next).
import { expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runSource } from "./helpers/agent-process.ts";

setDefaultTimeout(30_000);

const manifests = `
apiVersion: v1
kind: Service
metadata: { name: web, namespace: default }
spec: { ports: [{ name: http, port: 80 }] }
---
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: { name: headers, namespace: default }
spec:
  virtualhost: { fqdn: headers.example.com }
  routes:
    - conditions: [{ prefix: /route }]
      services: [{ name: web, port: 80 }]
      requestHeadersPolicy:
        set: [{ name: "x a", value: "1" }, { name: x-b, value: "1" }, { name: X-B, value: "2" }]
        remove: [x-c, x-c]
      responseHeadersPolicy:
        set: [{ name: Host, value: h }]
    - conditions: [{ prefix: /service }]
      services:
        - name: web
          port: 80
          requestHeadersPolicy: { set: [{ name: x-d, value: "a\\r\\nb" }, { name: "x e", value: "1" }] }
          responseHeadersPolicy: { remove: ["bad name"] }
`;

const token = "[a valid HTTP header must consist of alphanumeric characters or '-' (e.g. 'X-Header-Name', regex used for validation is '[-A-Za-z0-9]+')]";

test("every header policy error of an HTTPProxy is a condition, for routes and services", async () => {
  const dir = mkdtempSync(join(tmpdir(), "isobar-headers-"));
  writeFileSync(join(dir, "headers.yaml"), manifests);
  const run = await runSource(["validate", dir, "--output", "json"]);
  expect(run.code).toBe(1);
  const proxy = (JSON.parse(run.stdout) as { objects: Array<{ kind: string; errors: Array<{ reason: string; message: string }> }> }).objects.find((o) => o.kind === "HTTPProxy")!;
  expect(proxy.errors.map((e) => `${e.reason}: ${e.message}`)).toEqual([
    `RequestHeadersPolicyInvalid: invalid set header "x a": ${token} on request headers`,
    'RequestHeadersPolicyInvalid: duplicate header addition: "X-B" on request headers',
    'RequestHeadersPolicyInvalid: duplicate header removal: "X-C" on request headers',
    'ResponseHeaderPolicyInvalid: rewriting "Host" header is not supported on response headers',
    'RequestHeadersPolicyInvalid: invalid set header value for "X-D": must not contain CR, LF or NUL on request headers',
    `RequestHeadersPolicyInvalid: invalid set header "x e": ${token} on request headers`,
    `ResponseHeadersPolicyInvalid: invalid remove header "bad name": ${token} on response headers`,
  ]);
});
