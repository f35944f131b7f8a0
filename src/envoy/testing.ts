// Test helpers for the translator: small DAG objects built by hand (no builder involved) and one
// check that a resource is what Envoy would accept — the strict proto path, no deprecated fields,
// plus Envoy's own validation rules when src/xds/validate.ts is present. Used by the src/envoy tests only.
import type { Cluster, Dag, Route, SecureVirtualHost, Secret, VirtualHost, WeightedCluster } from "../dag/types.ts";
import { StatusRecorder, type ObjectRef } from "../dag/status.ts";
import protobuf from "protobufjs";
import { encodeStrict, lookupType } from "../xds/registry.ts";
import { TypeUrls, type ResourceSet } from "../xds/types.ts";
import { validateResource } from "../xds/validate.ts";
import { validateSnapshot } from "../xds/validate-snapshot.ts";
import { reachable, routeConfigs, type RouteConfigNode } from "../dag/accessors.ts";
import { buildListeners, type ListenerOptions } from "../dag/listeners.ts";
import type { JsonObject } from "./common.ts";
import { listener, type ListenerSettings } from "./listener.ts";
import { routeConfigurationOf } from "./route.ts";
import type { Translation } from "./translate.ts";

export const testRef = (name = "app", kind = "HTTPProxy", namespace = "default"): ObjectRef => ({ kind, namespace, name });

/** A DAG cluster for Service `namespace/name` port 80, EDS name `namespace/name/http`. */
export function testCluster(name = "echo", overrides: Partial<Cluster> = {}): Cluster {
  const namespace = overrides.service?.namespace ?? "default";
  return {
    name: `${namespace}/${name}/80/da39a3ee5e`,
    edsServiceName: `${namespace}/${name}/http`,
    service: { namespace, name, port: 80, portName: "http", targetPort: 8080 },
    protocol: "http1",
    loadBalancer: "RoundRobin",
    ...overrides,
  };
}

export function weighted(cluster: Cluster, weight = 1, extra: Partial<WeightedCluster> = {}): WeightedCluster {
  return { cluster, weight, ...extra };
}

/** A prefix route (segment-wise) to one cluster. */
export function testRoute(prefix = "/", overrides: Partial<Route> = {}): Route {
  return {
    pathMatch: { kind: "prefix", value: prefix, segment: true },
    headerMatches: [],
    queryParamMatches: [],
    clusters: [weighted(testCluster())],
    mirrors: [],
    source: testRef(),
    ...overrides,
  };
}

export function testVirtualHost(name: string, routes: Route[], overrides: Partial<VirtualHost> = {}): VirtualHost {
  return { name, routes, sources: [testRef()], ...overrides };
}

export function testSecret(name = "default/tls/0123456789", kind: Secret["kind"] = "tls"): Secret {
  const [namespace = "default", secretName = "tls"] = name.split("/");
  return {
    name,
    ref: { kind: "Secret", namespace, name: secretName },
    certificateChain: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
    privateKey: kind === "tls" ? "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n" : "",
    kind,
  };
}

export function testSecureVirtualHost(name: string, routes: Route[], overrides: Partial<SecureVirtualHost> = {}): SecureVirtualHost {
  return {
    ...testVirtualHost(name, routes),
    secret: testSecret(),
    minTlsVersion: "1.2",
    maxTlsVersion: "1.3",
    passthrough: false,
    ...overrides,
  };
}

/** A DAG holding the given hosts, its listeners made and every cluster and secret they reach registered, as buildDag leaves it. */
export function testDag(hosts: { plain?: VirtualHost[]; secure?: SecureVirtualHost[]; fallbackSecret?: Secret }, listeners: ListenerOptions = {}): Dag {
  const dag: Dag = {
    virtualHosts: new Map((hosts.plain ?? []).map((vh) => [vh.name, vh])),
    secureVirtualHosts: new Map((hosts.secure ?? []).map((vh) => [vh.name, vh])),
    clusters: new Map(),
    secrets: new Map(),
    fallbackSecret: hosts.fallbackSecret,
    listeners: [],
    status: new StatusRecorder(),
  };
  dag.listeners = buildListeners(dag, listeners, dag.status);
  const { clusters, secrets } = reachable(dag);
  dag.clusters = clusters;
  dag.secrets = secrets;
  return dag;
}

/** The `ingress_http` listener of these hosts, made by the DAG's listener pass and rendered. */
export function httpListener(port: number, plain: VirtualHost[], settings: ListenerSettings): JsonObject {
  const dag = testDag({ plain }, { address: settings.address, httpPort: port });
  return listener(dag.listeners.find((node) => node.protocol === "http")!, settings);
}

/** The `ingress_https` listener of these hosts as the DAG's listener pass makes it, rendered; undefined when it serves none. */
export function httpsListener(port: number, hosts: { secure: SecureVirtualHost[]; fallbackSecret?: Secret }, settings: ListenerSettings): JsonObject | undefined {
  const dag = testDag(hosts, { address: settings.address, httpsPort: port });
  const node = dag.listeners.find((candidate) => candidate.protocol === "https");
  return node && listener(node, settings);
}

function renderedRouteConfig(dag: Dag, fetchedBy: RouteConfigNode["fetchedBy"]): JsonObject {
  return routeConfigurationOf(routeConfigs(dag).find((config) => config.fetchedBy === fetchedBy)!);
}

/** The `ingress_http` route configuration of these hosts. */
export const httpRouteConfiguration = (plain: VirtualHost[]): JsonObject => renderedRouteConfig(testDag({ plain }), "listener");

/** The `https/<fqdn>` route configuration of one TLS host. */
export const secureRouteConfiguration = (vhost: SecureVirtualHost): JsonObject => renderedRouteConfig(testDag({ secure: [vhost] }), "sni");

/** The fallback certificate's route configuration, with these hosts allowing clients without SNI. */
export function fallbackRouteConfiguration(vhosts: SecureVirtualHost[]): JsonObject {
  const secure = vhosts.map((vhost) => ({ ...vhost, fallbackCertificate: true }));
  return renderedRouteConfig(testDag({ secure, fallbackSecret: testSecret("isobar/fallback/1") }), "fallback");
}

/** Throws unless the snapshot validator accepts the whole set, consistency included. */
export async function expectSnapshotAccepted(set: ResourceSet): Promise<void> {
  const { rejected } = validateSnapshot(set);
  if (rejected.length > 0) {
    const text = rejected.map((r) => `${r.typeUrl} ${r.name}: ${r.errors.map((e) => `${e.path}: ${e.message}`).join("; ")}`);
    throw new Error(`snapshot rejected: ${text.join(" | ")}`);
  }
}

/** Throws unless every resource of a translation passes Envoy's validation rules, naming the first that fails. */
export function expectTranslationValid(translation: Translation): void {
  const kinds = [
    [TypeUrls.listener, translation.listeners],
    [TypeUrls.route, translation.routes],
    [TypeUrls.cluster, translation.clusters],
    [TypeUrls.secret, translation.secrets],
  ] as const;
  for (const [typeUrl, resources] of kinds) {
    for (const resource of resources) {
      const errors = validateResource(typeUrl, resource);
      if (errors.length > 0) throw new Error(`${String(resource.name)} fails Envoy's validation: ${errors.map((e) => `${e.path}: ${e.message}`).join("; ")}`);
    }
  }
}

/** Paths of the deprecated fields a resource uses (the descriptor keeps no enum value options): Envoy warns on them, and in time refuses them. */
export function deprecatedFields(type: protobuf.Type, value: unknown, path = ""): string[] {
  if (value === null || typeof value !== "object") return [];
  if (type.fullName === ".google.protobuf.Any") {
    const { "@type": url, ...rest } = value as Record<string, unknown>;
    return deprecatedFields(lookupType(String(url)), rest, path);
  }
  if (type.fullName.startsWith(".google.protobuf.")) return [];
  const found: string[] = [];
  for (const [key, fieldValue] of Object.entries(value as Record<string, unknown>)) {
    const field = type.fields[key];
    if (!field || fieldValue === undefined) continue;
    const fieldPath = path ? `${path}.${key}` : key;
    if (field.options?.deprecated) found.push(fieldPath);
    field.resolve();
    const resolved = field.resolvedType;
    const items = field.map ? Object.values(fieldValue as object) : field.repeated ? (fieldValue as unknown[]) : [fieldValue];
    if (resolved instanceof protobuf.Type) for (const item of items) found.push(...deprecatedFields(resolved, item, fieldPath));
  }
  return found;
}

/**
 * Throws unless the resource encodes on the strict path and, when the validator exists, passes
 * Envoy's validation rules. Returns the resource for chaining.
 */
export async function expectEnvoyAccepts<T extends object>(type: string, resource: T | undefined): Promise<T> {
  if (resource === undefined) throw new Error(`expected a ${type}, got nothing`);
  encodeStrict(type, resource);
  const deprecated = deprecatedFields(lookupType(type), resource);
  if (deprecated.length > 0) throw new Error(`${type} uses deprecated fields: ${deprecated.join(", ")}`);
  const errors = validateResource(type, resource);
  if (errors.length > 0) throw new Error(`${type} fails Envoy's validation: ${errors.map((e) => `${e.path}: ${e.message}`).join("; ")}`);
  return resource;
}
