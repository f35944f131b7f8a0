// One full build, as a pure function of the cache: DAG → Envoy resources → load assignments →
// validation. What the validator rejects is left out and becomes a condition on the objects that
// produced it. Used by `agent serve` on every rebuild, by `agent validate`, golden tests and benchmarks.
import { buildDag } from "../dag/builder.ts";
import { gatewayApiInput } from "../dag/gateway-api-input.ts";
import type { DagOptions } from "../dag/processor.ts";
import type { ObjectStatus } from "../dag/status.ts";
import type { Dag } from "../dag/types.ts";
import { loadAssignments, type EndpointPolicy, type EndpointProblem, type EndpointSliceLookup } from "../envoy/endpoint.ts";
import { translate, type TranslateOptions } from "../envoy/translate.ts";
import type { ObjectCache } from "./cache.ts";
import { resourceKind, TypeUrls, typeInfo, type ResourceSet } from "../xds/types.ts";
import { validateSnapshot, type RejectedResource } from "../xds/validate-snapshot.ts";
import { resourceOwners, type ResourceOwners } from "./owners.ts";

export interface BuildOptions {
  dag: DagOptions;
  translate?: TranslateOptions;
  /** Which EndpointSlice addresses are served (default: unicast addresses of other hosts only). */
  endpoints?: EndpointPolicy;
}

export interface BuildResult {
  dag: Dag;
  /** The validated, consistent set to publish. */
  resources: ResourceSet;
  /** What the validator left out (or pruned), with the reasons. */
  rejected: RejectedResource[];
  owners: ResourceOwners;
  statuses: ObjectStatus[];
  /** EndpointSlice addresses and ports left out (also warnings on their Services' statuses). */
  endpointProblems: EndpointProblem[];
  /** Milliseconds per stage. */
  timings: { dag: number; translate: number; endpoints: number; validate: number; total: number };
}

export type BuildInput = Pick<ObjectCache, "ingresses" | "httpProxies" | "tlsCertificateDelegations" | "service" | "secret" | "endpointSlices"> & Partial<Pick<ObjectCache, "gatewayApi">>;

export function buildResources(input: BuildInput, options: BuildOptions): BuildResult {
  const t0 = performance.now();
  const dag = buildDag(input, options.dag);
  // Which Gateway is served and its status; its listeners and routes are not processed yet.
  gatewayApiInput({ input, options: options.dag, status: dag.status });
  const t1 = performance.now();
  const translation = translate(dag, options.translate);
  const t2 = performance.now();
  const lookup: EndpointSliceLookup = (namespace, name) => input.endpointSlices(namespace, name);
  const endpointProblems: EndpointProblem[] = [];
  const endpoints = loadAssignments(dag.clusters.values(), lookup, {
    policy: options.endpoints,
    report: (problem) => {
      endpointProblems.push(problem);
      dag.status.warning({ kind: "Service", ...problem.service }, { type: "EndpointError", reason: problem.reason, message: problem.message });
    },
  });
  const t3 = performance.now();
  const { valid, rejected } = validateSnapshot({ ...translation, endpoints });
  const t4 = performance.now();
  const owners = resourceOwners(dag);
  recordRejections(dag, owners, rejected, { ...translation, endpoints });
  return {
    dag,
    resources: valid,
    rejected,
    owners,
    statuses: dag.status.all(),
    endpointProblems,
    timings: { dag: t1 - t0, translate: t2 - t1, endpoints: t3 - t2, validate: t4 - t3, total: t4 - t0 },
  };
}

/** Puts each rejection on the objects behind it: the whole resource's owners, or the broken virtual host's. */
function recordRejections(dag: Dag, owners: ResourceOwners, rejected: RejectedResource[], given: ResourceSet): void {
  for (const rejection of rejected) {
    const kind = resourceKind(rejection.typeUrl);
    const resource = resourceNamed(given, rejection.typeUrl, rejection.name);
    for (const error of rejection.errors) {
      const refs = ownersOfError(owners, rejection, resource, error.path);
      const message = `Envoy would reject ${kind} ${JSON.stringify(rejection.name)}${rejection.partial ? " (the rest of it is still served)" : ""}: ${error.path}: ${error.message}`;
      for (const ref of refs) dag.status.error(ref, { type: "EnvoyConfigError", reason: "ResourceRejected", message });
    }
  }
}

function resourceNamed(set: ResourceSet, typeUrl: string, name: string): Record<string, unknown> | undefined {
  const byType: Record<string, object[]> = { [TypeUrls.listener]: set.listeners, [TypeUrls.route]: set.routes, [TypeUrls.cluster]: set.clusters, [TypeUrls.endpoint]: set.endpoints, [TypeUrls.secret]: set.secrets };
  const nameField = typeInfo(typeUrl)?.nameField;
  return nameField && (byType[typeUrl] as Array<Record<string, unknown>> | undefined)?.find((r) => r[nameField] === name);
}

function ownersOfError(owners: ResourceOwners, rejection: RejectedResource, resource: Record<string, unknown> | undefined, path: string) {
  // Route configs and listeners are pruned per virtual host / filter chain: blame only that one.
  const item = /^(virtual_hosts|filter_chains)\[(\d+)\]/.exec(path);
  if (item && resource) {
    const entry = (resource[item[1]!] as Array<Record<string, unknown>> | undefined)?.[Number(item[2])];
    const vhostName = item[1] === "virtual_hosts" ? entry?.name : ((entry?.filter_chain_match as { server_names?: string[] } | undefined)?.server_names ?? [])[0];
    if (typeof vhostName === "string") {
      const refs = owners.ofVirtualHost(vhostName);
      if (refs.length > 0) return refs;
    }
  }
  return owners.of(rejection.typeUrl, rejection.name);
}
