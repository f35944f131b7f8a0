// The contract between the DAG builder and the processors (one per input API). The builder makes a
// BuildContext, runs each processor over it, and returns the Dag. Processors never throw on user
// input: they record a condition through ctx.status and skip what is invalid.
import type { KubeObject } from "../sources/types.ts";
import type { GatewayApiObjects } from "./gateway-api-types.ts";
import type { DagCache } from "./cache.ts";
import type { ServiceClusterMemo } from "./service-cluster-memo.ts";
import type { Cluster, Dag, SecureVirtualHost, Secret, ServicePortRef, UpstreamProtocol, VirtualHost, ResolvedService } from "./types.ts";
import type { ListenerOptions } from "./listeners.ts";
import type { ObjectRef, StatusRecorder, SubCondition } from "./status.ts";

/** What processors read: the object cache, already filtered (ingress class, namespaces). */
export interface DagInput {
  ingresses(): KubeObject[];
  httpProxies(): KubeObject[];
  tlsCertificateDelegations(): KubeObject[];
  service(namespace: string, name: string): KubeObject | undefined;
  secret(namespace: string, name: string): KubeObject | undefined;
  /** A ConfigMap (its `ca.crt` only: BackendTLSPolicy CA bundles); absent where an input holds none (tests). */
  configMap?(namespace: string, name: string): KubeObject | undefined;
  /** One Ingress by name, where the input can find it without a scan (the incremental build asks). */
  ingress?(namespace: string, name: string): KubeObject | undefined;
  /** One HTTPProxy by name, likewise. */
  httpProxy?(namespace: string, name: string): KubeObject | undefined;
  /** Gateway API objects and Namespaces (labels); absent where an input holds none (tests). */
  gatewayApi?(): GatewayApiObjects;
}

export interface DagOptions {
  /** Ingress classes served; an Ingress with no class is served too (Contour's default). */
  ingressClassNames: string[];
  /** Namespaces root HTTPProxies may live in; empty means any. */
  rootNamespaces: string[];
  /** `namespace/name` of the fallback certificate Secret, if any. */
  fallbackCertificate?: { namespace: string; name: string };
  /** `namespace/name` of the client certificate presented to TLS upstreams, if any. */
  upstreamClientCertificate?: { namespace: string; name: string };
  /** ExternalName Services are refused unless this is set (and never to loopback/link-local). */
  enableExternalNameService: boolean;
  /** Clock for certificate expiry checks; tests pin it. */
  now: () => Date;
  /**
   * Check HTTPProxy and TLSCertificateDelegation objects against our CRDs' OpenAPI schemas, as an
   * API server would (an object that fails is invalid, SpecNotValid, and not served). On for
   * manifests, which never went through an API server; off for objects a cluster already checked
   * against the CRD installed there (which may be another version of Contour's).
   */
  checkCrdSchema?: boolean;
  /** Which Gateway API GatewayClass and Gateway this agent serves (gateway-select.ts). */
  gateway?: {
    /** --gateway-controller-name; default projectcontour.io/gateway-controller. */
    controllerName?: string;
    /** --gateway-ref NAMESPACE/NAME. */
    gatewayRef?: { namespace: string; name: string };
    /** The bundle version of the cluster's Gateway API CRDs, once read (undefined: unknown). */
    bundleVersion?: () => string | undefined;
  };
  /**
   * What builds remember of unchanged objects (schema errors, typed specs, parsed Secrets), held by
   * whoever runs the builds; without one, each build starts from nothing.
   */
  cache?: DagCache;
  /** HTTPProxy routes' permitInsecure is ignored: plaintext requests to a TLS host always redirect (Contour's disablePermitInsecure). */
  disablePermitInsecure?: boolean;
  /** Contour's global header policies, on every HTTPProxy route (and Ingress route with applyToIngress). */
  globalHeaders?: GlobalHeaderPolicies;
  /** Where Envoy's listeners listen (default 0.0.0.0, 8080 and 8443). */
  listeners?: ListenerOptions;
}

export interface GlobalHeaderPolicies {
  requestHeaders: { set: Record<string, string>; remove: string[] };
  responseHeaders: { set: Record<string, string>; remove: string[] };
  applyToIngress: boolean;
}

/** A Service port resolved for a backend reference (defined beside the DAG types). */
export type { ResolvedService };

/**
 * The result of a lookup. `cause` is the bare reason without the condition's prefix (Contour's
 * wording, e.g. `service "ns/name" not found`), for processors that phrase their own message.
 */
export type Lookup<T> = { ok: T } | { error: SubCondition; cause?: string };

export interface BuildContext {
  readonly input: DagInput;
  readonly options: DagOptions;
  readonly status: StatusRecorder;
  readonly dag: Dag;
  /** options.cache, or one for this build alone. */
  readonly cache: DagCache;
  /** The clusters serviceCluster (httpproxy-services.ts) already made in this build. */
  readonly serviceClusters: ServiceClusterMemo;

  /** The plaintext virtual host for an fqdn (created on first use); `source` is recorded on it. */
  virtualHost(fqdn: string, source: ObjectRef): VirtualHost;
  /** The TLS virtual host for an fqdn (created on first use, TLS 1.2–1.3, no secret yet). */
  secureVirtualHost(fqdn: string, source: ObjectRef): SecureVirtualHost;

  /** Resolves a Service port by number or name in `namespace`; errors are ServiceUnresolvedReference. */
  lookupService(namespace: string, name: string, port: number | string): Lookup<ResolvedService>;

  /** Interns a cluster: equal settings give the same Cluster object and name. Adds it to dag.clusters. */
  cluster(settings: Omit<Cluster, "name" | "edsServiceName">): Cluster;

  /**
   * A validated TLS Secret (type kubernetes.io/tls, PEM parses, key matches certificate, not expired),
   * enforcing TLSCertificateDelegation when the Secret is in another namespace than `from`.
   * Adds it to dag.secrets.
   */
  lookupTlsSecret(namespace: string, name: string, from: ObjectRef): Lookup<Secret>;
  /** As lookupTlsSecret but without the delegation check: for the fallback certificate only. */
  lookupTlsSecretUnchecked(namespace: string, name: string): Lookup<Secret>;
  /** A CA bundle (`ca.crt`) from a Secret, for client or upstream validation. */
  lookupCaSecret(namespace: string, name: string, from: ObjectRef): Lookup<Secret>;
  /** A CRL (`crl.pem`) from a Secret. */
  lookupCrlSecret(namespace: string, name: string, from: ObjectRef): Lookup<Secret>;

  /**
   * The client certificate presented to TLS upstreams (options.upstreamClientCertificate), looked
   * up once per build without a delegation check; undefined when not configured.
   */
  upstreamClientCertificate(): Lookup<Secret> | undefined;

  /** undefined when `regex` is valid RE2 within the size bound, else why not. */
  checkRegex(regex: string): string | undefined;
}

/** A processor reads one input API from ctx.input and writes into ctx.dag, recording status. */
export type Processor = (ctx: BuildContext) => void;
