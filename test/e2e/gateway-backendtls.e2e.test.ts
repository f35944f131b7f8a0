// BackendTLSPolicy through the compiled agent and a real Envoy: an HTTPRoute sends to an HTTPS echo
// backend behind four Services, each with its own policy. The one whose CA (a ConfigMap) signed the
// backend's certificate and whose hostname the certificate carries is answered, with the hostname
// as SNI; a wrong hostname or a CA that did not sign it fails Envoy's upstream handshake (503) and
// the backend sees no request; behind the HTTPS listener the request is re-encrypted; a policy naming a ConfigMap that does not exist answers 500. Editing
// the wrong CA's ConfigMap to hold the right one makes that backend reachable (ConfigMaps are
// watched), and `agent validate` prints each policy's ancestor conditions.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { runAgent } from "../helpers/agent-binary.ts";
import { eventually, send, serviceFor, startStack, type Stack } from "./harness.ts";
import { serverCertificate, startTlsEcho, testCa, tlsRequest, tlsSecret, type PemPair, type TlsEcho } from "./pki.ts";
import { GATEWAY_HEAD, httpRouteHead } from "./gateway-fixtures.ts";

let stack: Stack;
let backend: TlsEcho;
let ca: PemPair;
let otherCa: PemPair;

const gateway = `${GATEWAY_HEAD}    - { name: http, port: 80, protocol: HTTP, allowedRoutes: { namespaces: { from: All } } }
    - { name: https, port: 443, protocol: HTTPS, hostname: tls.example.com, allowedRoutes: { namespaces: { from: All } }, tls: { certificateRefs: [{ name: listener-cert }] } }
---
${httpRouteHead({ name: "app", namespace: "apps", parentRefs: "{ name: web, namespace: infra }", hostnames: "tls.example.com" })}${["good", "wrong-host", "wrong-ca", "missing-ca"].map((name) => `    - matches: [{ path: { type: Exact, value: /${name} } }]\n      backendRefs: [{ name: ${name}, port: 443 }]`).join("\n")}
`;

/** A BackendTLSPolicy on Service `name` (apiVersion v1, or v1alpha3 as Gateway API v1.3.0 serves it). */
function policy(name: string, configMap: string, hostname: string, apiVersion = "v1"): string {
  return `apiVersion: gateway.networking.k8s.io/${apiVersion}
kind: BackendTLSPolicy
metadata: { name: ${name}, namespace: apps }
spec:
  targetRefs: [{ group: "", kind: Service, name: ${name} }]
  validation:
    caCertificateRefs: [{ group: "", kind: ConfigMap, name: ${configMap} }]
    hostname: ${hostname}
`;
}

function caConfigMap(name: string, pair: PemPair): string {
  return `apiVersion: v1
kind: ConfigMap
metadata: { name: ${name}, namespace: apps }
data:
  ca.crt: ${JSON.stringify(pair.certificatePem)}
`;
}

beforeAll(async () => {
  [ca, otherCa] = await Promise.all([testCa("backend CA"), testCa("another CA")]);
  backend = await startTlsEcho("secure", await serverCertificate(ca, ["secure.backend.test"]));
  const services = ["good", "wrong-host", "wrong-ca", "missing-ca"].map((name) => serviceFor("apps", name, [backend], { port: 443, portName: "https" })).join("---\n");
  const policies = [
    policy("good", "backend-ca", "secure.backend.test"),
    policy("wrong-host", "backend-ca", "other.backend.test", "v1alpha3"),
    policy("wrong-ca", "other-ca", "secure.backend.test"),
    policy("missing-ca", "no-such-configmap", "secure.backend.test"),
  ].join("---\n");
  stack = await startStack({
    manifests: {
      "gateway.yaml": gateway,
      "services.yaml": services,
      "policies.yaml": policies,
      "backend-ca.yaml": caConfigMap("backend-ca", ca),
      "other-ca.yaml": caConfigMap("other-ca", otherCa),
      "listener-cert.yaml": tlsSecret("infra", "listener-cert", await serverCertificate(otherCa, ["tls.example.com"])),
    },
    listeners: ["ingress_http", "ingress_https"],
  });
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  await backend?.close();
});

const get = (path: string) => send(stack.httpPort, path, { host: "tls.example.com" });

test("the backend whose certificate the policy's CA signed, for the policy's hostname, is reached over TLS with that hostname as SNI", async () => {
  const answer = await eventually(async () => {
    const response = await get("/good");
    return response.status === 200 ? response : undefined;
  });
  expect(answer.json<{ backend: string; sni?: string; path: string }>()).toMatchObject({ backend: "secure", sni: "secure.backend.test", path: "/good" });
});

test("behind the HTTPS listener the request is re-encrypted: TLS ends at Envoy, and the backend is reached over TLS as the policy says", async () => {
  const answer = await eventually(async () => {
    const exchange = await tlsRequest(stack.httpsPort, { servername: "tls.example.com", ca: otherCa.certificatePem, path: "/good" });
    return exchange.status === 200 ? exchange : undefined;
  });
  expect(JSON.parse(answer.body!)).toMatchObject({ backend: "secure", sni: "secure.backend.test", path: "/good" });
  expect((await tlsRequest(stack.httpsPort, { servername: "tls.example.com", ca: otherCa.certificatePem, path: "/wrong-host" })).status).toBe(503);
});

test("a hostname the certificate does not carry, or a CA that did not sign it, fails the upstream handshake: 503, and the backend sees no request", async () => {
  await eventually(async () => (await get("/good")).status === 200);
  const before = backend.requests();
  for (const path of ["/wrong-host", "/wrong-ca"]) {
    const response = await get(path);
    expect(`${path} ${response.status}`).toBe(`${path} 503`);
  }
  expect(backend.requests()).toBe(before);
});

test("a policy naming a ConfigMap that does not exist is not applied, and its backend is never reached in plaintext: 500", async () => {
  await eventually(async () => (await get("/good")).status === 200);
  const before = backend.requests();
  expect((await get("/missing-ca")).status).toBe(500);
  expect(backend.requests()).toBe(before);
});

test("agent validate prints each policy's ancestor, the Gateway, with the spec's conditions", async () => {
  const run = await runAgent(["validate", join(stack.dir, "manifests"), "--output", "json", "--allow-loopback-endpoints"]);
  const report = JSON.parse(run.stdout) as { objects: Array<{ kind: string; name: string; ancestors?: Array<{ ancestorRef: { name: string }; conditions: Array<{ type: string; status: string; reason: string }> }> }> };
  const conditions = (name: string) =>
    report.objects
      .find((o) => o.kind === "BackendTLSPolicy" && o.name === name)
      ?.ancestors?.map((a) => `${a.ancestorRef.name}: ${a.conditions.map((c) => `${c.type}=${c.status} ${c.reason}`).join(", ")}`);
  expect(conditions("good")).toEqual(["web: Accepted=True Accepted, ResolvedRefs=True ResolvedRefs"]);
  expect(conditions("wrong-host")).toEqual(["web: Accepted=True Accepted, ResolvedRefs=True ResolvedRefs"]);
  expect(conditions("missing-ca")).toEqual(["web: Accepted=False NoValidCACertificate, ResolvedRefs=False InvalidCACertificateRef"]);
  // The invalid policy makes the report invalid (exit 1), as any invalid object does.
  expect(run.code).toBe(1);
});

test("a ConfigMap the policy names is watched: once it holds the CA that signed the backend, that backend is reached", async () => {
  expect((await get("/wrong-ca")).status).toBe(503);
  stack.write("other-ca.yaml", caConfigMap("other-ca", ca));
  const answer = await eventually(async () => {
    const response = await get("/wrong-ca");
    return response.status === 200 ? response : undefined;
  });
  expect(answer.json<{ backend: string; sni?: string }>()).toMatchObject({ backend: "secure", sni: "secure.backend.test" });
  stack.write("other-ca.yaml", caConfigMap("other-ca", otherCa));
  await eventually(async () => (await get("/wrong-ca")).status === 503);
});
