// The Gateway API processor, one behaviour per test: listener conflicts and references, how a
// parentRef attaches a route (sectionName, port, kinds, hostnames), the spec's precedence between
// routes, and the status reasons on Gateways and routes.
import { describe, expect, test } from "bun:test";
import { buildResources } from "../pipeline/build.ts";
import { createObjectCache } from "../pipeline/cache.ts";
import type { KubeObject } from "../sources/types.ts";
import type { Listener, ParentReference } from "./gateway-api-types.ts";
import type { Route } from "./types.ts";
import { sortRoutes } from "../envoy/route-match.ts";
import { selfSignedCertificate, testOptions, tlsSecret } from "./testing.ts";

const group = "gateway.networking.k8s.io";
const gatewayClass: KubeObject = { apiVersion: `${group}/v1`, kind: "GatewayClass", metadata: { name: "contour" }, spec: { controllerName: "projectcontour.io/gateway-controller" } };
const gateway = (listeners: Array<Partial<Listener> & { name: string; port: number; protocol: string }>): KubeObject => ({
  apiVersion: `${group}/v1`,
  kind: "Gateway",
  metadata: { name: "web", namespace: "infra", generation: 4 },
  spec: { gatewayClassName: "contour", listeners },
});
const httpRoute = (name: string, spec: { parentRefs?: ParentReference[]; hostnames?: string[]; rules?: unknown[] }, metadata: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: `${group}/v1`,
  kind: "HTTPRoute",
  metadata: { name, namespace: "infra", ...metadata },
  spec: { parentRefs: [{ name: "web" }], rules: [{ backendRefs: [{ name: "app", port: 80 }] }], ...spec },
});
const appService: KubeObject = { apiVersion: "v1", kind: "Service", metadata: { name: "app", namespace: "infra" }, spec: { ports: [{ port: 80 }] } };
const http = { name: "http", port: 80, protocol: "HTTP" };

function build(objects: KubeObject[]) {
  const cache = createObjectCache({ ingressClassNames: [] });
  cache.applyAll([gatewayClass, appService, ...objects].map((object) => ({ type: "upsert" as const, object })));
  const result = buildResources(cache, { dag: testOptions({ checkCrdSchema: true }) });
  const statusOf = (kind: string, name: string) => result.statuses.find((s) => s.ref.kind === kind && s.ref.name === name);
  const listener = (name: string) => {
    const status = statusOf("Gateway", "web")?.listeners?.find((l) => l.name === name);
    return status && { attachedRoutes: status.attachedRoutes, conditions: status.conditions.map((c) => `${c.type}=${c.status} ${c.reason}`) };
  };
  const parents = (name: string) => statusOf("HTTPRoute", name)?.parents?.map((p) => p.conditions.map((c) => `${c.type}=${c.status} ${c.reason}`));
  const routes = (host: string): Route[] => result.dag.virtualHosts.get(host)?.routes ?? [];
  return { result, statusOf, listener, parents, routes };
}

describe("listeners", () => {
  test("an HTTP and an HTTPS listener on one port conflict (ProtocolConflict); two of one hostname too (HostnameConflict); neither takes routes", () => {
    const { listener, parents } = build([
      gateway([
        { name: "a", port: 80, protocol: "HTTP" },
        { name: "b", port: 80, protocol: "HTTPS", hostname: "b.example.com", tls: { certificateRefs: [{ name: "x" }] } },
        { name: "c", port: 8080, protocol: "HTTP", hostname: "c.example.com" },
        { name: "d", port: 8080, protocol: "HTTP", hostname: "c.example.com" },
        { name: "e", port: 8080, protocol: "HTTP", hostname: "e.example.com" },
      ]),
      httpRoute("r", { parentRefs: [{ name: "web", sectionName: "a" }] }),
    ]);
    expect(listener("a")!.conditions).toEqual(["Accepted=False ProtocolConflict", "Programmed=False ProtocolConflict", "ResolvedRefs=True ResolvedRefs", "Conflicted=True ProtocolConflict"]);
    expect(listener("c")!.conditions[3]).toBe("Conflicted=True HostnameConflict");
    expect(listener("d")!.conditions[3]).toBe("Conflicted=True HostnameConflict");
    expect(listener("e")!.conditions).toEqual(["Accepted=True Accepted", "Programmed=True Programmed", "ResolvedRefs=True ResolvedRefs", "Conflicted=False NoConflicts"]);
    expect(parents("r")).toEqual([["Accepted=False NoMatchingParent", "ResolvedRefs=True ResolvedRefs"]]);
  });

  test("a certificate in another namespace needs a ReferenceGrant: without one the listener is RefNotPermitted and serves nothing", async () => {
    const cert = await selfSignedCertificate("*.example.com");
    const https = { name: "https", port: 443, protocol: "HTTPS", hostname: "*.example.com", tls: { certificateRefs: [{ name: "tls", namespace: "certs" }] } };
    const route = httpRoute("r", { hostnames: ["a.example.com"] });
    const denied = build([gateway([https]), tlsSecret("certs", "tls", cert), route]);
    expect(denied.listener("https")!.conditions.slice(0, 3)).toEqual(["Accepted=True Accepted", "Programmed=False Invalid", "ResolvedRefs=False RefNotPermitted"]);
    expect(denied.listener("https")!.attachedRoutes).toBe(1);
    expect(denied.result.dag.secureVirtualHosts.size).toBe(0);
    const grant: KubeObject = {
      apiVersion: `${group}/v1`,
      kind: "ReferenceGrant",
      metadata: { name: "g", namespace: "certs" },
      spec: { from: [{ group, kind: "Gateway", namespace: "infra" }], to: [{ group: "", kind: "Secret", name: "tls" }] },
    };
    const granted = build([gateway([https]), tlsSecret("certs", "tls", cert), grant, route]);
    expect(granted.listener("https")!.conditions.slice(0, 3)).toEqual(["Accepted=True Accepted", "Programmed=True Programmed", "ResolvedRefs=True ResolvedRefs"]);
    expect([...granted.result.dag.secureVirtualHosts.keys()]).toEqual(["a.example.com"]);
  });

  test("unsupported protocols and route kinds are said so; the Gateway is Programmed while one listener is", () => {
    const { listener, statusOf, parents } = build([
      gateway([
        { name: "udp", port: 5353, protocol: "UDP" },
        { name: "tls-only", port: 81, protocol: "HTTP", allowedRoutes: { kinds: [{ kind: "TLSRoute" }] } },
        http,
      ]),
      httpRoute("r", { parentRefs: [{ name: "web", sectionName: "tls-only" }] }),
    ]);
    expect(listener("udp")!.conditions.slice(0, 2)).toEqual(["Accepted=False UnsupportedProtocol", "Programmed=False Invalid"]);
    expect(listener("tls-only")!.conditions[2]).toBe("ResolvedRefs=False InvalidRouteKinds");
    expect(parents("r")).toEqual([["Accepted=False NotAllowedByListeners", "ResolvedRefs=True ResolvedRefs"]]);
    expect(statusOf("Gateway", "web")!.conditions!.map((c) => `${c.type}=${c.status} ${c.reason}`)).toEqual(["Accepted=True Accepted", "Programmed=True Programmed"]);
  });

  test("a Gateway port other than 80 is its own Envoy listener on port + 8000", () => {
    const { result } = build([gateway([http, { name: "admin", port: 9000, protocol: "HTTP" }]), httpRoute("r", { parentRefs: [{ name: "web", port: 9000 }] })]);
    const own = result.dag.listeners.find((l) => l.name === "http-17000")!;
    expect(own.port).toBe(17000);
    expect(own.virtualHosts.map((v) => v.name)).toEqual(["*"]);
    expect(result.dag.virtualHosts.size).toBe(0);
  });
});

describe("attaching routes", () => {
  test("parentRef port and sectionName pick listeners; a port no listener has is NoMatchingParent", () => {
    const { parents, listener } = build([
      gateway([http, { name: "other", port: 81, protocol: "HTTP" }]),
      httpRoute("by-port", { parentRefs: [{ name: "web", port: 81 }] }),
      httpRoute("no-port", { parentRefs: [{ name: "web", port: 82 }] }),
      httpRoute("both", { parentRefs: [{ name: "web", sectionName: "http", port: 81 }] }),
    ]);
    expect(parents("by-port")).toEqual([["Accepted=True Accepted", "ResolvedRefs=True ResolvedRefs"]]);
    expect(parents("no-port")![0]![0]).toBe("Accepted=False NoMatchingParent");
    expect(parents("both")![0]![0]).toBe("Accepted=False NoMatchingParent");
    expect(listener("other")!.attachedRoutes).toBe(1);
    expect(listener("http")!.attachedRoutes).toBe(0);
  });

  test("allowedRoutes: Same by default, All, and a Namespace label selector", () => {
    const namespace = (name: string, labels: Record<string, string>): KubeObject => ({ apiVersion: "v1", kind: "Namespace", metadata: { name, labels } });
    const { parents } = build([
      namespace("shop", { team: "shop" }),
      namespace("other", {}),
      gateway([
        { name: "same", port: 80, protocol: "HTTP", hostname: "same.example.com" },
        { name: "selected", port: 80, protocol: "HTTP", hostname: "selected.example.com", allowedRoutes: { namespaces: { from: "Selector", selector: { matchLabels: { team: "shop" } } } } },
      ]),
      httpRoute("here", {}),
      httpRoute("shop", { parentRefs: [{ name: "web", namespace: "infra" }] }, { namespace: "shop" }),
      httpRoute("other", { parentRefs: [{ name: "web", namespace: "infra", sectionName: "selected" }] }, { namespace: "other" }),
    ]);
    expect(parents("here")![0]![0]).toBe("Accepted=True Accepted");
    expect(parents("shop")![0]![0]).toBe("Accepted=True Accepted");
    expect(parents("other")![0]![0]).toBe("Accepted=False NotAllowedByListeners");
  });

  test("a route whose hostnames no listener shares is NoMatchingListenerHostname; a parentRef to another Gateway gets no status", () => {
    const { parents, statusOf } = build([
      gateway([{ ...http, hostname: "*.example.com" }]),
      httpRoute("elsewhere", { hostnames: ["a.example.org"] }),
      httpRoute("theirs", { parentRefs: [{ name: "other-gateway" }] }),
    ]);
    expect(parents("elsewhere")).toEqual([["Accepted=False NoMatchingListenerHostname", "ResolvedRefs=True ResolvedRefs"]]);
    expect(statusOf("HTTPRoute", "theirs")).toBeUndefined();
  });

  test("listener isolation: a host a more specific listener matches is served by that listener's routes only", () => {
    const { routes, parents } = build([
      gateway([
        { name: "any", port: 80, protocol: "HTTP" },
        { name: "wild", port: 80, protocol: "HTTP", hostname: "*.example.com" },
        { name: "foo", port: 80, protocol: "HTTP", hostname: "foo.example.com" },
      ]),
      httpRoute("to-any", { parentRefs: [{ name: "web", sectionName: "any" }], hostnames: ["foo.example.com", "bar.example.com", "other.org"], rules: [{ matches: [{ path: { value: "/any" } }], backendRefs: [{ name: "app", port: 80 }] }] }),
      httpRoute("to-wild", { parentRefs: [{ name: "web", sectionName: "wild" }], hostnames: ["foo.example.com", "bar.example.com"], rules: [{ matches: [{ path: { value: "/wild" } }], backendRefs: [{ name: "app", port: 80 }] }] }),
      httpRoute("to-foo", { parentRefs: [{ name: "web", sectionName: "foo" }], rules: [{ matches: [{ path: { value: "/foo" } }], backendRefs: [{ name: "app", port: 80 }] }] }),
    ]);
    const paths = (host: string) => routes(host).map((r) => r.pathMatch.value);
    expect(paths("foo.example.com")).toEqual(["/foo"]);
    expect(paths("bar.example.com")).toEqual(["/wild"]);
    expect(paths("other.org")).toEqual(["/any"]);
    expect(parents("to-any")![0]![0]).toBe("Accepted=True Accepted");
  });

  test("equal matches of two routes: the older route goes first, then by name; an invalid regex drops its rule (UnsupportedValue)", () => {
    const rules = [{ matches: [{ path: { type: "Exact", value: "/x" } }], backendRefs: [{ name: "app", port: 80 }] }];
    const { result, parents } = build([
      gateway([http]),
      httpRoute("a-young", { rules }, { creationTimestamp: "2026-02-01T00:00:00Z" }),
      httpRoute("z-old", { rules }, { creationTimestamp: "2026-01-01T00:00:00Z" }),
      httpRoute("bad", { hostnames: ["bad.example.com"], rules: [{ matches: [{ path: { type: "RegularExpression", value: "/(?=x)" } }] }, { backendRefs: [{ name: "app", port: 80 }] }] }),
    ]);
    // The translator's order (Envoy takes the first match): by name alone a-young would go first.
    const exact = sortRoutes(result.dag.virtualHosts.get("*")!.routes).filter((r) => r.pathMatch.kind === "exact");
    expect(exact.map((r) => r.source.name)).toEqual(["z-old", "a-young"]);
    expect(parents("bad")![0]![0]).toBe("Accepted=False UnsupportedValue");
    expect(result.dag.virtualHosts.get("bad.example.com")!.routes.map((r) => r.pathMatch)).toEqual([{ kind: "prefix", value: "/", segment: true }]);
  });

  test("backendRefs: a missing Service, another kind, another namespace without a grant; all weights 0 answers 500", () => {
    const { parents, routes } = build([
      gateway([http]),
      httpRoute("missing", { hostnames: ["missing.example.com"], rules: [{ backendRefs: [{ name: "nope", port: 80 }] }] }),
      httpRoute("kind", { hostnames: ["kind.example.com"], rules: [{ backendRefs: [{ group: "example.com", kind: "Bucket", name: "b" }] }] }),
      httpRoute("cross", { hostnames: ["cross.example.com"], rules: [{ backendRefs: [{ name: "app", namespace: "shop", port: 80 }] }] }),
      httpRoute("zero", { hostnames: ["zero.example.com"], rules: [{ backendRefs: [{ name: "app", port: 80, weight: 0 }] }] }),
    ]);
    expect(parents("missing")).toEqual([["Accepted=True Accepted", "ResolvedRefs=False BackendNotFound"]]);
    expect(parents("kind")![0]![1]).toBe("ResolvedRefs=False InvalidKind");
    expect(parents("cross")![0]![1]).toBe("ResolvedRefs=False RefNotPermitted");
    expect(parents("zero")![0]![1]).toBe("ResolvedRefs=True ResolvedRefs");
    for (const host of ["missing", "kind", "cross", "zero"]) expect(routes(`${host}.example.com`).map((r) => r.directResponse)).toEqual([{ statusCode: 500 }]);
  });

  test("a redirect without a port goes to the listener's port, or the new scheme's well-known port (left out)", () => {
    const rules = [
      { matches: [{ path: { value: "/same" } }], filters: [{ type: "RequestRedirect", requestRedirect: { hostname: "x.example.com" } }] },
      { matches: [{ path: { value: "/https" } }], filters: [{ type: "RequestRedirect", requestRedirect: { scheme: "https" } }] },
      { matches: [{ path: { value: "/port-80" } }], filters: [{ type: "RequestRedirect", requestRedirect: { port: 80 } }] },
      { matches: [{ path: { value: "/https-443" } }], filters: [{ type: "RequestRedirect", requestRedirect: { scheme: "https", port: 443 } }] },
      { matches: [{ path: { value: "/https-80" } }], filters: [{ type: "RequestRedirect", requestRedirect: { scheme: "https", port: 80 } }] },
    ];
    const { result } = build([gateway([http, { name: "alt", port: 8081, protocol: "HTTP" }]), httpRoute("r", { rules })]);
    const redirects = (routes: Route[]) => Object.fromEntries(routes.map((r) => [r.pathMatch.value, r.redirect?.port]));
    // A given port that is the scheme's own is left out too (Envoy writes any port it is given).
    const wellKnown = { "/port-80": undefined, "/https-443": undefined, "/https-80": 80 };
    expect(redirects(result.dag.virtualHosts.get("*")!.routes)).toEqual({ "/same": undefined, "/https": undefined, ...wellKnown });
    const own = result.dag.listeners.find((l) => l.name === "http-16081")!;
    expect(redirects(own.virtualHosts[0]!.routes)).toEqual({ "/same": 8081, "/https": undefined, ...wellKnown });
  });

  test("a backend whose Service port has appProtocol kubernetes.io/ws makes its rule's routes take WebSocket upgrades; others do not", () => {
    const ws: KubeObject = { apiVersion: "v1", kind: "Service", metadata: { name: "ws", namespace: "infra" }, spec: { ports: [{ port: 80, appProtocol: "kubernetes.io/ws" }] } };
    const rules = [
      { matches: [{ path: { value: "/ws" } }], backendRefs: [{ name: "ws", port: 80 }] },
      { matches: [{ path: { value: "/plain" } }], backendRefs: [{ name: "app", port: 80 }] },
    ];
    const { routes } = build([ws, gateway([http]), httpRoute("r", { rules })]);
    expect(Object.fromEntries(routes("*").map((r) => [r.pathMatch.value, r.websocket === true]))).toEqual({ "/ws": true, "/plain": false });
  });

  test("the route and Gateway statuses carry their generation", () => {
    const { statusOf } = build([gateway([http]), httpRoute("r", {}, { generation: 7 })]);
    expect(statusOf("HTTPRoute", "r")!.generation).toBe(7);
    expect(statusOf("Gateway", "web")!.generation).toBe(4);
    expect(statusOf("HTTPRoute", "r")!.parents![0]!.controllerName).toBe("projectcontour.io/gateway-controller");
  });
});

describe("TCP listeners and TCPRoutes", () => {
  const tcpRoute = (name: string, spec: { parentRefs?: ParentReference[]; rules?: unknown[] }, metadata: Record<string, unknown> = {}): KubeObject => ({
    apiVersion: `${group}/v1alpha2`,
    kind: "TCPRoute",
    metadata: { name, namespace: "infra", ...metadata },
    spec: { parentRefs: [{ name: "web", sectionName: "db" }], rules: [{ backendRefs: [{ name: "app", port: 80 }] }], ...spec },
  });
  const service = (name: string, namespace = "infra"): KubeObject => ({ apiVersion: "v1", kind: "Service", metadata: { name, namespace }, spec: { ports: [{ port: 5432 }] } });
  const db = { name: "db", port: 5432, protocol: "TCP" };
  const routeParents = (result: ReturnType<typeof build>, name: string) =>
    result.statusOf("TCPRoute", name)?.parents?.map((p) => p.conditions.map((c) => `${c.type}=${c.status} ${c.reason}`));
  const tcpListener = (result: ReturnType<typeof build>, port: number) => result.result.dag.listeners.find((l) => l.name === `tcp-${port}`);

  test("a TCP listener on port P is a plain TCP Envoy listener on P + 8000 proxying to the TCPRoute's weighted backends", () => {
    const built = build([
      service("primary"),
      service("replica"),
      gateway([http, db]),
      tcpRoute("pg", { rules: [{ backendRefs: [{ name: "primary", port: 5432, weight: 3 }, { name: "replica", port: 5432, weight: 1 }, { name: "app", port: 80, weight: 0 }] }] }),
    ]);
    expect(built.listener("db")).toEqual({ attachedRoutes: 1, conditions: ["Accepted=True Accepted", "Programmed=True Programmed", "ResolvedRefs=True ResolvedRefs", "Conflicted=False NoConflicts"] });
    expect(built.statusOf("Gateway", "web")!.listeners!.find((l) => l.name === "db")!.supportedKinds).toEqual([{ group, kind: "TCPRoute" }]);
    expect(routeParents(built, "pg")).toEqual([["Accepted=True Accepted", "ResolvedRefs=True ResolvedRefs"]]);
    const own = tcpListener(built, 13432)!;
    expect(own).toMatchObject({ protocol: "tcp", port: 13432, virtualHosts: [], filterChains: [] });
    expect(own.tcpProxy!.clusters.map((c) => [c.cluster.service?.name, c.weight])).toEqual([["primary", 3], ["replica", 1]]);
    expect(own.tcpProxy!.sources).toEqual([{ kind: "TCPRoute", namespace: "infra", name: "pg" }]);
    const envoy = (built.result.resources.listeners as Array<{ name: string; filter_chains: Array<{ filters: Array<{ name: string }> }> }>).find((l) => l.name === "tcp-13432")!;
    expect(envoy.filter_chains.map((c) => c.filters.map((f) => f.name))).toEqual([["envoy.filters.network.tcp_proxy"]]);
    // The listener is the TCPRoute's: a NACK of it is reported on the route.
    expect(built.result.owners.of("type.googleapis.com/envoy.config.listener.v3.Listener", "tcp-13432")).toEqual([{ kind: "TCPRoute", namespace: "infra", name: "pg" }]);
  });

  test("kinds: a TCPRoute attaches to TCP listeners only, an HTTPRoute never to one (NotAllowedByListeners); a missing sectionName is NoMatchingParent", () => {
    const built = build([
      gateway([http, db]),
      tcpRoute("on-http", { parentRefs: [{ name: "web", sectionName: "http" }] }),
      tcpRoute("no-such", { parentRefs: [{ name: "web", sectionName: "nope" }] }),
      tcpRoute("by-port", { parentRefs: [{ name: "web", port: 5432 }] }),
      httpRoute("http-on-tcp", { parentRefs: [{ name: "web", sectionName: "db" }] }),
    ]);
    expect(routeParents(built, "on-http")![0]![0]).toBe("Accepted=False NotAllowedByListeners");
    expect(routeParents(built, "no-such")![0]![0]).toBe("Accepted=False NoMatchingParent");
    expect(routeParents(built, "by-port")![0]![0]).toBe("Accepted=True Accepted");
    expect(built.parents("http-on-tcp")![0]![0]).toBe("Accepted=False NotAllowedByListeners");
    expect(built.listener("http")!.attachedRoutes).toBe(0);
  });

  test("backendRefs: a missing Service is BackendNotFound, another namespace's RefNotPermitted until a ReferenceGrant allows TCPRoutes", () => {
    const grant: KubeObject = {
      apiVersion: `${group}/v1beta1`,
      kind: "ReferenceGrant",
      metadata: { name: "allow", namespace: "data" },
      spec: { from: [{ group, kind: "TCPRoute", namespace: "infra" }], to: [{ group: "", kind: "Service" }] },
    };
    const objects = [service("pg", "data"), gateway([db]), tcpRoute("missing", { rules: [{ backendRefs: [{ name: "absent", port: 5432 }] }] }), tcpRoute("cross", { rules: [{ backendRefs: [{ name: "pg", namespace: "data", port: 5432 }] }] }, { creationTimestamp: "2030-01-01T00:00:00Z" })];
    const denied = build(objects);
    expect(routeParents(denied, "missing")).toEqual([["Accepted=True Accepted", "ResolvedRefs=False BackendNotFound"]]);
    expect(routeParents(denied, "cross")).toEqual([["Accepted=True Accepted", "ResolvedRefs=False RefNotPermitted"]]);
    expect(tcpListener(denied, 13432)).toBeUndefined();
    const granted = build([...objects, grant]);
    expect(routeParents(granted, "cross")).toEqual([["Accepted=True Accepted", "ResolvedRefs=True ResolvedRefs"]]);
    expect(tcpListener(granted, 13432)!.tcpProxy!.clusters.map((c) => c.cluster.service?.namespace)).toEqual(["data"]);
  });

  test("two TCPRoutes on one listener: the oldest is proxied to, the newer one is warned it is not served", () => {
    const built = build([
      service("old"),
      service("new"),
      gateway([db]),
      tcpRoute("newer", { rules: [{ backendRefs: [{ name: "new", port: 5432 }] }] }, { creationTimestamp: "2030-01-02T00:00:00Z" }),
      tcpRoute("older", { rules: [{ backendRefs: [{ name: "old", port: 5432 }] }] }, { creationTimestamp: "2030-01-01T00:00:00Z" }),
    ]);
    expect(tcpListener(built, 13432)!.tcpProxy!.clusters.map((c) => c.cluster.service?.name)).toEqual(["old"]);
    expect(built.listener("db")!.attachedRoutes).toBe(2);
    expect(built.statusOf("TCPRoute", "newer")!.warnings.map((w) => w.reason)).toEqual(["NotServed"]);
    expect(built.statusOf("TCPRoute", "older")!.warnings).toEqual([]);
  });

  test("TCP listeners on port 80 or 443 would share Envoy's HTTP or TLS listener: PortUnavailable", () => {
    const built = build([gateway([{ name: "db", port: 80, protocol: "TCP" }])]);
    expect(built.listener("db")!.conditions[0]).toBe("Accepted=False PortUnavailable");
  });
});

describe("TLS listeners on ports other than 443", () => {
  const tcpRoute = (name: string, sectionName: string): KubeObject => ({
    apiVersion: `${group}/v1alpha2`,
    kind: "TCPRoute",
    metadata: { name, namespace: "infra" },
    spec: { parentRefs: [{ name: "web", sectionName }], rules: [{ backendRefs: [{ name: "app", port: 80 }] }] },
  });
  const tcpParents = (built: ReturnType<typeof build>, name: string) => built.statusOf("TCPRoute", name)?.parents?.map((p) => p.conditions.map((c) => `${c.type}=${c.status} ${c.reason}`));

  test("HTTPS on 8443 is Envoy's TLS listener https-16443, one SNI chain and route configuration per host; a terminating TLS listener on 9443 proxies its TCPRoute, a Passthrough one refuses it", async () => {
    const cert = await selfSignedCertificate("*.example.com");
    const built = build([
      tlsSecret("infra", "cert", cert),
      gateway([
        { name: "web", port: 8443, protocol: "HTTPS", hostname: "a.example.com", tls: { certificateRefs: [{ name: "cert" }] } },
        { name: "tcp", port: 9443, protocol: "TLS", tls: { certificateRefs: [{ name: "cert" }] } },
        { name: "pass", port: 9443, protocol: "TLS", hostname: "*.pass.test", tls: { mode: "Passthrough" } },
      ]),
      httpRoute("r", { parentRefs: [{ name: "web", sectionName: "web" }] }),
      tcpRoute("t", "tcp"),
      tcpRoute("p", "pass"),
    ]);
    const listeners = built.result.dag.listeners.filter((l) => l.name.startsWith("https-"));
    expect(listeners.map((l) => [l.name, l.protocol, l.port, l.filterChains.map((c) => [c.name, c.routeConfigName ?? null, c.virtualHost.tcpProxy ? "tcp" : "http"])])).toEqual([
      ["https-16443", "https", 16443, [["https-16443/a.example.com", "https-16443/a.example.com", "http"]]],
      ["https-17443", "https", 17443, [["https-17443/*", null, "tcp"]]],
    ]);
    // Nothing of these ports lands on the shared listeners.
    expect(built.result.dag.secureVirtualHosts.size).toBe(0);
    expect(built.statusOf("Gateway", "web")!.listeners!.map((l) => [l.name, l.supportedKinds.map((k) => k.kind)])).toEqual([
      ["web", ["HTTPRoute", "GRPCRoute"]],
      ["tcp", ["TLSRoute", "TCPRoute"]],
      ["pass", ["TLSRoute"]],
    ]);
    expect(tcpParents(built, "t")).toEqual([["Accepted=True Accepted", "ResolvedRefs=True ResolvedRefs"]]);
    expect(tcpParents(built, "p")![0]![0]).toBe("Accepted=False NotAllowedByListeners");
    const envoy = (built.result.resources.listeners as Array<{ name: string; filter_chains: Array<{ filter_chain_match: unknown }> }>).find((l) => l.name === "https-17443")!;
    expect(envoy.filter_chains.map((c) => c.filter_chain_match)).toEqual([{ transport_protocol: "tls" }]);
    expect(built.result.owners.of("type.googleapis.com/envoy.config.route.v3.RouteConfiguration", "https-16443/a.example.com")).toEqual([{ kind: "HTTPRoute", namespace: "infra", name: "r" }]);
  });

  test("a Passthrough TLS listener asking for TCPRoutes has InvalidRouteKinds", () => {
    const built = build([gateway([{ name: "pass", port: 9443, protocol: "TLS", tls: { mode: "Passthrough" }, allowedRoutes: { kinds: [{ kind: "TCPRoute" }] } }])]);
    expect(built.listener("pass")!.conditions[2]).toBe("ResolvedRefs=False InvalidRouteKinds");
  });
});
