// The quickstart's stand-ins for running pods: one echo backend on 127.0.0.1 for every port of every
// EndpointSlice in the manifest directory that points at loopback, named after its Service
// (`namespace/name`). HTTP backends answer who they are and what they received (test/e2e/echo.ts, the
// same backend the end-to-end tests use); a port named grpc (or with a gRPC or h2c appProtocol) gets
// the gRPC echo (test/helpers/grpc-echo.ts). Also: the tour of curl commands npm start prints.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { startEcho } from "../test/e2e/echo.ts";
import { startEchoServer } from "../test/helpers/grpc-echo.ts";

export interface BackendSpec {
  /** The Service it stands in for: namespace/name. */
  name: string;
  port: number;
  grpc: boolean;
}

interface Manifest {
  kind?: string;
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string> };
  addressType?: string;
  ports?: Array<{ name?: string; port?: number; appProtocol?: string }>;
  endpoints?: Array<{ addresses?: string[] }>;
  type?: string;
  stringData?: Record<string, string>;
}

/** Every object of the directory's YAML and JSON files (the ones that parse; the agent reports the rest). */
export function readManifests(dir: string): Manifest[] {
  const objects: Manifest[] = [];
  for (const file of readdirSync(dir).sort()) {
    if (!/\.(ya?ml|json)$/.test(file)) continue;
    for (const document of parseAllDocuments(readFileSync(join(dir, file), "utf8"))) {
      const value = document.errors.length === 0 ? (document.toJS() as Manifest | null) : null;
      if (value && typeof value === "object") objects.push(value);
    }
  }
  return objects;
}

const grpcProtocols = new Set(["grpc", "h2c", "kubernetes.io/h2c"]);

/** The backends the EndpointSlices on loopback ask for, one per port, sorted by port. */
export function backendSpecs(objects: Manifest[]): BackendSpec[] {
  const byPort = new Map<number, BackendSpec>();
  for (const slice of objects) {
    if (slice.kind !== "EndpointSlice") continue;
    const loopback = (slice.endpoints ?? []).some((e) => (e.addresses ?? []).some((a) => a.startsWith("127.")));
    const service = slice.metadata?.labels?.["kubernetes.io/service-name"];
    if (!loopback || !service) continue;
    for (const port of slice.ports ?? []) {
      if (typeof port.port !== "number" || byPort.has(port.port)) continue;
      byPort.set(port.port, { name: `${slice.metadata?.namespace ?? "default"}/${service}`, port: port.port, grpc: port.name === "grpc" || grpcProtocols.has(port.appProtocol ?? "") });
    }
  }
  return [...byPort.values()].sort((a, b) => a.port - b.port);
}

/** Starts every backend; rejects with one line naming the port when one cannot listen. */
export async function startBackends(specs: BackendSpec[]): Promise<{ close(): Promise<void> }> {
  const closers: Array<() => Promise<void>> = [];
  const close = () => Promise.all(closers.map((c) => c())).then(() => undefined);
  try {
    for (const spec of specs) {
      if (spec.grpc) {
        const { server } = await startEchoServer(spec.name, { port: spec.port });
        closers.push(() => new Promise((done) => server.tryShutdown(() => done())));
      } else {
        const echo = await startEcho(spec.name, { port: spec.port });
        closers.push(() => echo.close());
      }
    }
  } catch (error) {
    await close();
    const reason = /EADDRINUSE|address already in use/i.test(String((error as Error).message)) ? "the port is in use (another npm start?)" : (error as Error).message;
    throw new Error(`cannot start the backend on 127.0.0.1:${specs[closers.length]?.port} for ${specs[closers.length]?.name}: ${reason}`);
  }
  return { close };
}

/** Writes the quickstart's client certificate (the proxy-mtls/quickstart-client Secret) for curl; undefined without it. */
export function writeClientCertificate(objects: Manifest[]): { dir: string; cert: string; key: string } | undefined {
  const secret = objects.find((o) => o.kind === "Secret" && o.metadata?.namespace === "proxy-mtls" && o.metadata?.name === "quickstart-client");
  const cert = secret?.stringData?.["tls.crt"];
  const key = secret?.stringData?.["tls.key"];
  if (!cert || !key) return undefined;
  const dir = mkdtempSync(join(tmpdir(), "isobar-quickstart-"));
  writeFileSync(join(dir, "client.crt"), cert, { mode: 0o644 });
  writeFileSync(join(dir, "client.key"), key, { mode: 0o600 });
  return { dir, cert: join(dir, "client.crt"), key: join(dir, "client.key") };
}

export function removeClientCertificate(files: { dir: string } | undefined): void {
  if (files) rmSync(files.dir, { recursive: true, force: true });
}

export interface Tour {
  httpPort: number;
  httpsPort: number;
  /** The CA file that signed the quickstart's server certificates, as the user should type it. */
  caFile?: string;
  client?: { cert: string; key: string };
}

/** The curl commands npm start prints: [what it shows, the command]; each works as printed. */
export function tour(options: Tour): Array<[string, string]> {
  const http = `http://127.0.0.1:${options.httpPort}`;
  const https = (host: string) => `--resolve ${host}:${options.httpsPort}:127.0.0.1 --cacert ${options.caFile}`;
  const steps: Array<[string, string]> = [
    ["a host: echo.example.com goes to quickstart/echo, which answers who it is and what it received", `curl -H 'Host: echo.example.com' ${http}/hello`],
    ["a path route: /v2 on the same host goes to quickstart/echo-v2", `curl -H 'Host: echo.example.com' ${http}/v2/hello`],
    ["delegation: www.example.com hands /blog to the proxy-blog team (path rewritten to /posts)", `curl -H 'Host: www.example.com' ${http}/blog/posts`],
    ["the weighted canary: about 90% shop-stable, 10% shop-canary", `for i in $(seq 20); do curl -s -H 'Host: shop.example.com' ${http}/; done | grep -o '"backend":"[^"]*"' | sort | uniq -c`],
    ["a header route: x-canary: always always reaches the canary", `curl -H 'Host: shop.example.com' -H 'x-canary: always' ${http}/`],
    ["a header route on another host: x-api-version: 2 goes to api-v2", `curl -H 'Host: api.example.com' -H 'x-api-version: 2' ${http}/items`],
    ["Gateway API: an HTTPRoute on the Gateway's HTTP listener sends gateway.example.com/v2 to echo-v2", `curl -H 'Host: gateway.example.com' ${http}/v2/hello`],
  ];
  if (options.caFile) {
    steps.push(["HTTPS with SNI, the certificate signed by the quickstart's CA", `curl ${https("secure.example.com")} https://secure.example.com:${options.httpsPort}/`]);
    if (options.client) steps.push(["mutual TLS: mtls.example.com wants a client certificate (npm start wrote this one)", `curl ${https("mtls.example.com")} --cert ${options.client.cert} --key ${options.client.key} https://mtls.example.com:${options.httpsPort}/`]);
  }
  steps.push(["the broken Ingress names a Service that does not exist: 503", `curl -i -H 'Host: broken.example.com' ${http}/`]);
  return steps;
}
