import { describe, expect, test } from "bun:test";
import { createObjectCache, lastAppliedAnnotation } from "./cache.ts";
import type { KubeObject, SourceEvent } from "../sources/types.ts";

function upsert(object: KubeObject): SourceEvent {
  return { type: "upsert", object };
}
function remove(object: KubeObject): SourceEvent {
  return { type: "delete", object };
}

function ingress(name: string, spec: Record<string, unknown>, extra: Partial<KubeObject["metadata"]> = {}): KubeObject {
  return { apiVersion: "networking.k8s.io/v1", kind: "Ingress", metadata: { name, namespace: "default", ...extra }, spec };
}
function service(name: string, namespace = "default", resourceVersion?: string): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace, ...(resourceVersion ? { resourceVersion } : {}) },
    spec: { ports: [{ port: 80 }] },
  };
}
function secret(name: string, type = "kubernetes.io/tls", namespace = "default"): KubeObject {
  return { apiVersion: "v1", kind: "Secret", metadata: { name, namespace }, type, data: { "tls.crt": "eA==" } };
}
function slice(name: string, serviceName: string | undefined, addresses: string[]): KubeObject {
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { name, namespace: "default", labels: serviceName ? { "kubernetes.io/service-name": serviceName } : {} },
    endpoints: addresses.map((address) => ({ addresses: [address] })),
  };
}
const backend = (name: string) => ({ service: { name, port: { number: 80 } } });
const nothing = { affectsDag: false, affectsEndpoints: false };

describe("object cache: what affects the output", () => {
  test("a Service or Secret affects the DAG only while something names it", () => {
    const cache = createObjectCache({ ingressClassNames: [] });
    expect(cache.apply(upsert(service("web")))).toEqual(nothing);
    expect(cache.apply(upsert(secret("cert")))).toEqual(nothing);
    expect(cache.service("default", "web")?.metadata.name).toBe("web");

    const web = ingress("site", { tls: [{ secretName: "cert" }], defaultBackend: backend("web") });
    expect(cache.apply(upsert(web)).affectsDag).toBe(true);
    expect(cache.isReferenced("Service", "default", "web")).toBe(true);
    expect(cache.isReferenced("Secret", "default", "cert")).toBe(true);

    const changed = { ...service("web"), spec: { ports: [{ port: 81 }] } };
    expect(cache.apply(upsert(changed))).toEqual({ affectsDag: true, affectsEndpoints: false });
    expect(cache.apply(upsert({ ...secret("cert"), data: { "tls.crt": "eQ==" } })).affectsDag).toBe(true);
    expect(cache.apply(upsert(service("other")))).toEqual(nothing);

    expect(cache.apply(remove(web)).affectsDag).toBe(true);
    expect(cache.isReferenced("Service", "default", "web")).toBe(false);
    expect(cache.apply(remove(changed))).toEqual(nothing);
    expect(cache.service("default", "web")).toBeUndefined();
  });

  test("references are counted: a Service named twice stays referenced until both referrers let go", () => {
    const cache = createObjectCache({ ingressClassNames: [] });
    const a = ingress("a", { rules: [{ http: { paths: [{ path: "/", backend: backend("web") }] } }] });
    const b = ingress("b", { defaultBackend: backend("web") });
    cache.applyAll([upsert(a), upsert(b)]);
    cache.apply(remove(a));
    expect(cache.isReferenced("Service", "default", "web")).toBe(true);
    cache.apply(upsert({ ...b, spec: { defaultBackend: backend("api") } }));
    expect(cache.isReferenced("Service", "default", "web")).toBe(false);
    expect(cache.isReferenced("Service", "default", "api")).toBe(true);
    expect(cache.apply(upsert(service("web")))).toEqual(nothing);
    expect(cache.apply(upsert(service("api"))).affectsDag).toBe(true);
  });

  test("HTTPProxy, delegation, tls-cert-namespace and configured certificates make Secrets referenced", () => {
    const cache = createObjectCache({
      ingressClassNames: [],
      fallbackCertificate: { namespace: "infra", name: "fallback" },
      upstreamClientCertificate: { namespace: "infra", name: "client" },
    });
    cache.apply(
      upsert({
        apiVersion: "projectcontour.io/v1",
        kind: "HTTPProxy",
        metadata: { name: "p", namespace: "apps" },
        spec: {
          virtualhost: {
            fqdn: "p.example.com",
            tls: { secretName: "shared/wildcard", clientValidation: { caSecret: "ca", crlSecret: "crl" } },
          },
          routes: [{ services: [{ name: "backend", port: 80, validation: { caSecret: "upstream-ca" } }] }],
          tcpproxy: { services: [{ name: "tcp", port: 9000 }] },
        },
      }),
    );
    cache.apply(
      upsert(
        ingress("i", { tls: [{ secretName: "delegated" }] }, { annotations: { "projectcontour.io/tls-cert-namespace": "certs" } }),
      ),
    );
    cache.apply(
      upsert({
        apiVersion: "projectcontour.io/v1",
        kind: "TLSCertificateDelegation",
        metadata: { name: "d", namespace: "shared" },
        spec: { delegations: [{ secretName: "delegated-cert", targetNamespaces: ["*"] }] },
      }),
    );
    const referenced: [string, string][] = [
      ["shared", "wildcard"],
      ["apps", "ca"],
      ["apps", "crl"],
      ["apps", "upstream-ca"],
      ["certs", "delegated"],
      ["shared", "delegated-cert"],
      ["infra", "fallback"],
      ["infra", "client"],
    ];
    for (const [namespace, name] of referenced) {
      expect(cache.isReferenced("Secret", namespace, name)).toBe(true);
      expect(cache.apply(upsert(secret(name, "kubernetes.io/tls", namespace))).affectsDag).toBe(true);
    }
    expect(cache.isReferenced("Service", "apps", "backend")).toBe(true);
    expect(cache.isReferenced("Service", "apps", "tcp")).toBe(true);
    expect(cache.isReferenced("Secret", "apps", "wildcard")).toBe(false);
  });

  test("an EndpointSlice affects only endpoints, of the Service named by its label", () => {
    const cache = createObjectCache({ ingressClassNames: [] });
    const s1 = slice("web-abc", "web", ["10.0.0.1"]);
    expect(cache.apply(upsert(s1))).toEqual({ affectsDag: false, affectsEndpoints: true, endpointServices: ["default/web"] });
    cache.apply(upsert(slice("web-def", "web", ["10.0.0.2"])));
    cache.apply(upsert(slice("api-abc", "api", ["10.0.1.1"])));
    expect(cache.endpointSlices("default", "web").map((s) => s.metadata.name)).toEqual(["web-abc", "web-def"]);
    expect(cache.endpointSlicesAll()).toHaveLength(3);
    expect(cache.endpointSliceServices()).toEqual(["default/api", "default/web"]);

    // relabelled: both the old and the new Service's load assignments change
    const moved = slice("web-abc", "api", ["10.0.0.1"]);
    expect(cache.apply(upsert(moved)).endpointServices).toEqual(["default/api", "default/web"]);
    expect(cache.endpointSlices("default", "web").map((s) => s.metadata.name)).toEqual(["web-def"]);
    expect(cache.apply(upsert(moved))).toEqual(nothing);
    expect(cache.apply(upsert(slice("orphan", undefined, ["10.0.9.9"])))).toEqual(nothing);
    cache.apply(remove(moved));
    cache.apply(remove(slice("api-abc", "api", [])));
    expect(cache.endpointSlices("default", "api")).toEqual([]);
    expect(cache.endpointSliceServices()).toEqual(["default/web"]);
  });

  test("a Service's slices follow updates and removals from one slice to several and back", () => {
    const cache = createObjectCache({ ingressClassNames: [] });
    cache.apply(upsert(slice("web-b", "web", ["10.0.0.1"])));
    cache.apply(upsert(slice("web-b", "web", ["10.0.0.9"])));
    expect(cache.endpointSlices("default", "web").map((s) => s.endpoints)).toEqual([[{ addresses: ["10.0.0.9"] }]]);
    cache.apply(upsert(slice("web-a", "web", ["10.0.0.2"])));
    cache.apply(upsert(slice("web-c", "web", ["10.0.0.3"])));
    expect(cache.endpointSlices("default", "web").map((s) => s.metadata.name)).toEqual(["web-a", "web-b", "web-c"]);
    cache.apply(remove(slice("web-b", "web", [])));
    cache.apply(remove(slice("web-a", "web", [])));
    expect(cache.endpointSlices("default", "web").map((s) => s.metadata.name)).toEqual(["web-c"]);
    cache.apply(upsert(slice("web-a", "web", ["10.0.0.2"])));
    expect(cache.endpointSlices("default", "web").map((s) => s.metadata.name)).toEqual(["web-a", "web-c"]);
    cache.apply(remove(slice("web-a", "web", [])));
    cache.apply(remove(slice("web-c", "web", [])));
    expect(cache.endpointSlices("default", "web")).toEqual([]);
    expect(cache.endpointSliceServices()).toEqual([]);
  });

  test("unchanged objects affect nothing: same resourceVersion, or equal content without one", () => {
    const cache = createObjectCache({ ingressClassNames: [] });
    const web = ingress("site", { defaultBackend: backend("web") });
    cache.apply(upsert(web));
    expect(cache.apply(upsert(ingress("site", { defaultBackend: backend("web") })))).toEqual(nothing);
    cache.apply(upsert(service("web", "default", "7")));
    expect(cache.apply(upsert({ ...service("web", "default", "7"), spec: { ports: [] } }))).toEqual(nothing);
    // A new resourceVersion with the same content (a resync, our own status write) changes nothing…
    expect(cache.apply(upsert(service("web", "default", "8")))).toEqual(nothing);
    // …a new resourceVersion with new content does.
    expect(cache.apply(upsert({ ...service("web", "default", "9"), spec: { ports: [{ port: 81 }] } })).affectsDag).toBe(true);
    expect(cache.apply(remove(ingress("never-seen", {})))).toEqual(nothing);
  });

  test("a ConfigMap affects the DAG only while a BackendTLSPolicy names it as a CA, and is kept as its ca.crt only", () => {
    const cache = createObjectCache({ ingressClassNames: [] });
    const configMap = (name: string, version: string): KubeObject => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: "apps", resourceVersion: version, labels: { big: "yes" } }, data: { "ca.crt": `PEM ${version}`, "app.conf": "x".repeat(1000) } });
    const policy = (caRefs: Array<Record<string, string>>): KubeObject => ({ apiVersion: "gateway.networking.k8s.io/v1", kind: "BackendTLSPolicy", metadata: { name: "p", namespace: "apps" }, spec: { targetRefs: [{ group: "", kind: "Service", name: "s" }], validation: { caCertificateRefs: caRefs, hostname: "s.internal" } } });
    expect(cache.apply(upsert(configMap("ca", "1")))).toEqual(nothing);
    cache.apply(upsert(policy([{ group: "", kind: "ConfigMap", name: "ca" }, { group: "", kind: "Secret", name: "ca-secret" }])));
    expect(cache.apply(upsert(configMap("ca", "2"))).affectsDag).toBe(true);
    expect(cache.isReferenced("Secret", "apps", "ca-secret")).toBe(true);
    expect(cache.configMap("apps", "ca")).toEqual({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "ca", namespace: "apps", resourceVersion: "2" }, data: { "ca.crt": "PEM 2" } } as never);
    // Another namespace's ConfigMap of the same name, and one of another group's kind, are not named.
    expect(cache.apply(upsert({ ...configMap("ca", "3"), metadata: { name: "ca", namespace: "other", resourceVersion: "3" } }))).toEqual(nothing);
    cache.apply(upsert(policy([{ group: "example.com", kind: "ConfigMap", name: "ca" }])));
    expect(cache.apply(upsert(configMap("ca", "4")))).toEqual(nothing);
  });
});

describe("object cache: the agent's own status writes", () => {
  test("a change of status and resourceVersion only is stored but affects nothing; a spec change still does", () => {
    const cache = createObjectCache({ ingressClassNames: [] });
    cache.apply(upsert(ingress("site", { defaultBackend: backend("web") }, { resourceVersion: "1", generation: 1 })));
    const withStatus = { ...ingress("site", { defaultBackend: backend("web") }, { resourceVersion: "2", generation: 1 }), status: { loadBalancer: { ingress: [{ ip: "192.0.2.1" }] } } };
    expect(cache.apply(upsert(withStatus))).toEqual(nothing);
    expect(cache.ingresses()[0]!.status).toEqual(withStatus.status); // the status writer sees what it wrote
    expect(cache.ingresses()[0]!.metadata.resourceVersion).toBe("2");
    const respec = { ...ingress("site", { defaultBackend: backend("other") }, { resourceVersion: "3", generation: 2 }), status: withStatus.status };
    expect(cache.apply(upsert(respec)).affectsDag).toBe(true);
    const relabel = { ...respec, metadata: { ...respec.metadata, resourceVersion: "4", labels: { team: "a" } } };
    expect(cache.apply(upsert(relabel)).affectsDag).toBe(true);
  });
});

describe("object cache: filtering and slimming", () => {
  test("Secrets other than TLS and Opaque never reach the cache; changing type to one removes it", () => {
    const cache = createObjectCache({ ingressClassNames: [] });
    cache.apply(upsert(secret("token", "kubernetes.io/service-account-token")));
    cache.apply(upsert(secret("helm", "helm.sh/release.v1")));
    cache.apply(upsert(secret("opaque", "Opaque")));
    cache.apply(upsert({ ...secret("untyped"), type: undefined }));
    cache.apply(upsert(secret("tls")));
    expect(cache.secrets().map((s) => s.metadata.name)).toEqual(["opaque", "tls", "untyped"]);
    cache.apply(upsert(ingress("i", { tls: [{ secretName: "tls" }] })));
    expect(cache.apply(upsert(secret("tls", "kubernetes.io/dockerconfigjson"))).affectsDag).toBe(true);
    expect(cache.secret("default", "tls")).toBeUndefined();
  });

  test("managedFields and the last-applied annotation are stripped, without mutating the input", () => {
    const cache = createObjectCache({ ingressClassNames: [] });
    const raw = {
      ...service("web"),
      metadata: {
        name: "web",
        namespace: "default",
        managedFields: [{ manager: "kubectl" }],
        annotations: { [lastAppliedAnnotation]: "{...}", keep: "me" },
      },
    } as KubeObject;
    cache.apply(upsert(raw));
    const stored = cache.service("default", "web")!;
    expect(stored.metadata).toEqual({ name: "web", namespace: "default", annotations: { keep: "me" } });
    expect((raw.metadata as { managedFields?: unknown }).managedFields).toBeDefined();
  });

  test("watchNamespaces keeps only objects in those namespaces", () => {
    const cache = createObjectCache({ ingressClassNames: [], watchNamespaces: ["apps"] });
    cache.apply(upsert(service("a", "apps")));
    cache.apply(upsert(service("b", "other")));
    expect(cache.services().map((s) => s.metadata.name)).toEqual(["a"]);
  });

  test("kinds and apiVersions the DAG does not read are ignored", () => {
    const cache = createObjectCache({ ingressClassNames: [] });
    const deployment = { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "d", namespace: "default" } };
    expect(cache.apply(upsert(deployment))).toEqual(nothing);
    expect(cache.apply(upsert({ ...ingress("old", {}), apiVersion: "extensions/v1beta1" }))).toEqual(nothing);
    expect(cache.counts()).toEqual({
      Ingress: 0,
      HTTPProxy: 0,
      TLSCertificateDelegation: 0,
      Service: 0,
      Secret: 0,
      ConfigMap: 0,
      EndpointSlice: 0,
      Namespace: 0,
      GatewayClass: 0,
      Gateway: 0,
      HTTPRoute: 0,
      GRPCRoute: 0,
      TLSRoute: 0,
      TCPRoute: 0,
      ReferenceGrant: 0,
      BackendTLSPolicy: 0,
    });
  });

  test("ingress class: annotation wins over spec.ingressClassName; no class is served for the default", () => {
    const classed = (name: string, spec?: string, annotation?: string) =>
      ingress(name, spec ? { ingressClassName: spec } : {}, annotation ? { annotations: { "kubernetes.io/ingress.class": annotation } } : {});
    const objects = [
      classed("none"),
      classed("contour-spec", "contour"),
      classed("internal-spec", "internal"),
      classed("annotation-wins", "contour", "internal"),
      classed("annotation-contour", "internal", "contour"),
    ];
    const served = (names: string[]) => {
      const cache = createObjectCache({ ingressClassNames: names });
      cache.applyAll(objects.map(upsert));
      return cache.ingresses().map((i) => i.metadata.name);
    };
    expect(served([])).toEqual(["annotation-contour", "contour-spec", "none"]);
    expect(served(["contour"])).toEqual(["annotation-contour", "contour-spec", "none"]);
    expect(served(["internal"])).toEqual(["annotation-wins", "internal-spec"]);
  });

  test("an Ingress whose class changes away is removed and affects the DAG", () => {
    const cache = createObjectCache({ ingressClassNames: ["contour"] });
    cache.apply(upsert(ingress("i", { ingressClassName: "contour", defaultBackend: backend("web") })));
    const result = cache.apply(upsert(ingress("i", { ingressClassName: "nginx", defaultBackend: backend("web") })));
    expect(result.affectsDag).toBe(true);
    expect(cache.ingresses()).toEqual([]);
    expect(cache.isReferenced("Service", "default", "web")).toBe(false);
    expect(cache.apply(upsert(ingress("j", { ingressClassName: "nginx" })))).toEqual(nothing);
  });

  test("HTTPProxies are filtered by class too", () => {
    const cache = createObjectCache({ ingressClassNames: ["internal"] });
    const proxy = (name: string, ingressClassName?: string): KubeObject => ({
      apiVersion: "projectcontour.io/v1",
      kind: "HTTPProxy",
      metadata: { name, namespace: "default" },
      spec: ingressClassName ? { ingressClassName } : {},
    });
    cache.applyAll([upsert(proxy("a", "internal")), upsert(proxy("b")), upsert(proxy("c", "external"))]);
    expect(cache.httpProxies().map((p) => p.metadata.name)).toEqual(["a"]);
  });
});

describe("object cache at scale", () => {
  test("10k Ingresses, Services, EndpointSlices and 5k Secrets apply, with lookups by name", () => {
    const cache = createObjectCache({ ingressClassNames: [] });
    const events: SourceEvent[] = [];
    for (let i = 0; i < 10_000; i++) {
      events.push(upsert(ingress(`ing-${i}`, { tls: i < 5000 ? [{ secretName: `cert-${i}` }] : [], defaultBackend: backend(`svc-${i}`) })));
      events.push(upsert(service(`svc-${i}`)));
      events.push(upsert(slice(`svc-${i}-abc`, `svc-${i}`, ["10.0.0.1", "10.0.0.2", "10.0.0.3"])));
      if (i < 5000) events.push(upsert(secret(`cert-${i}`)));
    }
    const result = cache.applyAll(events);
    expect(result.affectsDag).toBe(true);
    expect(result.endpointServices).toHaveLength(10_000);
    expect(cache.ingresses()).toHaveLength(10_000);
    expect(cache.endpointSlices("default", "svc-9999")).toHaveLength(1);
    expect(cache.isReferenced("Secret", "default", "cert-4999")).toBe(true);
    expect(cache.counts()).toMatchObject({ Ingress: 10_000, Service: 10_000, EndpointSlice: 10_000, Secret: 5000 });
  });
});
