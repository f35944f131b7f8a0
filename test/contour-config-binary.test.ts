// The compiled agent with Contour's configuration: settings that are also flags (Envoy's listener
// ports from a ContourConfiguration, the fallback certificate and root namespaces from a
// configuration file) are used unless the command line gives the flag, which wins, as in Contour.
import { afterAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureAgentBinary, runAgent, startServe } from "./helpers/agent-binary.ts";

const scratch = mkdtempSync(join(tmpdir(), "isobar-contour-config-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

// The ports below are only written into the served configuration; no Envoy runs, nothing binds them.
async function listenerPorts(xdsPort: number): Promise<Record<string, number>> {
  const run = await runAgent(["xds", "--server", `127.0.0.1:${xdsPort}`, "--type", "lds", "--timeout", "10s"]);
  const listeners = (JSON.parse(run.stdout) as { resources: Array<{ name: string; address: { socket_address: { port_value: number } } }> }).resources;
  return Object.fromEntries(listeners.map((l) => [l.name, l.address.socket_address.port_value]));
}

test("a ContourConfiguration's listener ports are served; a flag on the command line overrides one", async () => {
  await ensureAgentBinary();
  const dir = join(scratch, "manifests");
  mkdirSync(dir);
  writeFileSync(
    join(dir, "contour.yaml"),
    `apiVersion: projectcontour.io/v1alpha1
kind: ContourConfiguration
metadata: { name: contour, namespace: projectcontour }
spec:
  envoy:
    http: { port: 18180 }
    https: { port: 18543 }
    metrics: { port: 18102 }
`,
  );
  const fromConfig = await startServe(["--manifests", dir, "--contour-config-name", "contour"]);
  try {
    await fromConfig.waitForLine(/first snapshot published/);
    expect(await listenerPorts(fromConfig.port)).toEqual({ ingress_http: 18180, "stats-health": 18102 });
  } finally {
    expect(await fromConfig.stop()).toBe(0);
  }
  const overridden = await startServe(["--manifests", dir, "--contour-config-name", "contour", "--envoy-service-http-port", "18280"]);
  try {
    await overridden.waitForLine(/first snapshot published/);
    expect(await listenerPorts(overridden.port)).toEqual({ ingress_http: 18280, "stats-health": 18102 });
  } finally {
    expect(await overridden.stop()).toBe(0);
  }
}, 60_000);

test("a bad ContourConfiguration at startup is one line naming the setting, exit 2", async () => {
  await ensureAgentBinary();
  const dir = join(scratch, "bad");
  mkdirSync(dir);
  writeFileSync(join(dir, "contour.yaml"), "apiVersion: projectcontour.io/v1alpha1\nkind: ContourConfiguration\nmetadata: { name: contour, namespace: projectcontour }\nspec:\n  envoy:\n    timeouts: { requestTimeout: forever }\n");
  const run = await runAgent(["serve", "--manifests", dir, "--contour-config-name", "contour", "--port", "0"]);
  expect(run).toEqual({ code: 2, stdout: "", stderr: 'agent: --contour-config-name: ContourConfiguration projectcontour/contour: spec.envoy.timeouts.requestTimeout must be a duration such as "30s" or "1m30s" or "infinity", got "forever"\n' });
});

// Two Gateways of our class, each with a route of its own host: the oldest is served unless a
// Gateway is named, by the configuration file's gateway.gatewayRef or by --gateway-ref, which wins.
test("the configuration file's gateway.gatewayRef picks the Gateway served; --gateway-ref overrides it", async () => {
  await ensureAgentBinary();
  const dir = join(scratch, "gateways");
  mkdirSync(dir);
  const gateway = (name: string, created: string) => `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: ${name}, namespace: infra, creationTimestamp: "${created}" }
spec:
  gatewayClassName: contour
  listeners: [{ name: http, port: 80, protocol: HTTP }]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: ${name}, namespace: infra }
spec:
  parentRefs: [{ name: ${name} }]
  hostnames: [${name}.example.com]
  rules: [{ backendRefs: [{ name: web, port: 80 }] }]
`;
  writeFileSync(
    join(dir, "gateways.yaml"),
    [
      `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: { name: contour }
spec: { controllerName: projectcontour.io/gateway-controller }
`,
      `apiVersion: v1
kind: Service
metadata: { name: web, namespace: infra }
spec: { ports: [{ name: http, port: 80 }] }
`,
      gateway("older", "2026-01-01T00:00:00Z"),
      gateway("newer", "2026-06-01T00:00:00Z"),
    ].join("---\n"),
  );
  const config = join(scratch, "gateway-ref.yaml");
  writeFileSync(config, "gateway:\n  gatewayRef: { namespace: infra, name: newer }\n");
  const servedHosts = async (args: string[]): Promise<string[]> => {
    const agent = await startServe(["--manifests", dir, ...args]);
    try {
      await agent.waitForLine(/first snapshot published/);
      const run = await runAgent(["xds", "--server", `127.0.0.1:${agent.port}`, "--type", "rds", "--timeout", "10s", "ingress_http"]);
      const routes = JSON.parse(run.stdout) as { resources: Array<{ virtual_hosts?: Array<{ domains: string[] }> }> };
      return routes.resources.flatMap((r) => (r.virtual_hosts ?? []).flatMap((v) => v.domains)).filter((d) => d.endsWith(".example.com"));
    } finally {
      expect(await agent.stop()).toBe(0);
    }
  };
  expect(await servedHosts([])).toEqual(["older.example.com"]);
  expect(await servedHosts(["--config-path", config])).toEqual(["newer.example.com"]);
  expect(await servedHosts(["--config-path", config, "--gateway-ref", "infra/older"])).toEqual(["older.example.com"]);
}, 60_000);
