// EndpointSlice addresses and ports as a user meets them: only unicast addresses of other hosts are
// served (loopback too with --allow-loopback-endpoints); what is left out is a warning on the
// Service naming the slice, in `agent validate`, in /debug/status and in the log, on a full build
// and on the EDS fast path (a slice change that does not rebuild the DAG).
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureAgentBinary, startServe } from "./helpers/agent-binary.ts";
import { runSource } from "./helpers/agent-process.ts";

setDefaultTimeout(60_000);

const app = `
apiVersion: v1
kind: Service
metadata: { name: web, namespace: default }
spec: { ports: [{ name: http, port: 80, targetPort: 8080 }] }
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: web, namespace: default }
spec:
  rules:
    - host: web.example.com
      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: web, port: { number: 80 } } } }] }
`;

function slice(name: string, port: number, addresses: string[]): string {
  return `
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: ${name}, namespace: default, labels: { kubernetes.io/service-name: web } }
addressType: IPv4
ports: [{ name: http, port: ${port} }]
endpoints: [{ addresses: ${JSON.stringify(addresses)} }]
`;
}

const bad = ["127.0.0.1", "0.0.0.0", "169.254.169.254", "224.0.0.1", "999.1.1.1"];

function manifests(): string {
  const dir = mkdtempSync(join(tmpdir(), "isobar-endpoints-"));
  writeFileSync(join(dir, "app.yaml"), app);
  writeFileSync(join(dir, "slices.yaml"), `${slice("web-a", 8080, ["10.0.0.1", ...bad])}---${slice("web-b", 70000, ["10.0.0.2"])}`);
  return dir;
}

type Status = { kind: string; namespace: string; name: string; currentStatus: string; warnings: Array<{ type: string; reason: string; message: string }> };

function webWarnings(statuses: Status[]): string[] {
  return (statuses.find((s) => s.kind === "Service" && s.name === "web")?.warnings ?? []).map((w) => `${w.reason}: ${w.message}`);
}

const expectedWarnings = [
  'AddressNotAllowed: EndpointSlice default/web-a: address "127.0.0.1" is a loopback address, not a unicast address of another host (agent serve --allow-loopback-endpoints serves loopback, for local development): not served',
  'AddressNotAllowed: EndpointSlice default/web-a: address "0.0.0.0" is an unspecified address, not a unicast address of another host: not served',
  'AddressNotAllowed: EndpointSlice default/web-a: address "169.254.169.254" is a link-local address, not a unicast address of another host: not served',
  'AddressNotAllowed: EndpointSlice default/web-a: address "224.0.0.1" is a multicast address, not a unicast address of another host: not served',
  'AddressNotValid: EndpointSlice default/web-a: address "999.1.1.1" is not an IP address: not served',
  "PortOutOfRange: EndpointSlice default/web-b: port 70000 is not a port from 1 to 65535: its endpoints are not served",
];

test("agent validate reports every address and port left out on the Service, naming the slice; loopback only with --allow-loopback-endpoints", async () => {
  const dir = manifests();
  const run = await runSource(["validate", dir, "--output", "json"]);
  expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
  expect(webWarnings(JSON.parse(run.stdout).objects)).toEqual(expectedWarnings);
  const allowed = await runSource(["validate", dir, "--output", "json", "--allow-loopback-endpoints"]);
  expect(webWarnings(JSON.parse(allowed.stdout).objects)).toEqual(expectedWarnings.filter((w) => !w.includes("127.0.0.1")));
  const text = await runSource(["validate", dir]);
  expect(text.stdout).toContain('EndpointSlice default/web-a: address "169.254.169.254" is a link-local address');
});

let stop: (() => Promise<unknown>) | undefined;
afterAll(async () => {
  await stop?.();
});

test("agent serve: left-out endpoints are never served, logged and on /debug/status, on a full build and on the EDS fast path", async () => {
  await ensureAgentBinary();
  const dir = manifests();
  const agent = await startServe(["--manifests", dir, "--log-format", "json", "--holdoff", "20ms"]);
  stop = () => agent.stop();
  const debug = (await agent.waitForLine(/debug views on (http:\/\/\S+)\/debug\//))[1]!;
  await agent.waitForLine(/first snapshot published/);
  const served = async () => {
    const xds = (await (await fetch(`${debug}/debug/xds`)).json()) as { types: Array<{ typeUrl: string; resources: unknown[] }> };
    const endpoints = xds.types.find((t) => t.typeUrl.endsWith("ClusterLoadAssignment"))!.resources;
    return JSON.stringify(endpoints).match(/"address":"[^"]+"/g) ?? [];
  };
  expect(await served()).toEqual(['"address":"10.0.0.1"']);
  expect(webWarnings((await (await fetch(`${debug}/debug/status`)).json()) as Status[])).toEqual(expectedWarnings);
  await agent.waitForLine(/Service default\/web: EndpointSlice default\/web-a: address \\"169\.254\.169\.254\\" is a link-local address/);

  // The fast path: only a slice changes (no DAG rebuild needed for EDS), adding 169.254.10.10 and 10.0.0.3.
  const after = agent.lineCount();
  writeFileSync(join(dir, "slices.yaml"), slice("web-a", 8080, ["10.0.0.1", "10.0.0.3", "169.254.10.10"]));
  await agent.waitForLine(/Service default\/web: EndpointSlice default\/web-a: address \\"169\.254\.10\.10\\" is a link-local address/, { after });
  let addresses: string[] = [];
  for (let i = 0; i < 100 && addresses.length !== 2; i++) {
    addresses = await served();
    if (addresses.length !== 2) await Bun.sleep(50);
  }
  expect(addresses.sort()).toEqual(['"address":"10.0.0.1"', '"address":"10.0.0.3"']);
  // The Service's status follows the slices.
  let warnings: string[] = [];
  for (let i = 0; i < 100 && warnings.length !== 1; i++) {
    warnings = webWarnings((await (await fetch(`${debug}/debug/status`)).json()) as Status[]);
    if (warnings.length !== 1) await Bun.sleep(50);
  }
  expect(warnings).toEqual(['AddressNotAllowed: EndpointSlice default/web-a: address "169.254.10.10" is a link-local address, not a unicast address of another host: not served']);
});
