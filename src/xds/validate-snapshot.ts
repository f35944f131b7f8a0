// Validates a whole resource set before it is published: every resource against Envoy's rules, then
// the references between them (a listener's RDS route config, an EDS cluster's load assignment, an
// SDS secret), so the published set is consistent. What fails is left out, as small as is safe:
// a route config loses only its broken virtual hosts and a listener only its broken filter chains
// (one bad Ingress must not take every host down); any other broken resource is left out whole.
import { missingReferences, referencedType, referencesOf, type ReferenceKind, type ResourceReference } from "./references.ts";
import { type ResourceSet, typeInfo, TypeUrls } from "./types.ts";
import { resourceValidator, type ValidateOptions, type ValidationError } from "./validate.ts";
import type { ValidationMemo } from "./validate-memo.ts";

export interface RejectedResource {
  typeUrl: string;
  name: string;
  /** Paths are those of the resource as it was given. */
  errors: ValidationError[];
  /**
   * True when the resource is still published without the parts the errors point into: whole
   * virtual hosts of a route config, whole filter chains of a listener. A single route is never
   * dropped alone: its traffic would fall through to a shorter prefix, perhaps another backend.
   */
  partial: boolean;
  /** When partial: the items left out (virtual hosts of a route config, filter chains of a listener), by name, with their errors. */
  parts?: RejectedPart[];
}

/** One virtual host or filter chain left out of a resource that is still published. */
export interface RejectedPart {
  name: string;
  errors: ValidationError[];
}

export interface SnapshotValidation {
  /** The publishable set: same order as given, consistent, with partial resources pruned. */
  valid: ResourceSet;
  rejected: RejectedResource[];
}

type Json = Record<string, unknown>;

export interface Stage {
  typeUrl: string;
  /** Whether its references are checked against the resources judged before it. */
  references?: boolean;
  /** The repeated field whose broken items can be dropped, keeping the rest of the resource. */
  prunable?: string;
}

/** The stages in the order that puts what is named before what names it (validateSnapshot, validate-patch.ts). */
export const snapshotStages: ReadonlyArray<Stage & { kind: "secrets" | "endpoints" | "clusters" | "routes" | "listeners" }> = [
  { kind: "secrets", typeUrl: TypeUrls.secret },
  { kind: "endpoints", typeUrl: TypeUrls.endpoint },
  { kind: "clusters", typeUrl: TypeUrls.cluster, references: true },
  { kind: "routes", typeUrl: TypeUrls.route, prunable: "virtual_hosts" },
  { kind: "listeners", typeUrl: TypeUrls.listener, prunable: "filter_chains", references: true },
];

/** What a stage's references are checked against: per type URL judged so far, whether a name was kept, and whether it was given. */
export type JudgedLookup = (typeUrl: string) => { kept(name: string): boolean; given(name: string): boolean } | undefined;

export interface SnapshotValidateOptions extends ValidateOptions {
  /** Verdicts remembered from earlier builds (validate-memo.ts): an unchanged resource is not checked again. */
  memo?: ValidationMemo;
}

/**
 * One resource's verdict in its stage: `errors` (its own, as the validator gave them, plus any the
 * caller adds) with the reference errors against `judged`; kept whole, kept pruned, or left out.
 */
export function judgeResource(stage: Stage, resource: object, errors: ValidationError[], references: ResourceReference[] | undefined, judged: JudgedLookup): { kept?: object; rejection?: RejectedResource } {
  const json = resource as Json;
  const name = String(json[typeInfo(stage.typeUrl)!.nameField] ?? "");
  if (stage.references && references) {
    for (const ref of missingReferences(references, (typeUrl, referenced) => judged(typeUrl)?.kept(referenced) ?? true)) {
      const typeUrl = referencedType[ref.kind];
      errors.push({ path: ref.path, rule: "snapshot.reference", message: `${referenceNames[ref.kind]} ${JSON.stringify(ref.name)} ${judged(typeUrl)!.given(ref.name) ? "was rejected" : "is not in the snapshot"}` });
    }
  }
  if (errors.length === 0) return { kept: resource };
  const pruned = stage.prunable ? prune(json, stage.prunable, errors) : undefined;
  if (pruned) return { kept: pruned.resource, rejection: { typeUrl: stage.typeUrl, name, errors, partial: true, parts: pruned.parts } };
  return { rejection: { typeUrl: stage.typeUrl, name, errors, partial: false } };
}

/** Validates each resource of `set` and the references between them; see SnapshotValidation. */
export function validateSnapshot(set: ResourceSet, options: SnapshotValidateOptions = {}): SnapshotValidation {
  const rejected: RejectedResource[] = [];
  const validator = resourceValidator(options);
  const { memo } = options;
  const check = (typeUrl: string, resource: object) => (memo ? memo.validate(validator, typeUrl, resource) : validator.validate(typeUrl, resource));
  const judged = new Map<string, { names: Set<string>; given: object[] }>();
  const lookup: JudgedLookup = (typeUrl) => {
    const stage = judged.get(typeUrl);
    if (!stage) return undefined;
    const nameField = typeInfo(typeUrl)!.nameField;
    return { kept: (name) => stage.names.has(name), given: (name) => stage.given.some((r) => (r as Json)[nameField] === name) };
  };
  // A stage given the very resources it judged last time, checking references against the same
  // outcomes of the stages before it, has the same outcome (the memo's resources never change).
  const judge = (resources: object[], stage: Stage, dependsOn: readonly unknown[] = []): { kept: object[]; names: Set<string> } => {
    if (!memo) return judgeNow(resources, stage).outcome;
    const { outcome, rejections } = memo.stage(validator, stage.typeUrl, resources, dependsOn, () => judgeNow(resources, stage));
    rejected.push(...rejections);
    // The caller owns the list it is given (the remembered one stays as it was).
    return { kept: [...outcome.kept], names: outcome.names };
  };
  const judgeNow = (resources: object[], stage: Stage): { outcome: { kept: object[]; names: Set<string> }; rejections: RejectedResource[] } => {
    const rejectedBefore = rejected.length;
    const kept: object[] = [];
    const names = new Set<string>();
    const seen = new Set<string>();
    const nameField = typeInfo(stage.typeUrl)!.nameField;
    for (const resource of resources as Json[]) {
      const name = String(resource[nameField] ?? "");
      const errors = check(stage.typeUrl, resource);
      if (seen.has(name)) errors.push({ path: "name", rule: "snapshot.unique_name", message: `another resource of this type is already named ${JSON.stringify(name)}` });
      seen.add(name);
      const references = stage.references ? (memo ? memo.references(stage.typeUrl, resource) : referencesOf(stage.typeUrl, resource)) : undefined;
      const verdict = judgeResource(stage, resource, errors, references, lookup);
      if (verdict.rejection) rejected.push(verdict.rejection);
      if (verdict.kept) {
        kept.push(verdict.kept);
        names.add(name);
      }
    }
    // Without a memo the rejections stay where they were pushed; with one, the caller adds them (again, when reused).
    const rejections = memo ? rejected.splice(rejectedBefore) : [];
    return { outcome: { kept, names }, rejections };
  };

  const [secretStage, endpointStage, clusterStage, routeStage, listenerStage] = snapshotStages;
  const secrets = judge(set.secrets, secretStage!);
  const endpoints = judge(set.endpoints, endpointStage!);
  judged.set(TypeUrls.secret, { names: secrets.names, given: set.secrets });
  judged.set(TypeUrls.endpoint, { names: endpoints.names, given: set.endpoints });
  const clusters = judge(set.clusters, clusterStage!, [secrets.names, endpoints.names]);
  const routes = judge(set.routes, routeStage!);
  judged.set(TypeUrls.route, { names: routes.names, given: set.routes });
  const listeners = judge(set.listeners, listenerStage!, [secrets.names, endpoints.names, routes.names]);
  return {
    valid: { listeners: listeners.kept, routes: routes.kept, clusters: clusters.kept, endpoints: endpoints.kept, secrets: secrets.kept },
    rejected,
  };
}

const referenceNames: Record<ReferenceKind, string> = { routeConfig: "route config", cluster: "cluster", endpoint: "load assignment", secret: "secret" };

/**
 * The resource without the items of `field` that errors point into, with those items' names and
 * errors, or undefined when an error lies elsewhere or nothing would be left.
 */
function prune(resource: Json, field: string, errors: ValidationError[]): { resource: Json; parts: RejectedPart[] } | undefined {
  const broken = new Map<number, ValidationError[]>();
  const itemPath = new RegExp(`^${field}\\[(\\d+)\\]`);
  for (const error of errors) {
    const match = itemPath.exec(error.path);
    if (!match) return undefined;
    const index = Number(match[1]);
    broken.set(index, [...(broken.get(index) ?? []), error]);
  }
  const items = resource[field] as Json[];
  const left = items.filter((_, i) => !broken.has(i));
  // A listener with no filter chain left accepts connections only to close them: leave it out.
  if (left.length === 0 && field === "filter_chains" && !resource.default_filter_chain) return undefined;
  const parts = [...broken].sort(([a], [b]) => a - b).map(([index, itemErrors]) => ({ name: String(items[index]?.name ?? ""), errors: itemErrors }));
  return { resource: { ...resource, [field]: left }, parts };
}
