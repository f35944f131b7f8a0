// Ingress and HTTPProxy objects through a real Envoy, in each xDS mode: inclusion across namespaces
// (conditions concatenated down the chain, one child under two roots, an include of nothing), a
// missing Service (503), invalid objects and an unparsable file next to valid ones (the valid ones
// still answer), and Contour's Ingress annotations (retries, timeouts, WebSocket routes).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { websocketUpgrade } from "./clients.ts";
import { answeredBy, send, serviceFor, startEcho, startStack, xdsModes, type EchoBackend, type Stack } from "./harness.ts";

const backendNames = ["roots/home", "team-a/team", "team-a/docs", "team-a/beta", "team-b/leaf", "web/web", "web/flaky", "web/slow"] as const;
type BackendName = (typeof backendNames)[number];

function manifests(backends: Map<BackendName, EchoBackend>): Record<string, string> {
  const services = backendNames.map((key) => {
    const [namespace, name] = key.split("/") as [string, string];
    return serviceFor(namespace, name, [backends.get(key)!]);
  });
  const include = `---
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: { name: site, namespace: roots }
spec:
  virtualhost: { fqdn: site.objects.test }
  includes:
    - { name: team, namespace: team-a, conditions: [{ prefix: /team }] }
    - { name: beta, namespace: team-a, conditions: [{ prefix: /app }, { header: { name: x-beta, present: true } }] }
    - { name: ghost, namespace: team-a, conditions: [{ prefix: /ghost }] }
  routes:
    - services: [{ name: home, port: 80 }]
---
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: { name: other, namespace: roots }
spec:
  virtualhost: { fqdn: other.objects.test }
  includes:
    - { name: team, namespace: team-a, conditions: [{ prefix: /shared }] }
---
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: { name: team, namespace: team-a }
spec:
  includes:
    - { name: leaf, namespace: team-b, conditions: [{ prefix: /deep }] }
  routes:
    - conditions: [{ prefix: /docs }]
      services: [{ name: docs, port: 80 }]
    - services: [{ name: team, port: 80 }]
---
# A root outside the root namespaces (the stack runs with --root-namespaces roots,web): not served.
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: { name: rogue, namespace: team-a }
spec:
  virtualhost: { fqdn: rogue.objects.test }
  routes:
    - services: [{ name: team, port: 80 }]
---
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: { name: beta, namespace: team-a }
spec:
  routes:
    - services: [{ name: beta, port: 80 }]
---
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: { name: leaf, namespace: team-b }
spec:
  routes:
    - pathRewritePolicy: { replacePrefix: [{ replacement: /leaf }] }
      services: [{ name: leaf, port: 80 }]
`;
  const mixed = `---
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: { name: missing-service, namespace: roots }
spec:
  virtualhost: { fqdn: missing.objects.test }
  routes:
    - conditions: [{ prefix: /gone }]
      services: [{ name: no-such-service, port: 80 }]
    - conditions: [{ prefix: /half }]
      services: [{ name: no-such-service, port: 80 }, { name: home, port: 80 }]
    - services: [{ name: home, port: 80 }]
---
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: { name: bad-regex, namespace: roots }
spec:
  virtualhost: { fqdn: badregex.objects.test }
  routes:
    - conditions: [{ regex: "/(unclosed" }]
      services: [{ name: home, port: 80 }]
    - services: [{ name: home, port: 80 }]
---
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: { name: bad-schema, namespace: roots }
spec:
  virtualhost: { fqdn: badschema.objects.test }
  routes:
    - services: [{ name: home, port: eighty }]
---
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: { name: dup-1, namespace: roots }
spec:
  virtualhost: { fqdn: dup.objects.test }
  routes:
    - services: [{ name: home, port: 80 }]
---
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: { name: dup-2, namespace: roots }
spec:
  virtualhost: { fqdn: dup.objects.test }
  routes:
    - services: [{ name: home, port: 80 }]
---
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: { name: wild, namespace: roots }
spec:
  virtualhost: { fqdn: "*.wild.objects.test" }
  routes:
    - services: [{ name: home, port: 80 }]
---
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: { name: fine, namespace: roots }
spec:
  virtualhost: { fqdn: fine.objects.test }
  routes:
    - services: [{ name: home, port: 80 }]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: missing, namespace: web }
spec:
  rules:
    - host: missing.ingress.test
      http:
        paths:
          - { path: /, pathType: Prefix, backend: { service: { name: no-such-service, port: { number: 80 } } } }
`;
  const ingresses = `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: paths, namespace: web }
spec:
  rules:
    - host: paths.ingress.test
      http:
        paths:
          - { path: /exact, pathType: Exact, backend: { service: { name: web, port: { number: 80 } } } }
          - { path: /pre, pathType: Prefix, backend: { service: { name: flaky, port: { number: 80 } } } }
          - { path: "/item/[0-9]+$", pathType: ImplementationSpecific, backend: { service: { name: web, port: { number: 80 } } } }
          - { path: /, pathType: Prefix, backend: { service: { name: slow, port: { number: 80 } } } }
---
# A second Ingress on the same host: its paths join the first one's.
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: paths-more, namespace: web }
spec:
  rules:
    - host: paths.ingress.test
      http:
        paths:
          - { path: /docs/, pathType: Prefix, backend: { service: { name: web, port: { number: 80 } } } }
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: retried
  namespace: web
  annotations: { projectcontour.io/retry-on: 5xx, projectcontour.io/num-retries: "2" }
spec:
  rules:
    - host: retry.ingress.test
      http:
        paths: [{ path: /, pathType: Prefix, backend: { service: { name: flaky, port: { number: 80 } } } }]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: timed
  namespace: web
  annotations: { projectcontour.io/response-timeout: 300ms }
spec:
  rules:
    - host: timeout.ingress.test
      http:
        paths: [{ path: /, pathType: Prefix, backend: { service: { name: slow, port: { number: 80 } } } }]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: sockets
  namespace: web
  annotations: { projectcontour.io/websocket-routes: /ws }
spec:
  rules:
    - host: ws.ingress.test
      http:
        paths:
          - { path: /ws, pathType: Prefix, backend: { service: { name: web, port: { number: 80 } } } }
          - { path: /, pathType: Prefix, backend: { service: { name: web, port: { number: 80 } } } }
`;
  const classes = ["contour", "nginx"].map((ingressClass) => `---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: class-${ingressClass}, namespace: web }
spec:
  ingressClassName: ${ingressClass}
  rules:
    - host: ${ingressClass}.class.test
      http:
        paths: [{ path: /, pathType: Prefix, backend: { service: { name: web, port: { number: 80 } } } }]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: annotated-${ingressClass}
  namespace: web
  annotations: { kubernetes.io/ingress.class: ${ingressClass} }
spec:
  rules:
    - host: annotated-${ingressClass}.class.test
      http:
        paths: [{ path: /, pathType: Prefix, backend: { service: { name: web, port: { number: 80 } } } }]
---
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: { name: proxy-${ingressClass}, namespace: web }
spec:
  ingressClassName: ${ingressClass}
  virtualhost: { fqdn: proxy-${ingressClass}.class.test }
  routes: [{ services: [{ name: web, port: 80 }] }]
`);
  return {
    "classes.yaml": classes.join(""),
    "services.yaml": services.join("---\n"),
    "include.yaml": include,
    "mixed.yaml": mixed,
    "ingresses.yaml": ingresses,
    "unparsable.yaml": "apiVersion: v1\nkind: Service\nmetadata: { name: [unclosed\n",
  };
}

for (const mode of xdsModes) {
  describe(`Ingress and HTTPProxy objects over ${mode} xDS`, () => {
    let stack: Stack;
    const backends = new Map<BackendName, EchoBackend>();
    const get = (host: string, path: string, options: Parameters<typeof send>[2] = {}) => send(stack.httpPort, path, { ...options, host });
    const backendOf = async (host: string, path: string, options: Parameters<typeof send>[2] = {}) => answeredBy(await get(host, path, options));

    beforeAll(async () => {
      for (const name of backendNames) backends.set(name, await startEcho(name));
      stack = await startStack({ manifests: manifests(backends), xdsMode: mode, serveArgs: ["--root-namespaces", "roots,web"] });
    }, 60_000);

    afterAll(async () => {
      await stack?.stop();
      await Promise.all([...backends.values()].map((backend) => backend.close()));
    });

    test("inclusion: conditions concatenate down a cross-namespace chain", async () => {
      expect(await backendOf("site.objects.test", "/")).toBe("roots/home");
      expect(await backendOf("site.objects.test", "/team")).toBe("team-a/team");
      expect(await backendOf("site.objects.test", "/team/docs/intro")).toBe("team-a/docs");
      expect(await backendOf("site.objects.test", "/docs")).toBe("roots/home");
      const leaf = (await get("site.objects.test", "/team/deep/x")).json();
      expect({ backend: leaf.backend, path: leaf.path }).toEqual({ backend: "team-b/leaf", path: "/leaf/x" });
      expect(await backendOf("site.objects.test", "/app/page", { headers: { "x-beta": "1" } })).toBe("team-a/beta");
      expect(await backendOf("site.objects.test", "/app/page")).toBe("roots/home");
    });

    test("inclusion: one child served under two roots, each with its own prefix", async () => {
      expect(await backendOf("other.objects.test", "/shared/docs")).toBe("team-a/docs");
      expect(await backendOf("other.objects.test", "/shared")).toBe("team-a/team");
      expect(await backendOf("other.objects.test", "/team")).toBe("<404>");
    });

    test("root namespaces: a root HTTPProxy elsewhere is not served, while its namespace's included proxies are", async () => {
      expect((await get("rogue.objects.test", "/")).status).toBe(404);
      expect(await backendOf("site.objects.test", "/team")).toBe("team-a/team");
    });

    test("an include of a proxy that does not exist answers 502 on its conditions only", async () => {
      expect((await get("site.objects.test", "/ghost/x")).status).toBe(502);
      expect(await backendOf("site.objects.test", "/ghosts")).toBe("<502>");
      expect(await backendOf("site.objects.test", "/elsewhere")).toBe("roots/home");
    });

    test("a wildcard fqdn matches one label, with or without a port in the Host", async () => {
      expect(await backendOf("shop.wild.objects.test", "/")).toBe("roots/home");
      expect(await backendOf("shop.wild.objects.test:8080", "/")).toBe("roots/home");
      expect((await get("a.b.wild.objects.test", "/")).status).toBe(404);
      expect((await get("wild.objects.test", "/")).status).toBe(404);
    });

    test("a missing Service: 503 on its route, the other routes and services still answer", async () => {
      expect((await get("missing.objects.test", "/gone")).status).toBe(503);
      for (let i = 0; i < 5; i++) expect(await backendOf("missing.objects.test", `/half/${i}`)).toBe("roots/home");
      expect(await backendOf("missing.objects.test", "/")).toBe("roots/home");
      expect((await get("missing.ingress.test", "/")).status).toBe(503);
    });

    test("invalid objects and an unparsable file next to valid ones: only the valid ones are served", async () => {
      expect(await backendOf("fine.objects.test", "/")).toBe("roots/home");
      expect((await get("badregex.objects.test", "/")).status).toBe(404);
      expect((await get("badschema.objects.test", "/")).status).toBe(404);
      // Two roots claiming one fqdn: neither is served (Contour's DuplicateVhost).
      expect((await get("dup.objects.test", "/")).status).toBe(404);
    });

    test("ingress classes: with no --ingress-class-name, objects of class contour are served and of another class are not", async () => {
      for (const host of ["contour.class.test", "annotated-contour.class.test", "proxy-contour.class.test"]) expect(await backendOf(host, "/")).toBe("web/web");
      for (const host of ["nginx.class.test", "annotated-nginx.class.test", "proxy-nginx.class.test"]) expect(await backendOf(host, "/")).toBe("<404>");
    });

    test("Ingress path types: Exact, segment-wise Prefix, ImplementationSpecific regex; two Ingresses on one host", async () => {
      expect(await backendOf("paths.ingress.test", "/exact")).toBe("web/web");
      expect(await backendOf("paths.ingress.test", "/exact/more")).toBe("web/slow");
      expect(await backendOf("paths.ingress.test", "/pre")).toBe("web/flaky");
      expect(await backendOf("paths.ingress.test", "/pre/x")).toBe("web/flaky");
      expect(await backendOf("paths.ingress.test", "/prefix")).toBe("web/slow");
      // From the second Ingress on the host; a Prefix's trailing slash does not count.
      expect(await backendOf("paths.ingress.test", "/docs")).toBe("web/web");
      expect(await backendOf("paths.ingress.test", "/docs/guide")).toBe("web/web");
      expect(await backendOf("paths.ingress.test", "/docsx")).toBe("web/slow");
      // ImplementationSpecific with regex characters is a regex, as in Contour.
      expect(await backendOf("paths.ingress.test", "/item/42")).toBe("web/web");
      expect(await backendOf("paths.ingress.test", "/item/42x")).toBe("web/slow");
    });

    test("Ingress annotations: retries, response timeout, WebSocket routes", async () => {
      const flaky = backends.get("web/flaky")!;
      flaky.failNext(2);
      const path = `/retried-${mode}`;
      expect(await backendOf("retry.ingress.test", path)).toBe("web/flaky");
      expect(flaky.received.filter((r) => r.path === path)).toHaveLength(3);
      const slow = backends.get("web/slow")!;
      slow.delay(1000);
      try {
        expect((await get("timeout.ingress.test", "/")).status).toBe(504);
      } finally {
        slow.delay(0);
      }
      const upgraded = await websocketUpgrade(stack.httpPort, "/ws", { host: "ws.ingress.test", message: "over an Ingress" });
      expect({ status: upgraded.status, echoed: upgraded.echoed }).toEqual({ status: 101, echoed: "over an Ingress" });
      expect((await websocketUpgrade(stack.httpPort, "/other", { host: "ws.ingress.test" })).status).toBe(403);
    });
  });
}
