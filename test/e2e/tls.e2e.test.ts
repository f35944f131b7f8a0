// TLS through a real Envoy: a certificate per virtual host chosen by SNI, protocol versions, client
// certificate validation (CA, another CA, a CRL), the fallback certificate for clients without SNI,
// 421 when SNI and Host differ, TLS passthrough and TCP proxying by SNI; and SDS scoping: Envoy
// holds exactly the secrets its listeners and clusters use, none of the others in the input.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { normalizeSerial } from "../helpers/tls-probe.ts";
import { envoySecrets, eventually, send, serviceFor, startEcho, startStack, type EchoBackend, type Stack } from "./harness.ts";
import { caSecret, clientCertificate, crlFor, crlSecret, h2Requests, opensslServerCertificates, type OpensslServerCertificates, serialOf, serverCertificate, startTlsEcho, testCa, tlsRequest, tlsSecret, type PemPair, type TlsEcho } from "./pki.ts";

let stack: Stack;
let manifests: Record<string, string>;
let a: EchoBackend;
let b: EchoBackend;
let passBackend: TlsEcho;
let upstreamBackend: TlsEcho;
let serverCa: PemPair;
let openssl: OpensslServerCertificates;
let passCa: PemPair;
const clients: Record<"valid" | "revoked" | "foreign", PemPair> = {} as never;

function proxy(name: string, fqdn: string, tls: string, body: string): string {
  return `apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: { name: ${name}, namespace: tls }
spec:
  virtualhost:
    fqdn: ${fqdn}
    tls: ${tls}
${body}---
`;
}

const routeTo = (service: string) => `  routes:\n    - services: [{ name: ${service}, port: 80 }]\n`;

beforeAll(async () => {
  [a, b] = [await startEcho("a"), await startEcho("b")];
  serverCa = await testCa("e2e server CA");
  passCa = await testCa("e2e passthrough backend CA");
  const clientCa = await testCa("e2e client CA");
  const foreignCa = await testCa("e2e foreign CA");
  clients.valid = await clientCertificate(clientCa, "valid-client");
  clients.revoked = await clientCertificate(clientCa, "revoked-client");
  clients.foreign = await clientCertificate(foreignCa, "foreign-client");
  passBackend = await startTlsEcho("passthrough", await serverCertificate(passCa, ["pass.tls.test"]));
  upstreamBackend = await startTlsEcho("upstream", await serverCertificate(passCa, ["secure.tls.svc"]), { askClientCertificate: true });
  const hosts = ["a", "b", "v13", "v12", "mtls", "optional", "skip", "tcp", "ing", "fallback"];
  const certs = await Promise.all(hosts.map((host) => serverCertificate(serverCa, [`${host}.tls.test`])));
  const unused = await serverCertificate(serverCa, ["unused.tls.test"]);
  openssl = opensslServerCertificates("tls.test");
  const secrets = [
    ...hosts.map((host, index) => tlsSecret("tls", `${host}-cert`, certs[index]!)).slice(1),
    tlsSecret("tls", "unused-cert", unused),
    tlsSecret("tls", "wild-cert", await serverCertificate(serverCa, ["*.wild.tls.test"])),
    tlsSecret("tls", "rsa-cert", openssl.rsa),
    tlsSecret("tls", "ecp-cert", openssl.ecParameters),
    tlsSecret("tls", "chain-cert", openssl.chain),
    caSecret("tls", "client-ca", clientCa),
    caSecret("tls", "unused-ca", foreignCa),
    crlSecret("tls", "client-crl", await crlFor(clientCa, [clients.revoked.certificatePem])),
    caSecret("tls", "upstream-ca", passCa),
    tlsSecret("tls", "upstream-client", await clientCertificate(clientCa, "upstream-client")),
  ];
  manifests = {
    // a-cert on its own, so that a test can replace it.
    "a-cert.yaml": tlsSecret("tls", "a-cert", certs[0]!),
    "secrets.yaml": secrets.join("---\n"),
    "services.yaml": [serviceFor("tls", "a", [a]), serviceFor("tls", "b", [b]), serviceFor("tls", "pass", [passBackend], { port: 443 }), serviceFor("tls", "secure", [upstreamBackend], { port: 443, annotations: { "projectcontour.io/upstream-protocol.tls": "443" } })].join("---\n"),
    "proxies.yaml": [
      proxy("a", "a.tls.test", "{ secretName: a-cert }", routeTo("a")),
      proxy("b", "b.tls.test", "{ secretName: b-cert, enableFallbackCertificate: true }", routeTo("b")),
      proxy("v13", "v13.tls.test", '{ secretName: v13-cert, minimumProtocolVersion: "1.3" }', routeTo("a")),
      proxy("v12", "v12.tls.test", '{ secretName: v12-cert, maximumProtocolVersion: "1.2" }', routeTo("a")),
      proxy("mtls", "mtls.tls.test", "{ secretName: mtls-cert, clientValidation: { caSecret: client-ca, crlSecret: client-crl } }", routeTo("a")),
      proxy("optional", "optional.tls.test", "{ secretName: optional-cert, clientValidation: { caSecret: client-ca, optionalClientCertificate: true, forwardClientCertificate: { subject: true, dns: true } } }", routeTo("a")),
      proxy("skip", "skip.tls.test", "{ secretName: skip-cert, clientValidation: { skipClientCertValidation: true, forwardClientCertificate: { subject: true } } }", routeTo("a")),
      `apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: { name: upstream, namespace: tls }
spec:
  virtualhost: { fqdn: upstream.tls.test }
  routes:
    - conditions: [{ prefix: /wrong-name }]
      services: [{ name: secure, port: 443, validation: { caSecret: upstream-ca, subjectName: other.tls.svc } }]
    - services: [{ name: secure, port: 443, validation: { caSecret: upstream-ca, subjectName: secure.tls.svc } }]
---
`,
      ...["rsa", "ecp", "chain"].map((name) => proxy(name, `${name}.tls.test`, `{ secretName: ${name}-cert }`, routeTo("a"))),
      proxy("pass", "pass.tls.test", "{ passthrough: true }", "  tcpproxy:\n    services: [{ name: pass, port: 443 }]\n"),
      proxy("tcp", "tcp.tls.test", "{ secretName: tcp-cert }", "  tcpproxy:\n    services: [{ name: b, port: 80 }]\n"),
    ].join(""),
    "ingress.yaml": `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: ing, namespace: tls, annotations: { projectcontour.io/tls-minimum-protocol-version: "1.3" } }
spec:
  tls: [{ hosts: [ing.tls.test], secretName: ing-cert }]
  rules:
    - host: ing.tls.test
      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: b, port: { number: 80 } } } }] }
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: wild, namespace: tls }
spec:
  tls: [{ hosts: ["*.wild.tls.test"], secretName: wild-cert }]
  rules:
    - host: "*.wild.tls.test"
      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: a, port: { number: 80 } } } }] }
`,
  };
}, 30_000);

afterAll(async () => {
  await Promise.all([a?.close(), b?.close(), passBackend?.close(), upstreamBackend?.close()]);
});

const https = (servername: string | undefined, extra: Partial<Parameters<typeof tlsRequest>[1]> = {}) =>
  tlsRequest(stack.httpsPort, { servername, ca: serverCa.certificatePem, ...extra });

// The same checks with each way an Envoy can fetch its configuration (SDS on ADS or on its own stream).
for (const xdsMode of ["delta", "sotw", "per-type"] as const) {
  describe(`xDS ${xdsMode}`, () => {
    beforeAll(async () => {
      stack = await startStack({ xdsMode, manifests, listeners: ["ingress_http", "ingress_https"], serveArgs: ["--fallback-certificate", "tls/fallback-cert", "--upstream-client-certificate", "tls/upstream-client"] });
    }, 60_000);

    afterAll(async () => {
      await stack?.stop();
    });

    describe("SNI", () => {
      test("each virtual host presents its own certificate and routes to its own backend", async () => {
        for (const [host, backend] of [["a.tls.test", "a"], ["b.tls.test", "b"], ["ing.tls.test", "b"]] as const) {
          const answer = await https(host, { path: "/sni" });
          expect(answer.error).toBeUndefined();
          expect(answer.serverName).toBe(host);
          expect(answer.dnsNames).toEqual([host]);
          expect(answer.status).toBe(200);
          expect(JSON.parse(answer.body!)).toMatchObject({ backend, host, path: "/sni" });
        }
      });

      test("plain HTTP to a TLS virtual host is redirected to HTTPS", async () => {
        const answer = await send(stack.httpPort, "/page?q=1", { host: "a.tls.test" });
        expect(answer.status).toBe(301);
        expect(answer.headers.location).toBe("https://a.tls.test/page?q=1");
      });

      test("a Host other than the SNI name is answered 421 Misdirected Request", async () => {
        const seen = a.received.length + b.received.length;
        const answer = await https("a.tls.test", { host: "b.tls.test" });
        expect(answer.serverName).toBe("a.tls.test");
        expect(answer.status).toBe(421);
        expect(a.received.length + b.received.length).toBe(seen);
      });

      test("HTTP/2 (ALPN h2): the SNI host is served, another :authority on the same connection is 421", async () => {
        const [own, other] = await h2Requests(stack.httpsPort, {
          servername: "a.tls.test",
          ca: serverCa.certificatePem,
          requests: [{ authority: "a.tls.test", path: "/h2" }, { authority: "b.tls.test", path: "/h2" }],
        });
        expect(own!.status).toBe(200);
        expect(JSON.parse(own!.body)).toMatchObject({ backend: "a", host: "a.tls.test", path: "/h2" });
        expect(other!.status).toBe(421);
      });

      test("certificates as openssl writes them: an RSA PKCS#1 key, an EC key after EC PARAMETERS, a chain through an intermediate", async () => {
        const cases = [["rsa", openssl.rsa.certificatePem], ["ecp", openssl.ecParameters.certificatePem], ["chain", openssl.root]] as const;
        for (const [name, trusted] of cases) {
          for (const maxVersion of ["TLSv1.2", "TLSv1.3"] as const) {
            const answer = await tlsRequest(stack.httpsPort, { servername: `${name}.tls.test`, ca: trusted, maxVersion });
            expect(answer.error).toBeUndefined();
            expect(answer.status).toBe(200);
          }
        }
      });

      test("a wildcard TLS host presents its wildcard certificate for any name under it", async () => {
        const answer = await https("x.wild.tls.test", { path: "/wild" });
        expect(answer.error).toBeUndefined();
        expect(answer.dnsNames).toEqual(["*.wild.tls.test"]);
        expect(JSON.parse(answer.body!)).toMatchObject({ backend: "a", host: "x.wild.tls.test", path: "/wild" });
      });
    });

    describe("protocol versions", () => {
      test("minimumProtocolVersion 1.3 refuses a TLS 1.2 client and serves a TLS 1.3 one", async () => {
        const old = await https("v13.tls.test", { maxVersion: "TLSv1.2" });
        expect(old.status).toBeUndefined();
        expect(old.error).toBeDefined();
        const current = await https("v13.tls.test", { minVersion: "TLSv1.3" });
        expect(current.protocol).toBe("TLSv1.3");
        expect(current.status).toBe(200);
      });

      test("an Ingress with the tls-minimum-protocol-version annotation 1.3 refuses a TLS 1.2 client", async () => {
        expect((await https("ing.tls.test", { maxVersion: "TLSv1.2" })).status).toBeUndefined();
        expect((await https("ing.tls.test")).protocol).toBe("TLSv1.3");
      });

      test("maximumProtocolVersion 1.2 refuses a TLS 1.3-only client and serves TLS 1.2", async () => {
        const newer = await https("v12.tls.test", { minVersion: "TLSv1.3" });
        expect(newer.status).toBeUndefined();
        expect(newer.error).toBeDefined();
        const capped = await https("v12.tls.test");
        expect(capped.protocol).toBe("TLSv1.2");
        expect(capped.status).toBe(200);
      });

      test("without a setting, TLS 1.2 and 1.3 are both served", async () => {
        expect((await https("a.tls.test", { maxVersion: "TLSv1.2" })).protocol).toBe("TLSv1.2");
        expect((await https("a.tls.test")).protocol).toBe("TLSv1.3");
      });
    });

    describe("client certificate validation", () => {
      test("a certificate from the CA is accepted", async () => {
        const answer = await https("mtls.tls.test", { cert: clients.valid.certificatePem, key: clients.valid.privateKeyPem });
        expect(answer.error).toBeUndefined();
        expect(answer.status).toBe(200);
      });

      test("no certificate, one from another CA and a revoked one are refused", async () => {
        const refusedBefore = a.received.length;
        for (const client of [undefined, clients.foreign, clients.revoked]) {
          const answer = await https("mtls.tls.test", client ? { cert: client.certificatePem, key: client.privateKeyPem } : {});
          expect(answer.status).toBeUndefined();
          expect(answer.error).toBeDefined();
        }
        expect(a.received.length).toBe(refusedBefore);
      });

      test("a host without client validation asks for no certificate", async () => {
        expect((await https("a.tls.test")).status).toBe(200);
      });

      test("optionalClientCertificate: no certificate is served, one from another CA is not, a valid one is forwarded", async () => {
        expect((await https("optional.tls.test")).status).toBe(200);
        const foreign = await https("optional.tls.test", { cert: clients.foreign.certificatePem, key: clients.foreign.privateKeyPem });
        expect(foreign.status).toBeUndefined();
        const valid = await https("optional.tls.test", { path: "/forwarded", cert: clients.valid.certificatePem, key: clients.valid.privateKeyPem });
        expect(valid.status).toBe(200);
        expect(String(JSON.parse(valid.body!).headers["x-forwarded-client-cert"])).toContain('Subject="CN=valid-client"');
      });

      test("skipClientCertValidation: a certificate from any CA is accepted and its subject forwarded", async () => {
        const foreign = await https("skip.tls.test", { cert: clients.foreign.certificatePem, key: clients.foreign.privateKeyPem });
        expect(foreign.status).toBe(200);
        expect(String(JSON.parse(foreign.body!).headers["x-forwarded-client-cert"])).toContain('Subject="CN=foreign-client"');
      });

      test("a client cannot forge the client certificate header", async () => {
        const forged = await https("skip.tls.test", { cert: clients.foreign.certificatePem, key: clients.foreign.privateKeyPem, headers: { "x-forwarded-client-cert": 'Subject="CN=admin"' } });
        expect(String(JSON.parse(forged.body!).headers["x-forwarded-client-cert"])).not.toContain("CN=admin");
      });
    });

    describe("fallback certificate", () => {
      test("a client without SNI gets the fallback certificate and reaches a host that enabled it", async () => {
        const answer = await https(undefined, { host: "b.tls.test", path: "/nosni" });
        expect(answer.serverName).toBe("fallback.tls.test");
        expect(answer.status).toBe(200);
        expect(JSON.parse(answer.body!)).toMatchObject({ backend: "b", host: "b.tls.test", path: "/nosni" });
      });

      test("an unknown SNI name gets the fallback certificate, not a virtual host's", async () => {
        const answer = await https("nobody.tls.test", { anyName: true, host: "b.tls.test" });
        expect(answer.serverName).toBe("fallback.tls.test");
        expect(answer.status).toBe(200);
      });

      test("a host that did not enable the fallback is not reachable without SNI", async () => {
        const answer = await https(undefined, { host: "a.tls.test" });
        expect(answer.serverName).toBe("fallback.tls.test");
        expect(answer.status).toBe(404);
      });
    });

    describe("passthrough and TCP proxying", () => {
      test("passthrough: the backend terminates TLS with its own certificate and sees the SNI", async () => {
        const answer = await tlsRequest(stack.httpsPort, { servername: "pass.tls.test", ca: passCa.certificatePem, path: "/through" });
        expect(answer.error).toBeUndefined();
        expect(answer.serverName).toBe("pass.tls.test");
        expect(answer.status).toBe(200);
        expect(JSON.parse(answer.body!)).toMatchObject({ backend: "passthrough", sni: "pass.tls.test", path: "/through" });
      });

      test("tcpproxy: Envoy terminates TLS and forwards the bytes to the backend", async () => {
        const before = b.received.length;
        const answer = await https("tcp.tls.test", { path: "/raw", host: "anything.example" });
        expect(answer.serverName).toBe("tcp.tls.test");
        expect(answer.status).toBe(200);
        // No HTTP routing in between: the backend gets the request as sent, Host included.
        expect(JSON.parse(answer.body!)).toMatchObject({ backend: "b", host: "anything.example", path: "/raw" });
        expect(b.received.length).toBe(before + 1);
      });
    });

    describe("TLS to the upstream", () => {
      test("Envoy validates the backend against the route's CA and presents the configured client certificate", async () => {
        const answer = await send(stack.httpPort, "/secure", { host: "upstream.tls.test" });
        expect(answer.status).toBe(200);
        expect(answer.json<{ backend: string; path: string; client?: string }>()).toMatchObject({ backend: "upstream", path: "/secure", client: "upstream-client" });
        // A backend whose certificate does not carry the subject name the route asks for is refused.
        const answered = upstreamBackend.requests();
        expect((await send(stack.httpPort, "/wrong-name", { host: "upstream.tls.test" })).status).toBe(503);
        expect(upstreamBackend.requests()).toBe(answered);
      });
    });

    describe("certificate rotation", () => {
      test("a Secret given a new certificate is served on new connections, and the old one is dropped", async () => {
        const before = await https("a.tls.test");
        const renewed = await serverCertificate(serverCa, ["a.tls.test"]);
        stack.write("a-cert.yaml", tlsSecret("tls", "a-cert", renewed));
        const wanted = normalizeSerial(serialOf(renewed.certificatePem));
        await eventually(async () => (await https("a.tls.test")).serial === wanted, { what: "the renewed certificate served" });
        expect(before.serial).not.toBe(wanted);
        // Once the old filter chain has drained, Envoy lets go of the old certificate.
        await eventually(async () => (await envoySecrets(stack.envoy)).held.filter((name) => name.startsWith("tls/a-cert/")).length === 1, { what: "the old certificate dropped" });
      });
    });

    describe("SDS scoping", () => {
      test("Envoy holds exactly the secrets its listeners and clusters use, and no other Secret of the input", async () => {
        const secrets = await envoySecrets(stack.envoy);
        expect(secrets.referencedByBootstrap).toEqual([]);
        expect(secrets.held).toEqual(secrets.referencedByDynamic);
        // A CA joined with a CRL is one SDS secret named after both ("ns/ca/hash+ns/crl/hash"): the CRL reaches the Envoy that validates with it.
        const inputNames = [...new Set(secrets.held.flatMap((name) => name.split("+").map((part) => part.split("/").slice(0, 2).join("/"))))].sort();
        expect(inputNames).toEqual(["tls/a-cert", "tls/b-cert", "tls/chain-cert", "tls/client-ca", "tls/client-crl", "tls/ecp-cert", "tls/fallback-cert", "tls/ing-cert", "tls/mtls-cert", "tls/optional-cert", "tls/rsa-cert", "tls/skip-cert", "tls/tcp-cert", "tls/upstream-ca", "tls/upstream-client", "tls/v12-cert", "tls/v13-cert", "tls/wild-cert"]);
      });
    });
  });
}
