// Generated clusters for the pipeline benchmarks (rebuild.ts, httpproxy.ts, gateway.ts): Ingresses,
// HTTPProxy delegation trees, Gateway API HTTPRoutes, and the Services and EndpointSlices behind
// them, as the sources would deliver them. Deterministic: the same arguments give the same objects. `*Changed` functions give the next
// generation of one object (a new resourceVersion and different content), for the latency runs.
import { createDagCache } from "../src/dag/cache.ts";
import type { DagOptions } from "../src/dag/processor.ts";
import type { KubeObject, Source, SourceHandler } from "../src/sources/types.ts";

export type Fixture = "ingress" | "httpproxy" | "gateway";

/** The DAG options of every pipeline benchmark: Contour's defaults, no class filter, any root namespace. */
export const benchDagOptions: DagOptions = { ingressClassNames: [], rootNamespaces: [], enableExternalNameService: false, now: () => new Date(), cache: createDagCache() };

/** `size` Ingresses (with Services and EndpointSlices), or HTTPProxy trees or Gateway API HTTPRoutes in `size` namespaces (10 each). */
export function generateCluster(fixture: Fixture, size: number): KubeObject[] {
  if (fixture === "gateway") return gatewayCluster({ namespaces: size });
  return fixture === "ingress" ? ingressCluster({ ingresses: size }) : httpProxyCluster({ namespaces: size });
}

export interface IngressClusterOptions {
  /** Ingresses (each with its own Service and EndpointSlice). */
  ingresses: number;
  /** Namespaces they are spread over (default: one per 10 Ingresses, at least one). */
  namespaces?: number;
}

export interface HttpProxyClusterOptions {
  /** Namespaces; each holds 10 HTTPProxies (one root, and three levels of included children of other trees). */
  namespaces: number;
}

const ingressPaths = ["/", "/api", "/static"] as const;

export function namespaceName(index: number): string {
  return `team-${String(index).padStart(4, "0")}`;
}

export function service(namespace: string, name: string, ports: Array<{ name: string; port: number; targetPort: number }>): KubeObject {
  return { apiVersion: "v1", kind: "Service", metadata: { namespace, name, resourceVersion: "1" }, spec: { type: "ClusterIP", ports: ports.map((p) => ({ ...p, protocol: "TCP" })) } };
}

/** Three ready endpoints of `name`'s Service, in two zones; `generation` moves the last address. */
/** Where an object is and which generation of it: the fixtures' two-argument form. */
export interface Version {
  namespaces: number;
  generation?: number;
}

export function endpointSlice(service: { namespace: string; name: string }, at: { seed: number; generation?: number }): KubeObject {
  const { namespace, name: serviceName } = service;
  const { seed, generation = 0 } = at;
  const base = `10.${(seed >> 16) & 255}.${(seed >> 8) & 255}`;
  const last = seed & 255;
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { namespace, name: `${serviceName}-abcde`, labels: { "kubernetes.io/service-name": serviceName }, resourceVersion: String(generation + 1) },
    addressType: "IPv4",
    ports: [{ name: "http", port: 8080, protocol: "TCP" }],
    endpoints: [0, 1, 2].map((n) => ({
      addresses: [n === 2 && generation > 0 ? `172.16.${generation & 255}.${last}` : `${base}.${(last + n * 85) & 255}`],
      conditions: { ready: true },
      zone: n === 0 ? "zone-a" : "zone-b",
    })),
  };
}

export function ingressNamespace(index: number, namespaces: number): string {
  return namespaceName(index % namespaces);
}

/** Ingress `index`: one host, three Prefix paths to its own Service; a later generation adds a fourth path. */
export function ingress(index: number, at: Version): KubeObject {
  const { namespaces, generation = 0 } = at;
  const namespace = ingressNamespace(index, namespaces);
  const paths: string[] = [...ingressPaths];
  if (generation > 0) paths.push(`/changed-${generation}`);
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: { namespace, name: `app-${index}`, resourceVersion: String(generation + 1), annotations: { "projectcontour.io/response-timeout": "15s" } },
    spec: {
      rules: [
        {
          host: `app-${index}.bench.example.com`,
          http: { paths: paths.map((path) => ({ path, pathType: "Prefix", backend: { service: { name: `app-${index}`, port: { name: "http" } } } })) },
        },
      ],
    },
  };
}

export function ingressNamespaces(options: IngressClusterOptions): number {
  return Math.max(1, options.namespaces ?? Math.ceil(options.ingresses / 10));
}

/** `ingresses` Ingresses, each with a Service and an EndpointSlice of three endpoints. */
export function ingressCluster(options: IngressClusterOptions): KubeObject[] {
  const namespaces = ingressNamespaces(options);
  const objects: KubeObject[] = [];
  for (let i = 0; i < options.ingresses; i++) {
    const namespace = ingressNamespace(i, namespaces);
    objects.push(ingress(i, { namespaces }));
    objects.push(service(namespace, `app-${i}`, [{ name: "http", port: 80, targetPort: 8080 }]));
    objects.push(endpointSlice({ namespace, name: `app-${i}` }, { seed: i }));
  }
  return objects;
}

/** The EndpointSlice of Ingress `index`'s Service, at a later generation (one address moved). */
export function ingressEndpointSlice(index: number, at: Version): KubeObject {
  return endpointSlice({ namespace: ingressNamespace(index, at.namespaces), name: `app-${index}` }, { seed: index, generation: at.generation });
}

// HTTPProxy trees. Tree t (one per namespace) has its root in namespace t; the root includes three
// children (level 1) in namespace t+1, each of which includes one child (level 2) in namespace t+2,
// which includes one leaf (level 3) in namespace t+3. Every namespace so holds one root and three
// proxies of each level of other trees: 10 HTTPProxies. Includes carry prefix conditions, one of
// them a header condition too; routes have header conditions and weighted services.

const branches = ["a", "b", "c"] as const;
const proxyServices = ["web", "api", "canary"] as const;

function proxyObject(namespace: string, name: string, spec: Record<string, unknown>, generation = 0): KubeObject {
  return { apiVersion: "projectcontour.io/v1", kind: "HTTPProxy", metadata: { namespace, name, generation: generation + 1, resourceVersion: String(generation + 1) }, spec };
}

function treeNamespace(tree: number, level: number, namespaces: number): string {
  return namespaceName((tree + level) % namespaces);
}

function weighted(primary: string, secondary: string, weight: number): Array<Record<string, unknown>> {
  return [
    { name: primary, port: 80, weight: 100 - weight },
    { name: secondary, port: 80, weight },
  ];
}

/** The proxy of tree `tree` at `level` (0 root … 3 leaf) on `branch`; a later generation changes a leaf's header match. */
export function httpProxy(tree: number, at: Version & { level: number; branch: string }): KubeObject {
  const { level, branch, namespaces, generation = 0 } = at;
  const namespace = treeNamespace(tree, level, namespaces);
  if (level === 0) {
    return proxyObject(namespace, `root-${tree}`, {
      virtualhost: { fqdn: `t${tree}.bench.example.com` },
      includes: branches.map((b, i) => ({
        name: `t${tree}-${b}1`,
        namespace: treeNamespace(tree, 1, namespaces),
        conditions: i === 2 ? [{ prefix: `/${b}` }, { header: { name: "x-team", exact: `t${tree}` } }] : [{ prefix: `/${b}` }],
      })),
      routes: [{ conditions: [{ prefix: "/" }], services: weighted("web", "canary", 10) }],
    });
  }
  const name = `t${tree}-${branch}${level}`;
  const routes: Array<Record<string, unknown>> = [
    { conditions: [{ prefix: `/l${level}` }, { header: { name: "x-version", present: true } }], services: weighted("api", "canary", 20), timeoutPolicy: { response: "10s" } },
    { conditions: [{ prefix: `/l${level}-static` }], services: [{ name: "web", port: 80 }] },
  ];
  if (level === 3) {
    const value = generation > 0 ? `v${generation + 1}` : "v1";
    routes.unshift({ conditions: [{ prefix: "/leaf" }, { header: { name: "x-canary", exact: value } }], services: weighted("canary", "api", 50), retryPolicy: { count: 2, perTryTimeout: "1s" } });
    return proxyObject(namespace, name, { routes }, generation);
  }
  return proxyObject(namespace, name, { includes: [{ name: `t${tree}-${branch}${level + 1}`, namespace: treeNamespace(tree, level + 1, namespaces), conditions: [{ prefix: `/v${level}` }] }], routes });
}

/** 10 HTTPProxies per namespace (see above), three Services per namespace, each with an EndpointSlice. */
export function httpProxyCluster(options: HttpProxyClusterOptions): KubeObject[] {
  const n = options.namespaces;
  const objects: KubeObject[] = [];
  for (let t = 0; t < n; t++) {
    objects.push(httpProxy(t, { level: 0, branch: "", namespaces: n }));
    for (const branch of branches) for (let level = 1; level <= 3; level++) objects.push(httpProxy(t, { level, branch, namespaces: n }));
    const namespace = namespaceName(t);
    proxyServices.forEach((name, i) => {
      objects.push(service(namespace, name, [{ name: "http", port: 80, targetPort: 8080 }]));
      objects.push(endpointSlice({ namespace, name }, { seed: t * 3 + i }));
    });
  }
  return objects;
}

/** The leaf proxy of tree `tree`, branch a, at a later generation (its first route's header value differs). */
export function httpProxyLeaf(tree: number, at: Version): KubeObject {
  return httpProxy(tree, { ...at, level: 3, branch: "a" });
}

/** The EndpointSlice of namespace `index`'s `web` Service, at a later generation (HTTPProxy and Gateway fixtures). */
export function httpProxyEndpointSlice(index: number, generation: number): KubeObject {
  return endpointSlice({ namespace: namespaceName(index), name: "web" }, { seed: index * 3, generation });
}

// Gateway API cluster for `npm run bench -- gateway`: a GatewayClass of this agent's controller, one
// Gateway (in its own namespace) with an HTTP listener on port 80 that admits routes from every
// namespace, and 10 HTTPRoutes in each of `namespaces` namespaces. Each route has one hostname and
// three rules: a PathPrefix to the namespace's web Service, a PathPrefix with a header match split
// 80/20 between api and canary, an Exact path to web with a request header set. Three Services per
// namespace, each with an EndpointSlice. Deterministic; `gatewayRoute` at a later generation changes
// one route's header match (the latency run's change).

export const gatewayRoutesPerNamespace = 10;
const services = ["web", "api", "canary"] as const;
const gatewayNamespace = "gateway-infra";

/** HTTPRoute `index` (namespace index / 10); a later generation matches another x-version value. */
export function gatewayRoute(index: number, at: Version): KubeObject {
  const { namespaces, generation = 0 } = at;
  const namespace = namespaceName(Math.floor(index / gatewayRoutesPerNamespace) % namespaces);
  return {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: { namespace, name: `route-${index}`, generation: generation + 1, resourceVersion: String(generation + 1) },
    spec: {
      parentRefs: [{ name: "bench", namespace: gatewayNamespace, sectionName: "http" }],
      hostnames: [`r${index}.bench.example.com`],
      rules: [
        { matches: [{ path: { type: "PathPrefix", value: "/" } }], backendRefs: [{ name: "web", port: 80 }] },
        {
          matches: [{ path: { type: "PathPrefix", value: "/api" }, headers: [{ type: "Exact", name: "x-version", value: `v${generation + 1}` }] }],
          backendRefs: [
            { name: "api", port: 80, weight: 80 },
            { name: "canary", port: 80, weight: 20 },
          ],
        },
        {
          matches: [{ path: { type: "Exact", value: "/healthz" } }],
          filters: [{ type: "RequestHeaderModifier", requestHeaderModifier: { set: [{ name: "x-route", value: `route-${index}` }] } }],
          backendRefs: [{ name: "web", port: 80 }],
        },
      ],
    },
  };
}

/** The GatewayClass, the Gateway, `namespaces` Namespaces with 10 HTTPRoutes and three Services (and slices) each. */
export function gatewayCluster(options: { namespaces: number }): KubeObject[] {
  const n = options.namespaces;
  const objects: KubeObject[] = [
    { apiVersion: "gateway.networking.k8s.io/v1", kind: "GatewayClass", metadata: { name: "bench", generation: 1, resourceVersion: "1" }, spec: { controllerName: "projectcontour.io/gateway-controller" } },
    {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "Gateway",
      metadata: { namespace: gatewayNamespace, name: "bench", generation: 1, resourceVersion: "1", creationTimestamp: "2026-01-01T00:00:00Z" },
      spec: { gatewayClassName: "bench", listeners: [{ name: "http", port: 80, protocol: "HTTP", allowedRoutes: { namespaces: { from: "All" } } }] },
    },
  ];
  for (let t = 0; t < n; t++) {
    const namespace = namespaceName(t);
    objects.push({ apiVersion: "v1", kind: "Namespace", metadata: { name: namespace, resourceVersion: "1", labels: { "kubernetes.io/metadata.name": namespace } } });
    for (let r = 0; r < gatewayRoutesPerNamespace; r++) objects.push(gatewayRoute(t * gatewayRoutesPerNamespace + r, { namespaces: n }));
    services.forEach((name, i) => {
      objects.push(service(namespace, name, [{ name: "http", port: 80, targetPort: 8080 }]));
      objects.push(endpointSlice({ namespace, name }, { seed: t * 3 + i }));
    });
  }
  return objects;
}

/**
 * A source that lists `objects` once and syncs (the agent fed without a cluster); `handler()` is the
 * agent's handler once started, to feed it changes. `objects` is emptied once listed, so the bench
 * does not hold them twice.
 */
export function memorySource(objects: KubeObject[]): { source: Source; handler: () => SourceHandler } {
  let handler: SourceHandler | undefined;
  const source: Source = {
    name: "bench",
    async start(h) {
      handler = h;
      h.onEvents(objects.map((object) => ({ type: "upsert" as const, object })));
      objects.length = 0;
      h.onSynced();
    },
    async stop() {},
  };
  return { source, handler: () => handler! };
}
