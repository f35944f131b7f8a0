// The backends and objects the routing checks run against: one HTTPProxy per behaviour (each on
// its own host under `.routing.test`, so one broken feature cannot hide another), local echo
// backends behind Services and EndpointSlices, and upstreams speaking h2c, TLS, h2 and gRPC.
import type * as grpc from "@grpc/grpc-js";
import { createCa, issueLeaf, type PemPair } from "../../src/certs/x509.ts";
import { startEchoServer } from "../helpers/grpc-echo.ts";
import { serviceFor, startEcho, type EchoBackend } from "./harness.ts";

export const ns = "routing";

export interface RoutingBackends {
  a: EchoBackend;
  b: EchoBackend;
  c: EchoBackend;
  mirror: EchoBackend;
  flaky: EchoBackend;
  slow: EchoBackend;
  /** Three endpoints of one Service, for affinity. */
  sticky: EchoBackend[];
  /** Three endpoints of one Service under an active health check. */
  checked: EchoBackend[];
  h2c: EchoBackend;
  tls: EchoBackend;
  h2: EchoBackend;
  grpc: { port: number; server: grpc.Server };
  upstreamCa: PemPair;
  close(): Promise<void>;
}

export async function startRoutingBackends(): Promise<RoutingBackends> {
  const upstreamCa = await createCa({ commonName: "e2e upstream CA" });
  const certificate = await issueLeaf(upstreamCa, { commonName: "upstream.routing.test", dnsNames: ["upstream.routing.test"], usage: "server" });
  const [a, b, c, mirror, flaky, slow] = await Promise.all(["a", "b", "c", "mirror", "flaky", "slow"].map((name) => startEcho(name)));
  const sticky = await Promise.all([0, 1, 2].map((i) => startEcho(`sticky-${i}`)));
  const checked = await Promise.all([0, 1, 2].map((i) => startEcho(`checked-${i}`)));
  const h2c = await startEcho("h2c", { protocol: "h2c" });
  const tls = await startEcho("tls", { protocol: "tls", certificate });
  const h2 = await startEcho("h2", { protocol: "h2", certificate });
  const grpc = await startEchoServer("grpc-backend");
  const echoes = [a!, b!, c!, mirror!, flaky!, slow!, ...sticky, ...checked, h2c, tls, h2];
  return {
    a: a!,
    b: b!,
    c: c!,
    mirror: mirror!,
    flaky: flaky!,
    slow: slow!,
    sticky,
    checked,
    h2c,
    tls,
    h2,
    grpc,
    upstreamCa,
    async close() {
      grpc.server.forceShutdown();
      await Promise.all(echoes.map((echo) => echo.close()));
    },
  };
}

function proxy(name: string, spec: string): string {
  return `---
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: { name: ${name}, namespace: ${ns} }
spec:
  virtualhost: { fqdn: ${name}.routing.test }
${spec}
`;
}

/** The manifest files of the routing stack. */
export function routingManifests(backends: RoutingBackends): Record<string, string> {
  const b = backends;
  const services = [
    serviceFor(ns, "a", [b.a]),
    serviceFor(ns, "b", [b.b]),
    serviceFor(ns, "c", [b.c]),
    serviceFor(ns, "mirror", [b.mirror]),
    serviceFor(ns, "flaky", [b.flaky]),
    serviceFor(ns, "slow", [b.slow]),
    // The slow backend again, behind Contour's circuit breaker annotations: one request at a time, one waiting.
    serviceFor(ns, "limited", [b.slow], { annotations: { "projectcontour.io/max-connections": "1", "projectcontour.io/max-pending-requests": "1", "projectcontour.io/max-requests": "1" } }),
    serviceFor(ns, "sticky", b.sticky),
    serviceFor(ns, "checked", b.checked),
    serviceFor(ns, "h2c", [b.h2c]),
    // The TLS upstream by Contour's Service annotation, h2 by the HTTPProxy service's protocol.
    serviceFor(ns, "tls", [b.tls], { port: 443, portName: "https", annotations: { "projectcontour.io/upstream-protocol.tls": "443" } }),
    serviceFor(ns, "h2", [b.h2], { port: 443, portName: "https" }),
    // The same upstreams declared by the port's appProtocol instead.
    serviceFor(ns, "h2c-app", [b.h2c], { appProtocol: "kubernetes.io/h2c" }),
    serviceFor(ns, "tls-app", [b.tls], { port: 443, portName: "https", appProtocol: "https" }),
    serviceFor(ns, "grpc", [b.grpc], { port: 9000, portName: "grpc", annotations: { "projectcontour.io/upstream-protocol.h2c": "grpc" } }),
  ].join("---\n");
  const caSecret = `apiVersion: v1
kind: Secret
metadata: { name: upstream-ca, namespace: ${ns} }
type: Opaque
stringData:
  ca.crt: ${JSON.stringify(b.upstreamCa.certificatePem)}
`;
  const proxies = [
    proxy(
      "paths",
      `  routes:
    - conditions: [{ prefix: /pre }]
      services: [{ name: a, port: 80 }]
    - conditions: [{ exact: /exact }]
      services: [{ name: b, port: 80 }]
    - conditions: [{ regex: "/re/[0-9]+" }]
      services: [{ name: c, port: 80 }]
    - conditions: [{ regex: '/digits/\\d{2,3}(/[a-z]+)?' }]
      services: [{ name: b, port: 80 }]`,
    ),
    proxy(
      "match",
      `  routes:
    - conditions: [{ header: { name: x-tier, exact: gold } }]
      services: [{ name: b, port: 80 }]
    - conditions: [{ header: { name: x-beta, present: true } }]
      services: [{ name: c, port: 80 }]
    - conditions: [{ header: { name: user-agent, contains: mobile, ignoreCase: true } }]
      services: [{ name: mirror, port: 80 }]
    - conditions: [{ queryParameter: { name: v, exact: "2" } }]
      services: [{ name: b, port: 80 }]
    - conditions: [{ queryParameter: { name: flavour, regex: "^(mint|lime)$" } }]
      services: [{ name: c, port: 80 }]
    - conditions: [{ prefix: /write }, { header: { name: ":method", exact: POST } }]
      services: [{ name: c, port: 80 }]
    - services: [{ name: a, port: 80 }]`,
    ),
    proxy(
      "negate",
      `  routes:
    - conditions: [{ header: { name: x-env, notexact: prod, treatMissingAsEmpty: true } }]
      services: [{ name: b, port: 80 }]
    - conditions: [{ header: { name: x-team, notcontains: ops } }, { prefix: /ops }]
      services: [{ name: c, port: 80 }]
    - conditions: [{ queryParameter: { name: tag, prefix: ab, ignoreCase: true } }, { prefix: /q }]
      services: [{ name: b, port: 80 }]
    - conditions: [{ queryParameter: { name: debug, present: true } }, { prefix: /q }]
      services: [{ name: c, port: 80 }]
    - services: [{ name: a, port: 80 }]`,
    ),
    proxy(
      "weights",
      `  routes:
    - services:
        - { name: a, port: 80, weight: 80 }
        - { name: b, port: 80, weight: 20 }
        - { name: c, port: 80, weight: 0 }`,
    ),
    proxy(
      "mirror",
      `  routes:
    - services:
        - { name: a, port: 80 }
        - { name: mirror, port: 80, mirror: true }`,
    ),
    proxy(
      "redirect",
      `  routes:
    - conditions: [{ prefix: /moved }]
      requestRedirectPolicy: { scheme: https, hostname: elsewhere.routing.test, port: 8443, statusCode: 301 }
    - conditions: [{ prefix: /found }]
      requestRedirectPolicy: { path: /landing }
    - conditions: [{ prefix: /old }]
      requestRedirectPolicy: { prefix: /new, statusCode: 301 }`,
    ),
    proxy(
      "direct",
      `  routes:
    - conditions: [{ prefix: /teapot }]
      directResponsePolicy: { statusCode: 418, body: "short and stout, 100% %HOSTNAME% tea" }
    - conditions: [{ prefix: /empty }]
      directResponsePolicy: { statusCode: 204 }`,
    ),
    proxy(
      "rewrite",
      `  routes:
    - conditions: [{ prefix: /api }]
      pathRewritePolicy: { replacePrefix: [{ replacement: /v1 }] }
      services: [{ name: a, port: 80 }]
    - conditions: [{ prefix: /host }]
      requestHeadersPolicy: { set: [{ name: Host, value: internal.backend.test }] }
      services: [{ name: a, port: 80 }]
    - conditions: [{ prefix: /service-host }]
      services:
        - name: b
          port: 80
          requestHeadersPolicy: { set: [{ name: Host, value: b.backend.test }] }`,
    ),
    proxy(
      "cookies",
      `  routes:
    - cookieRewritePolicies:
        - { name: session, pathRewrite: { value: /app }, domainRewrite: { value: cookies.routing.test }, secure: true, sameSite: Strict }
      services:
        - name: a
          port: 80
          cookieRewritePolicies: [{ name: prefs, sameSite: Lax }]`,
    ),
    proxy(
      "internal",
      `  routes:
    - conditions: [{ prefix: /follow }]
      internalRedirectPolicy: { maxInternalRedirects: 2, redirectResponseCodes: [302] }
      services: [{ name: b, port: 80 }]
    - conditions: [{ prefix: /target }]
      services: [{ name: c, port: 80 }]
    - services: [{ name: b, port: 80 }]`,
    ),
    proxy(
      "headers",
      `  routes:
    - requestHeadersPolicy:
        set:
          - { name: x-added, value: hello }
          - { name: x-replaced, value: ours }
          - { name: x-discount, value: "20%" }
          - { name: x-namespace, value: "%CONTOUR_NAMESPACE%" }
          - { name: x-peer, value: "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%" }
          - { name: x-copied, value: "%REQ(x-source)%" }
          - { name: X-Upper-Case, value: "%%" }
          - { name: x-odd, value: "%unknown% 50%off% %" }
          - { name: x-mixed, value: "%CONTOUR_NAMESPACE%/%HOSTNAME%/%REQ(:authority)%" }
        remove: [x-secret, X-Secret-Upper]
      responseHeadersPolicy:
        set:
          - { name: x-served-by, value: "isobar 100%" }
        remove: [x-backend]
      services:
        - name: a
          port: 80
          requestHeadersPolicy:
            set:
              - { name: x-service, value: "%CONTOUR_SERVICE_NAME%:%CONTOUR_SERVICE_PORT%" }
          responseHeadersPolicy:
            set:
              - { name: x-served-from, value: "%CONTOUR_NAMESPACE%/%CONTOUR_SERVICE_NAME%" }`,
    ),
    proxy(
      "retry",
      `  routes:
    - conditions: [{ prefix: /retried }]
      retryPolicy: { count: 2, perTryTimeout: 2s, retryOn: [5xx] }
      services: [{ name: flaky, port: 80 }]
    - conditions: [{ prefix: /status }]
      retryPolicy: { count: 1, retryOn: [retriable-status-codes], retriableStatusCodes: [418] }
      services: [{ name: flaky, port: 80 }]
    - conditions: [{ prefix: /once }]
      services: [{ name: flaky, port: 80 }]`,
    ),
    proxy(
      "timeout",
      `  routes:
    - conditions: [{ prefix: /short }]
      timeoutPolicy: { response: 300ms }
      services: [{ name: slow, port: 80 }]
    - conditions: [{ prefix: /idle }]
      timeoutPolicy: { idle: 300ms }
      services: [{ name: slow, port: 80 }]
    - conditions: [{ prefix: /per-try }]
      retryPolicy: { count: 1, perTryTimeout: 200ms, retryOn: [5xx] }
      services: [{ name: slow, port: 80 }]
    - conditions: [{ prefix: /limited }]
      services: [{ name: limited, port: 80 }]
    - conditions: [{ prefix: /long }]
      timeoutPolicy: { response: 10s }
      services: [{ name: slow, port: 80 }]`,
    ),
    proxy(
      "websocket",
      `  routes:
    - conditions: [{ prefix: /ws }]
      enableWebsockets: true
      services: [{ name: a, port: 80 }]
    - services: [{ name: a, port: 80 }]`,
    ),
    `---
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: { name: cors, namespace: ${ns} }
spec:
  virtualhost:
    fqdn: cors.routing.test
    corsPolicy:
      allowOrigin: ["https://app.routing.test", 'https://[a-z]+\\.partner\\.test']
      allowMethods: [GET, PUT]
      allowHeaders: [x-token]
      exposeHeaders: [x-backend]
      maxAge: 10m
      allowCredentials: true
  routes:
    - services: [{ name: a, port: 80 }]
`,
    proxy(
      "ratelimit",
      `  routes:
    - conditions: [{ prefix: /limited }]
      rateLimitPolicy: { local: { requests: 3, unit: hour } }
      services: [{ name: a, port: 80 }]
    - services: [{ name: a, port: 80 }]`,
    ),
    `---
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: { name: guarded, namespace: ${ns} }
spec:
  virtualhost:
    fqdn: guarded.routing.test
    rateLimitPolicy: { local: { requests: 2, unit: hour, responseStatusCode: 503, responseHeadersToAdd: [{ name: x-limited, value: "yes, 100%" }] } }
    ipDenyPolicy: [{ source: Peer, cidr: 10.0.0.0/8 }]
  routes:
    - services: [{ name: a, port: 80 }]
---
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: { name: walled, namespace: ${ns} }
spec:
  virtualhost:
    fqdn: walled.routing.test
    ipAllowPolicy: [{ source: Remote, cidr: 10.0.0.0/8 }]
  routes:
    - services: [{ name: a, port: 80 }]
`,
    proxy(
      "ipfilter",
      `  routes:
    - conditions: [{ prefix: /allowed }]
      ipAllowPolicy: [{ source: Peer, cidr: "2001:db8::/32" }, { source: Peer, cidr: "::1" }, { source: Remote, cidr: 127.0.0.1 }]
      services: [{ name: a, port: 80 }]
    - conditions: [{ prefix: /elsewhere-only }]
      ipAllowPolicy: [{ source: Peer, cidr: 10.0.0.0/8 }]
      services: [{ name: a, port: 80 }]
    - conditions: [{ prefix: /denied }]
      ipDenyPolicy: [{ source: Peer, cidr: 127.0.0.0/8 }]
      services: [{ name: a, port: 80 }]
    - conditions: [{ prefix: /not-denied }]
      ipDenyPolicy: [{ source: Peer, cidr: 192.168.0.0/16 }]
      services: [{ name: a, port: 80 }]`,
    ),
    proxy(
      "affinity",
      `  routes:
    - conditions: [{ prefix: /cookie }]
      loadBalancerPolicy: { strategy: Cookie }
      services: [{ name: sticky, port: 80 }]
    - conditions: [{ prefix: /header }]
      loadBalancerPolicy:
        strategy: RequestHash
        requestHashPolicies: [{ headerHashOptions: { headerName: x-user } }]
      services: [{ name: sticky, port: 80 }]
    - conditions: [{ prefix: /query }]
      loadBalancerPolicy:
        strategy: RequestHash
        requestHashPolicies: [{ queryParameterHashOptions: { parameterName: user } }]
      services: [{ name: sticky, port: 80 }]
    - services: [{ name: sticky, port: 80 }]`,
    ),
    proxy(
      "health",
      `  routes:
    - healthCheckPolicy: { path: /healthz, intervalSeconds: 1, timeoutSeconds: 1, unhealthyThresholdCount: 1, healthyThresholdCount: 1 }
      services: [{ name: checked, port: 80 }]`,
    ),
    proxy(
      "upstreams",
      `  routes:
    - conditions: [{ prefix: /h2c-app }]
      services: [{ name: h2c-app, port: 80 }]
    - conditions: [{ prefix: /tls-app }]
      services: [{ name: tls-app, port: 443 }]
    - conditions: [{ prefix: /h2c }]
      services: [{ name: h2c, port: 80, protocol: h2c }]
    - conditions: [{ prefix: /tls-verified }]
      services: [{ name: tls, port: 443, validation: { caSecret: upstream-ca, subjectName: upstream.routing.test } }]
    - conditions: [{ prefix: /tls-sni }]
      requestHeadersPolicy: { set: [{ name: Host, value: upstream.routing.test }] }
      services: [{ name: tls, port: 443, validation: { caSecret: upstream-ca, subjectName: upstream.routing.test } }]
    - conditions: [{ prefix: /tls-wrong-name }]
      services: [{ name: tls, port: 443, validation: { caSecret: upstream-ca, subjectName: someone-else.routing.test } }]
    - conditions: [{ prefix: /tls }]
      services: [{ name: tls, port: 443 }]
    - conditions: [{ prefix: /h2 }]
      services: [{ name: h2, port: 443, protocol: h2 }]`,
    ),
    proxy(
      "grpc",
      `  routes:
    - services: [{ name: grpc, port: 9000 }]`,
    ),
  ];
  return { "services.yaml": services, "ca-secret.yaml": caSecret, "proxies.yaml": proxies.join("") };
}
