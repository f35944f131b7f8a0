// Limits on what bad input can publish, as a user meets them: a host name beyond RFC 1123's
// lengths, a path beyond 4096 characters, an Ingress backend port out of range are conditions
// naming the field (and the rest is still served, small enough for any xDS client); Envoy listener
// ports that clash and an admin socket that is not an absolute path are one-line errors, exit 2.
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureAgentBinary, runAgent, startServe } from "./helpers/agent-binary.ts";
import { runSource } from "./helpers/agent-process.ts";

setDefaultTimeout(60_000);

const huge = `${"a".repeat(1 << 20)}.example.com`;
const longLabel = `${"b".repeat(64)}.example.com`;
const longPath = `/${"p".repeat(5000)}`;

function ingress(name: string, host: string, path = "/", port = 80): string {
  return `
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: ${name}, namespace: default }
spec:
  rules:
    - host: ${host}
      http: { paths: [{ path: ${JSON.stringify(path)}, pathType: Prefix, backend: { service: { name: web, port: { number: ${port} } } } }] }
`;
}

function proxy(name: string, fqdn: string, prefix = "/"): string {
  return `
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: { name: ${name}, namespace: default }
spec:
  virtualhost: { fqdn: ${fqdn} }
  routes: [{ conditions: [{ prefix: ${JSON.stringify(prefix)} }], services: [{ name: web, port: 80 }] }]
`;
}

function manifests(): string {
  const dir = mkdtempSync(join(tmpdir(), "isobar-limits-"));
  const service = "apiVersion: v1\nkind: Service\nmetadata: { name: web, namespace: default }\nspec: { ports: [{ name: http, port: 80, targetPort: 8080 }] }\n";
  const objects = [
    service,
    ingress("ok", "ok.example.com"),
    ingress("huge-host", huge),
    ingress("long-label", longLabel),
    ingress("long-path", "path.example.com", longPath),
    ingress("port-high", "high.example.com", "/", 70000),
    ingress("port-negative", "negative.example.com", "/", -80),
    proxy("huge-fqdn", huge),
    proxy("long-label-fqdn", longLabel),
    proxy("long-prefix", "prefix.example.com", longPath),
  ];
  writeFileSync(join(dir, "all.yaml"), objects.join("---\n"));
  return dir;
}

type Report = { objects: Array<{ kind: string; name: string; currentStatus: string; errors: Array<{ reason: string; message: string }> }> };

test("hosts, paths and backend ports beyond the limits: a condition naming the field, a short message; the rest is valid", async () => {
  const run = await runSource(["validate", manifests(), "--output", "json"]);
  expect(run.code).toBe(1);
  const report = JSON.parse(run.stdout) as Report;
  const errors = Object.fromEntries(report.objects.map((o) => [`${o.kind} ${o.name}`, o.errors.map((e) => `${e.reason}: ${e.message}`)]));
  const head = (text: string) => JSON.stringify(text.slice(0, 80));
  expect(errors).toEqual({
    "Ingress ok": [],
    "Ingress huge-host": [`HostNotValid: spec.rules[0].host ${head(huge)}… is not a valid DNS name: longer than 253 characters (${huge.length})`],
    "Ingress long-label": [`HostNotValid: spec.rules[0].host "${longLabel}" is not a valid DNS name: a label is longer than 63 characters (64)`],
    "Ingress long-path": [`PathNotValid: spec.rules[0].http.paths[0]: path ${head(longPath)}… is longer than 4096 characters (5001)`],
    "Ingress port-high": ["SpecNotValid: spec.rules[0].http.paths[0].backend.service.port.number must be a port from 1 to 65535, got 70000; the field is ignored"],
    "Ingress port-negative": ["SpecNotValid: spec.rules[0].http.paths[0].backend.service.port.number must be a port from 1 to 65535, got -80; the field is ignored"],
    "HTTPProxy huge-fqdn": [`FQDNNotValid: Spec.VirtualHost.Fqdn ${head(huge)}… is not a valid hostname: longer than 253 characters (${huge.length})`],
    "HTTPProxy long-label-fqdn": [`FQDNNotValid: Spec.VirtualHost.Fqdn "${longLabel}" is not a valid hostname: a label is longer than 63 characters (64)`],
    "HTTPProxy long-prefix": [`PathMatchConditionsNotValid: route: prefix condition ${head(longPath)}… is longer than 4096 characters (5001)`],
  });
  expect(run.stdout.length).toBeLessThan(20_000);
});

let stop: (() => Promise<unknown>) | undefined;
afterAll(async () => {
  await stop?.();
});

test("agent serve with a 1 MiB host in a manifest: the route config stays small and agent xds reads it", async () => {
  await ensureAgentBinary();
  const agent = await startServe(["--manifests", manifests(), "--log-format", "json"]);
  stop = () => agent.stop();
  await agent.waitForLine(/first snapshot published/);
  const rds = await runAgent(["xds", "--server", `127.0.0.1:${agent.port}`, "--type", "rds", "ingress_http"]);
  expect({ code: rds.code, stderr: rds.stderr }).toEqual({ code: 0, stderr: "" });
  expect(rds.stdout.length).toBeLessThan(100_000);
  const domains = (JSON.parse(rds.stdout).resources[0].virtual_hosts as Array<{ domains: string[] }>).flatMap((v) => v.domains);
  expect(domains).toContain("ok.example.com");
  expect(domains.some((d) => d.length > 253)).toBe(false);
});

test("Envoy listener ports that clash, and an admin socket that is not an absolute path: one line, exit 2", async () => {
  const serve = ["serve", "--manifests", "examples/quickstart", "--port", "0", "--metrics-port", "0", "--debug-port", "0"];
  const cases: Array<[string[], string]> = [
    [["--stats-port", "8080"], "--stats-port 8080 is also --envoy-service-http-port: each Envoy listener needs its own port"],
    [["--envoy-service-https-port", "8080"], "--envoy-service-https-port 8080 is also --envoy-service-http-port: each Envoy listener needs its own port"],
    [["--envoy-service-http-port", "9000", "--envoy-service-https-port", "9001", "--stats-port", "9001"], "--stats-port 9001 is also --envoy-service-https-port: each Envoy listener needs its own port"],
    [["--envoy-admin-socket="], '--envoy-admin-socket must be the absolute path of a unix socket, got ""'],
    [["--envoy-admin-socket", "admin.sock"], '--envoy-admin-socket must be the absolute path of a unix socket, got "admin.sock"'],
    [["--envoy-admin-socket", "0.0.0.0:9901"], '--envoy-admin-socket must be the absolute path of a unix socket, got "0.0.0.0:9901"'],
  ];
  for (const [args, message] of cases) expect({ args, ...(await runSource([...serve, ...args])) }).toEqual({ args, code: 2, stdout: "", stderr: `agent: ${message}\n` });
  for (const value of ["", "admin.sock", "0.0.0.0:9901"]) {
    const run = await runSource(["bootstrap", "-", `--admin-address=${value}`]);
    expect({ value, ...run }).toEqual({ value, code: 2, stdout: "", stderr: `agent: --admin-address must be an absolute unix socket path (Envoy's admin is never on the network), got ${JSON.stringify(value)}\n` });
  }
});
