// `agent validate`: manifests through the same path `agent serve` takes (loadManifests → object
// cache → DAG → translator → validator), offline, once. The report holds each object's status with
// where it was defined, the resources the validator left out, the source problems (files that do
// not parse), and the route table of what would be served.
import type { DagOptions } from "../dag/processor.ts";
import type { KubeCondition, ObjectStatus, SubCondition } from "../dag/status.ts";
import type { EndpointPolicy } from "../envoy/endpoint.ts";
import type { TranslateOptions } from "../envoy/translate.ts";
import { buildResources } from "../pipeline/build.ts";
import { createObjectCache } from "../pipeline/cache.ts";
import { loadManifests } from "../sources/manifests.ts";
import { kindKey, type KubeObject, type ObjectOrigin, type SourceEvent, type SourceProblem } from "../sources/types.ts";
import { resourceKind } from "../xds/types.ts";
import type { RejectedResource } from "../xds/validate-snapshot.ts";
import { routeTable, type RouteRow } from "./routes.ts";

export interface ObjectReport {
  kind: string;
  namespace: string;
  name: string;
  currentStatus: "valid" | "invalid" | "orphaned";
  description: string;
  errors: SubCondition[];
  warnings: SubCondition[];
  /** Gateway API kinds: the conditions the status writer would write. */
  conditions?: KubeCondition[];
  /** A Gateway's listener statuses, a route's parent statuses (Gateway API). */
  listeners?: ObjectStatus["listeners"];
  parents?: ObjectStatus["parents"];
  /** A BackendTLSPolicy's ancestor statuses. */
  ancestors?: ObjectStatus["ancestors"];
  file?: string;
  line?: number;
}

export interface ValidationReport {
  objects: ObjectReport[];
  rejected: Array<{ kind: string; name: string; partial: boolean; errors: Array<{ path: string; message: string }> }>;
  problems: Array<{ message: string; file?: string; line?: number }>;
  /** Ingresses and HTTPProxies the agent would not serve (another ingress class): no status, not an error. */
  ignored: Array<{ kind: string; namespace: string; name: string; reason: string }>;
  routes: RouteRow[];
  /** True when every object is valid and every file parsed. */
  valid: boolean;
}

export interface ValidateOptions {
  dag: DagOptions;
  translate?: TranslateOptions;
  endpoints?: EndpointPolicy;
}

/** Validates the manifests under `paths` (files or directories). Throws when a path does not exist. */
export async function validateManifests(paths: string[], options: ValidateOptions): Promise<ValidationReport> {
  const seen = new Map<string, ObjectOrigin>();
  const events: SourceEvent[] = [];
  const problems: SourceProblem[] = [];
  for (const path of paths) {
    const loaded = await loadManifests(path);
    problems.push(...loaded.problems);
    for (const { object, origin } of loaded.objects) {
      const key = kindKey(object);
      const first = seen.get(key);
      if (first) {
        problems.push({ source: origin.source, file: origin.file, line: origin.line, message: `${where(origin)}: ${key} is already defined at ${where(first)}; this one is ignored` });
        continue;
      }
      seen.set(key, origin);
      events.push({ type: "upsert", object: object as KubeObject, origin });
    }
  }
  const cache = createObjectCache({
    ingressClassNames: options.dag.ingressClassNames,
    fallbackCertificate: options.dag.fallbackCertificate,
    upstreamClientCertificate: options.dag.upstreamClientCertificate,
  });
  cache.applyAll(events);
  const result = buildResources(cache, { dag: options.dag, translate: options.translate, endpoints: options.endpoints });
  const objects = result.statuses.map((status): ObjectReport => {
    const origin = seen.get(`${status.ref.kind} ${status.ref.namespace ? `${status.ref.namespace}/` : ""}${status.ref.name}`);
    return {
      kind: status.ref.kind,
      namespace: status.ref.namespace,
      name: status.ref.name,
      currentStatus: status.currentStatus,
      description: status.description,
      errors: status.errors,
      warnings: status.warnings,
      ...(status.conditions === undefined ? {} : { conditions: status.conditions }),
      ...(status.listeners === undefined ? {} : { listeners: status.listeners }),
      ...(status.parents === undefined ? {} : { parents: status.parents }),
      ...(status.ancestors === undefined ? {} : { ancestors: status.ancestors }),
      ...(origin?.file === undefined ? {} : { file: origin.file }),
      ...(origin?.line === undefined ? {} : { line: origin.line }),
    };
  });
  const judged = new Set(objects.map((o) => `${o.kind} ${o.namespace}/${o.name}`));
  const ignored = events
    .map((event) => event.object)
    .filter((object) => routingKinds.has(object.kind) && !judged.has(`${object.kind} ${object.metadata.namespace ?? ""}/${object.metadata.name}`))
    .map((object) => ({ kind: object.kind, namespace: object.metadata.namespace ?? "", name: object.metadata.name, reason: ignoredReasons[object.kind]! }));
  return {
    objects,
    rejected: result.rejected.map(rejectedReport),
    problems: problems.map((p) => ({ message: p.message, ...(p.file === undefined ? {} : { file: p.file }), ...(p.line === undefined ? {} : { line: p.line }) })),
    ignored,
    routes: routeTable(result.resources, result.dag),
    valid: problems.length === 0 && objects.every((o) => o.currentStatus === "valid"),
  };
}

const ignoredReasons: Record<string, string> = {
  Ingress: "its ingress class is not one this agent serves (see --ingress-class-name)",
  HTTPProxy: "its ingress class is not one this agent serves (see --ingress-class-name)",
  GatewayClass: "not served by this agent: another controller's (see --gateway-controller-name), or not the class of the Gateway of --gateway-ref",
  Gateway: "not served by this agent: another controller's GatewayClass, or not the Gateway of --gateway-ref",
};
const routingKinds = new Set(Object.keys(ignoredReasons));

function rejectedReport(rejected: RejectedResource): ValidationReport["rejected"][number] {
  return {
    kind: resourceKind(rejected.typeUrl),
    name: rejected.name,
    partial: rejected.partial,
    errors: rejected.errors.map((e) => ({ path: e.path, message: e.message })),
  };
}

function where(origin: ObjectOrigin): string {
  return origin.line === undefined ? (origin.file ?? origin.source) : `${origin.file}:${origin.line}`;
}
