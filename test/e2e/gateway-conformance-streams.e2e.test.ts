// The Gateway API conformance behaviours of GRPCRoute and TLSRoute, rewritten as our own tests
// through the compiled agent and a real Envoy (docs/gateway-api-conformance.md maps them): real
// gRPC calls (@grpc/grpc-js) routed by exact and regular-expression method matches, by headers
// (metadata), and by listener hostnames on a listener at another port; a call no rule matches gets
// UNIMPLEMENTED from Envoy. Every gRPC backend implements every method the tests call, so an
// UNIMPLEMENTED can only be Envoy's. TLSRoutes on a Passthrough listener route connections by SNI
// to their own TLS backends; an SNI no route names, and a route whose backend in another namespace
// is not granted, get no backend. HTTPS listeners beside them: a certificate in another namespace
// is served through a ReferenceGrant naming it, and without the grant or the Secret the listener
// is not programmed (its status says why; its SNI gets no certificate).
import { afterAll, beforeAll, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { join } from "node:path";
import { runAgent } from "../helpers/agent-binary.ts";
import { eventually, freePort, serviceFor, startStack, type Stack } from "./harness.ts";
import { serverCertificate, startTlsEcho, testCa, tlsRequest, tlsSecret, type PemPair, type TlsEcho } from "./pki.ts";
import { GATEWAY_HEAD } from "./gateway-fixtures.ts";

const echoService = "gateway_api_conformance.echo_basic.grpcecho.GrpcEcho";
/** Every method any test calls: each gRPC backend implements them all, answering with its own name. */
const methods = [`/${echoService}/Echo`, `/${echoService}/EchoTwo`, `/${echoService}/EchoThree`, "/regex.v1.Svc/GetThing", "/regex.v22.Svc/GetOther", "/regex.vx.Svc/GetThing", "/regex.v1.Svc/Put", "/any.Service/Lookup", "/other.Service/Lookup2"];

let stack: Stack;
let grpcServers: Array<{ name: string; port: number; server: grpc.Server }> = [];
let tlsBackends: TlsEcho[] = [];
let ca: PemPair;
/** Envoy's port for the Gateway listeners on another port (the Gateway's port is it minus 8000). */
let otherEnvoyPort: number;
const clients: grpc.Client[] = [];

const identity = (bytes: Buffer) => bytes;

/** A gRPC server on 127.0.0.1 that answers every method of `methods` with `name`. */
async function startGrpcEcho(name: string): Promise<{ name: string; port: number; server: grpc.Server }> {
  const server = new grpc.Server();
  for (const path of methods) {
    const definition = { path, requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity };
    server.addService({ [path]: definition }, { [path]: (_call: unknown, callback: grpc.sendUnaryData<Buffer>) => callback(null, Buffer.from(name)) });
  }
  const port = await new Promise<number>((resolve, reject) => server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))));
  return { name, port, server };
}

/** One unary call through Envoy as `authority`: the backend that answered, or `error:<CODE>`. */
function call(authority: string, path: string, metadata: Record<string, string> = {}, port = stack.httpPort): Promise<string> {
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { "grpc.default_authority": authority });
  clients.push(client);
  const sent = new grpc.Metadata();
  for (const [key, value] of Object.entries(metadata)) sent.set(key, value);
  return new Promise((resolve) => {
    client.makeUnaryRequest(path, identity, identity, Buffer.alloc(0), sent, { deadline: Date.now() + 5000 }, (error, reply) => {
      client.close();
      resolve(error ? `error:${grpc.status[error.code]}` : String(reply));
    });
  });
}

const grpcRoute = (name: string, spec: string) => `---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: { name: ${name}, namespace: infra }
spec:
${spec}`;

const gateway = (otherPort: number) => `${GATEWAY_HEAD}    - { name: http, port: 80, protocol: HTTP }
    - { name: listener-1, port: ${otherPort}, protocol: HTTP, hostname: bar.com }
    - { name: listener-2, port: ${otherPort}, protocol: HTTP, hostname: foo.bar.com }
    - { name: listener-3, port: ${otherPort}, protocol: HTTP, hostname: "*.bar.com" }
    - { name: listener-4, port: ${otherPort}, protocol: HTTP, hostname: "*.foo.com" }
    - { name: tls, port: 443, protocol: TLS, hostname: "*.tls.test", tls: { mode: Passthrough } }
    - { name: granted, port: 443, protocol: HTTPS, hostname: granted.https.test, tls: { certificateRefs: [{ name: granted, namespace: certs }] } }
    - { name: missing-grant, port: 443, protocol: HTTPS, hostname: missing-grant.https.test, tls: { certificateRefs: [{ name: ungranted, namespace: certs }] } }
    - { name: no-secret, port: 443, protocol: HTTPS, hostname: no-secret.https.test, tls: { certificateRefs: [{ name: nothere }] } }
---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: { name: one-secret, namespace: certs }
spec:
  from: [{ group: gateway.networking.k8s.io, kind: Gateway, namespace: infra }]
  to: [{ group: "", kind: Secret, name: granted }]
`;

const routes = [
  grpcRoute("exact-matching", `  parentRefs: [{ name: web, sectionName: http }]
  hostnames: [exact.grpc.test]
  rules:
    - matches: [{ method: { service: ${echoService}, method: Echo } }]
      backendRefs: [{ name: grpc-v1, port: 8080 }]
    - matches: [{ method: { service: ${echoService}, method: EchoTwo } }]
      backendRefs: [{ name: grpc-v2, port: 8080 }]
    - matches: [{ method: { method: Lookup } }]
      backendRefs: [{ name: grpc-v3, port: 8080 }]
`),
  grpcRoute("regex-matching", `  parentRefs: [{ name: web, sectionName: http }]
  hostnames: [regex.grpc.test]
  rules:
    - matches: [{ method: { type: RegularExpression, service: "regex\\\\.v[0-9]+\\\\.Svc", method: "Get.*" } }]
      backendRefs: [{ name: grpc-v3, port: 8080 }]
`),
  grpcRoute("header-matching", `  parentRefs: [{ name: web, sectionName: http }]
  hostnames: [headers.grpc.test]
  rules:
    - matches: [{ headers: [{ name: version, value: one }] }]
      backendRefs: [{ name: grpc-v1, port: 8080 }]
    - matches: [{ headers: [{ name: version, value: two }] }]
      backendRefs: [{ name: grpc-v2, port: 8080 }]
    - matches: [{ headers: [{ name: version, value: two }, { name: color, value: orange }] }]
      backendRefs: [{ name: grpc-v1, port: 8080 }]
    - matches: [{ headers: [{ name: color, value: blue }] }, { headers: [{ name: color, value: green }] }]
      backendRefs: [{ name: grpc-v1, port: 8080 }]
    - matches: [{ headers: [{ name: color, value: red }] }, { headers: [{ name: color, value: yellow }] }]
      backendRefs: [{ name: grpc-v2, port: 8080 }]
`),
  grpcRoute("backend-v1", "  parentRefs: [{ name: web, sectionName: listener-1 }]\n  rules: [{ backendRefs: [{ name: grpc-v1, port: 8080 }] }]\n"),
  grpcRoute("backend-v2", "  parentRefs: [{ name: web, sectionName: listener-2 }]\n  rules: [{ backendRefs: [{ name: grpc-v2, port: 8080 }] }]\n"),
  grpcRoute("backend-v3", "  parentRefs: [{ name: web, sectionName: listener-3 }, { name: web, sectionName: listener-4 }]\n  rules: [{ backendRefs: [{ name: grpc-v3, port: 8080 }] }]\n"),
  ...["a", "b"].map((name) => `---
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TLSRoute
metadata: { name: tls-${name}, namespace: infra }
spec:
  parentRefs: [{ name: web, sectionName: tls }]
  hostnames: [${name}.tls.test]
  rules: [{ backendRefs: [{ name: tls-${name}, port: 443 }] }]
`),
  `---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: on-https, namespace: infra }
spec:
  parentRefs: [{ name: web, sectionName: granted }, { name: web, sectionName: missing-grant }, { name: web, sectionName: no-secret }]
  rules: [{ filters: [{ type: RequestRedirect, requestRedirect: { hostname: moved.example } }] }]
`,
  `---
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TLSRoute
metadata: { name: not-granted, namespace: infra }
spec:
  parentRefs: [{ name: web, sectionName: tls }]
  hostnames: [c.tls.test]
  rules: [{ backendRefs: [{ name: tls-c, namespace: elsewhere, port: 443 }] }]
`,
].join("");

beforeAll(async () => {
  grpcServers = [await startGrpcEcho("grpc-v1"), await startGrpcEcho("grpc-v2"), await startGrpcEcho("grpc-v3")];
  ca = await testCa("gateway streams e2e CA");
  tlsBackends = await Promise.all(["a", "b", "c"].map(async (name) => startTlsEcho(`tls-${name}`, await serverCertificate(ca, [`${name}.tls.test`]))));
  otherEnvoyPort = await freePort();
  if (otherEnvoyPort <= 8000) throw new Error(`free port ${otherEnvoyPort} is too low to be a Gateway port + 8000`);
  const services = [
    ...grpcServers.map((backend) => serviceFor("infra", backend.name, [backend], { port: 8080 })),
    serviceFor("infra", "tls-a", [tlsBackends[0]!], { port: 443 }),
    serviceFor("infra", "tls-b", [tlsBackends[1]!], { port: 443 }),
    serviceFor("elsewhere", "tls-c", [tlsBackends[2]!], { port: 443 }),
  ].join("---\n");
  const certificates = [tlsSecret("certs", "granted", await serverCertificate(ca, ["granted.https.test"])), tlsSecret("certs", "ungranted", await serverCertificate(ca, ["missing-grant.https.test"]))].join("---\n");
  stack = await startStack({ manifests: { "gateway.yaml": gateway(otherEnvoyPort - 8000), "services.yaml": services, "routes.yaml": routes, "certificates.yaml": certificates }, listeners: ["ingress_http", "ingress_https"] });
  await eventually(async () => (await call("exact.grpc.test", `/${echoService}/Echo`)) === "grpc-v1", { what: "the GRPCRoutes are served" });
  await eventually(async () => (await call("bar.com", `/${echoService}/Echo`, {}, otherEnvoyPort)) === "grpc-v1", { what: "the listeners on another port are served" });
}, 60_000);

afterAll(async () => {
  for (const client of clients) client.close();
  await stack?.stop();
  for (const { server } of grpcServers) server.forceShutdown();
  for (const backend of tlsBackends) await backend.close();
});

test("GRPCRoute exact method matches: service and method, and method alone in any service", async () => {
  expect(await call("exact.grpc.test", `/${echoService}/Echo`)).toBe("grpc-v1");
  expect(await call("exact.grpc.test", `/${echoService}/EchoTwo`)).toBe("grpc-v2");
  expect(await call("exact.grpc.test", `/${echoService}/EchoThree`)).toBe("error:UNIMPLEMENTED");
  expect(await call("exact.grpc.test", "/any.Service/Lookup")).toBe("grpc-v3");
  // The method matches whole: Lookup2 is not Lookup.
  expect(await call("exact.grpc.test", "/other.Service/Lookup2")).toBe("error:UNIMPLEMENTED");
});

test("GRPCRoute regular expression method matches: service and method each match whole", async () => {
  expect(await call("regex.grpc.test", "/regex.v1.Svc/GetThing")).toBe("grpc-v3");
  expect(await call("regex.grpc.test", "/regex.v22.Svc/GetOther")).toBe("grpc-v3");
  expect(await call("regex.grpc.test", "/regex.vx.Svc/GetThing")).toBe("error:UNIMPLEMENTED");
  expect(await call("regex.grpc.test", "/regex.v1.Svc/Put")).toBe("error:UNIMPLEMENTED");
});

test("GRPCRoute header matches: metadata selects the rule, all headers of a match must be present, and matches of a rule are ORed", async () => {
  const echo = `/${echoService}/Echo`;
  expect(await call("headers.grpc.test", echo, { version: "one" })).toBe("grpc-v1");
  expect(await call("headers.grpc.test", echo, { version: "two" })).toBe("grpc-v2");
  expect(await call("headers.grpc.test", echo, { version: "two", color: "orange" })).toBe("grpc-v1");
  expect(await call("headers.grpc.test", echo, { color: "blue" })).toBe("grpc-v1");
  expect(await call("headers.grpc.test", echo, { color: "green" })).toBe("grpc-v1");
  expect(await call("headers.grpc.test", echo, { color: "red" })).toBe("grpc-v2");
  expect(await call("headers.grpc.test", echo, { color: "yellow" })).toBe("grpc-v2");
  expect(await call("headers.grpc.test", echo)).toBe("error:UNIMPLEMENTED");
  expect(await call("headers.grpc.test", echo, { color: "purple" })).toBe("error:UNIMPLEMENTED");
});

test("GRPCRoute listener hostnames: routes without hostnames take their listener's", async () => {
  const echo = `/${echoService}/Echo`;
  expect(await call("bar.com", echo, {}, otherEnvoyPort)).toBe("grpc-v1");
  expect(await call("foo.bar.com", echo, {}, otherEnvoyPort)).toBe("grpc-v2");
  for (const host of ["baz.bar.com", "boo.bar.com", "multiple.prefixes.bar.com", "multiple.prefixes.foo.com"]) expect(await call(host, echo, {}, otherEnvoyPort)).toBe("grpc-v3");
  for (const host of ["foo.com", "no.matching.host"]) expect(await call(host, echo, {}, otherEnvoyPort)).toBe("error:UNIMPLEMENTED");
});

test("TLSRoute: connections are passed through by SNI to each route's backend; an SNI no route names gets none", async () => {
  for (const name of ["a", "b"]) {
    const answer = await eventually(async () => {
      const exchange = await tlsRequest(stack.httpsPort, { servername: `${name}.tls.test`, ca: ca.certificatePem, path: `/to-${name}` });
      return exchange.error === undefined && exchange;
    }, { what: `the TLSRoute for ${name}.tls.test is served` });
    // The backend's own certificate, so the connection was passed through, not terminated by Envoy.
    expect(answer.dnsNames).toEqual([`${name}.tls.test`]);
    expect(JSON.parse(answer.body!)).toMatchObject({ backend: `tls-${name}`, sni: `${name}.tls.test`, path: `/to-${name}` });
  }
  const unknown = await tlsRequest(stack.httpsPort, { servername: "d.tls.test", ca: ca.certificatePem, anyName: true });
  expect(unknown.error).toBeDefined();
  expect(unknown.body).toBeUndefined();
});

interface ValidatedObject {
  kind: string;
  name: string;
  parents?: Array<{ conditions: Array<{ type: string; status: string; reason: string }> }>;
  listeners?: Array<{ name: string; conditions: Array<{ type: string; status: string; reason: string }> }>;
}

/** What `agent validate` says of the served manifests. */
async function validated(): Promise<ValidatedObject[]> {
  const run = await runAgent(["validate", join(stack.dir, "manifests"), "--output", "json", "--allow-loopback-endpoints"]);
  return (JSON.parse(run.stdout) as { objects: ValidatedObject[] }).objects;
}

test("TLSRoute with a backend in another namespace and no ReferenceGrant: RefNotPermitted, and the connection reaches no backend", async () => {
  const refused = await tlsRequest(stack.httpsPort, { servername: "c.tls.test", ca: ca.certificatePem, anyName: true });
  expect(refused.error).toBeDefined();
  expect(tlsBackends[2]!.requests()).toBe(0);
  const objects = await validated();
  const conditions = (name: string) => objects.find((o) => o.kind === "TLSRoute" && o.name === name)!.parents!.map((p) => p.conditions.map((c) => `${c.type}=${c.status} ${c.reason}`));
  expect(conditions("not-granted")).toEqual([["Accepted=True Accepted", "ResolvedRefs=False RefNotPermitted"]]);
  expect(conditions("tls-a")).toEqual([["Accepted=True Accepted", "ResolvedRefs=True ResolvedRefs"]]);
});

test("HTTPS listeners: a certificate in another namespace needs a ReferenceGrant naming it; without one, or without the Secret, the listener is not programmed", async () => {
  const listeners = (await validated()).find((o) => o.kind === "Gateway")!.listeners!;
  const verdict = (name: string) => listeners.find((l) => l.name === name)!.conditions.filter((c) => c.type === "ResolvedRefs" || c.type === "Programmed").map((c) => `${c.type}=${c.status} ${c.reason}`);
  expect(verdict("granted")).toEqual(["Programmed=True Programmed", "ResolvedRefs=True ResolvedRefs"]);
  expect(verdict("missing-grant")).toEqual(["Programmed=False Invalid", "ResolvedRefs=False RefNotPermitted"]);
  expect(verdict("no-secret")).toEqual(["Programmed=False Invalid", "ResolvedRefs=False InvalidCertificateRef"]);
  // The granted listener terminates TLS with its certificate and serves its route (a redirect); the others present none.
  const granted = await tlsRequest(stack.httpsPort, { servername: "granted.https.test", ca: ca.certificatePem, path: "/" });
  expect([granted.dnsNames, granted.status]).toEqual([["granted.https.test"], 302]);
  for (const servername of ["missing-grant.https.test", "no-secret.https.test"]) {
    const refused = await tlsRequest(stack.httpsPort, { servername, ca: ca.certificatePem, anyName: true });
    expect(refused.dnsNames).toBeUndefined();
    expect(refused.error).toBeDefined();
  }
});
