// Conditions the DAG builder records on source objects. Processors never throw on user input: they
// record an error or warning here, naming the objects involved, and skip what is invalid.
// Shape follows Contour's HTTPProxy status (currentStatus, description, a Valid condition with
// errors and warnings), which the status writer turns into each kind's own status.
import { compareStrings } from "../base/values.ts";
import { CopyOnWriteMap } from "./cow-map.ts";

export interface ObjectRef {
  kind: string; // "Ingress", "HTTPProxy", "Service", "Secret", "TLSCertificateDelegation"
  namespace: string;
  name: string;
}

export const refKey = (ref: ObjectRef): string => `${ref.kind} ${ref.namespace}/${ref.name}`;

// Most objects are valid, without errors or warnings: their status shares one frozen empty list
// and one description string per kind (at 100k objects a fresh array and string each cost MBs).
// The recorder replaces a list to add to it, never pushes.
const emptyConditions: SubCondition[] = Object.freeze([]) as unknown as SubCondition[];
const noConditions = (): SubCondition[] => emptyConditions;
const validDescriptions = new Map<string, string>();
function validDescription(kind: string): string {
  let description = validDescriptions.get(kind);
  if (description === undefined) validDescriptions.set(kind, (description = `Valid ${kind}`));
  return description;
}

/** One error or warning: a machine-readable type and reason, a message a user can act on. */
export interface SubCondition {
  type: string; // Contour's error types: "IncludeError", "ServiceError", "TLSError", "VirtualHostError", "RouteError", …
  reason: string; // stable, CamelCase: "IncludeCreatesCycle", "ServiceUnresolvedReference", "SecretNotValid", …
  message: string; // names the objects: "include creates an include cycle: roots/parent -> roots/child -> roots/parent"
}

export type CurrentStatus = "valid" | "invalid" | "orphaned";

/** A Kubernetes condition of a Gateway API object (metav1.Condition without its transition time). */
export interface KubeCondition {
  type: string;
  status: "True" | "False" | "Unknown";
  reason: string;
  message: string;
}

export interface ObjectStatus {
  ref: ObjectRef;
  generation?: number;
  currentStatus: CurrentStatus;
  description: string;
  errors: SubCondition[];
  warnings: SubCondition[];
  /** Gateway API kinds: the conditions written into status.conditions, in order. */
  conditions?: KubeCondition[];
  /** A Gateway's status.listeners (gateway-processor.ts). */
  listeners?: GatewayListenerStatus[];
  /** A route's status.parents: one per parentRef naming the served Gateway (gateway-routes.ts). */
  parents?: RouteParentStatus[];
  /** A BackendTLSPolicy's status.ancestors: the served Gateway, when a route of it sends to a target (gateway-backendtls.ts). */
  ancestors?: PolicyAncestorStatus[];
  /** Whose `ancestors` entries these replace (needed when there are none left to write). */
  controllerName?: string;
}

/** One entry of a policy's status.ancestors. */
export interface PolicyAncestorStatus {
  ancestorRef: { group: string; kind: string; namespace: string; name: string };
  controllerName: string;
  conditions: KubeCondition[];
}

/** One entry of a Gateway's status.listeners. */
export interface GatewayListenerStatus {
  name: string;
  supportedKinds: Array<{ group: string; kind: string }>;
  attachedRoutes: number;
  conditions: KubeCondition[];
}

/** One entry of a route's status.parents. */
export interface RouteParentStatus {
  parentRef: { group?: string; kind?: string; namespace?: string; name: string; sectionName?: string; port?: number };
  controllerName: string;
  conditions: KubeCondition[];
}

/**
 * Collects conditions during one build. An object with any error is invalid; one marked orphaned
 * and without errors is orphaned; otherwise valid. Descriptions follow Contour:
 * "Valid HTTPProxy", "At least one error present, see Errors for details", "this HTTPProxy is not
 * part of a delegation chain from a root HTTPProxy".
 */
export class StatusRecorder {
  readonly #statuses: Map<string, ObjectStatus>;
  /**
   * The statuses this recorder made: the others came with `shared` from an earlier build
   * (incremental.ts) and are shared with it, so they are copied before their first change, never
   * changed in place. Only a recorder started from shared statuses keeps it: in one that never is
   * (a build context's, one per incremental unit) every status is its own.
   */
  #owned: WeakSet<ObjectStatus> | undefined;
  /** In a recorder started from shared statuses: the keys whose status it made or copied. */
  readonly #written = new Set<string>();
  #revision = 0;

  /** A recorder starting from `shared` (by refKey), statuses an earlier build made. */
  constructor(shared?: ReadonlyMap<string, ObjectStatus>) {
    this.#statuses = shared ? CopyOnWriteMap.over(shared) : new Map();
    if (shared) this.#owned = new WeakSet();
  }

  /** Registers an object so it gets a status even if nothing is wrong with it. */
  track(ref: ObjectRef, generation?: number): ObjectStatus {
    this.#revision++;
    const key = refKey(ref);
    let status = this.#statuses.get(key);
    if (!status) {
      status = { ref, generation, currentStatus: "valid", description: validDescription(ref.kind), errors: noConditions(), warnings: noConditions() };
      if (this.#owned) {
        this.#owned.add(status);
        this.#written.add(key);
      }
      this.#statuses.set(key, status);
      return status;
    }
    if (this.#owned && !this.#owned.has(status)) {
      status = copyStatus(status);
      this.#owned.add(status);
      this.#written.add(key);
      this.#statuses.set(key, status);
    }
    if (generation !== undefined) status.generation = generation;
    return status;
  }

  error(ref: ObjectRef, condition: SubCondition): void {
    const status = this.track(ref);
    if (!status.errors.some((e) => e.reason === condition.reason && e.message === condition.message)) status.errors = [...status.errors, condition];
    status.currentStatus = "invalid";
    status.description = "At least one error present, see Errors for details";
  }

  warning(ref: ObjectRef, condition: SubCondition): void {
    const status = this.track(ref);
    if (!status.warnings.some((e) => e.reason === condition.reason && e.message === condition.message)) status.warnings = [...status.warnings, condition];
  }

  orphaned(ref: ObjectRef, message: string): void {
    const status = this.track(ref);
    if (status.errors.length > 0) return;
    status.currentStatus = "orphaned";
    status.description = message;
    if (!status.errors.some((e) => e.reason === "Orphaned")) status.errors = [...status.errors, { type: "Orphaned", reason: "Orphaned", message }];
  }

  /** Sets a Gateway API condition (replacing one of the same type); it does not make the object invalid. */
  condition(ref: ObjectRef, generation: number | undefined, condition: KubeCondition): void {
    const status = this.track(ref, generation);
    status.conditions = [...(status.conditions ?? []).filter((c) => c.type !== condition.type), condition];
  }

  /** Sets a Gateway's listener statuses, a route's parent statuses or a policy's ancestor statuses (the Gateway API's own shapes). */
  gatewayApiStatus(ref: ObjectRef, generation: number | undefined, fields: Pick<ObjectStatus, "listeners" | "parents" | "ancestors" | "controllerName">): void {
    const status = this.track(ref, generation);
    if (fields.listeners) status.listeners = fields.listeners;
    if (fields.parents) status.parents = fields.parents;
    if (fields.ancestors) status.ancestors = fields.ancestors;
    if (fields.controllerName) status.controllerName = fields.controllerName;
  }

  get(ref: ObjectRef): ObjectStatus | undefined {
    return this.#statuses.get(refKey(ref));
  }

  /** Changes with every condition recorded (what a sorted list of all() was made at). */
  get revision(): number {
    return this.#revision;
  }

  /** The status of the object with this refKey. */
  byKey(key: string): ObjectStatus | undefined {
    return this.#statuses.get(key);
  }

  /** In a recorder started from shared statuses: the refKeys whose status this recorder made or changed (the others are the shared ones). */
  written(): ReadonlySet<string> {
    return this.#written;
  }

  /** Every status with its refKey, in no particular order. */
  entries(): IterableIterator<[string, ObjectStatus]> {
    return this.#statuses.entries();
  }

  /** All statuses, sorted by key so output is deterministic. */
  all(): ObjectStatus[] {
    return [...this.#statuses.entries()].sort(([a], [b]) => compareStrings(a, b)).map(([, s]) => s);
  }
}

/** A copy of `status` whose lists can change without changing the original's. */
function copyStatus(status: ObjectStatus): ObjectStatus {
  const copy: ObjectStatus = { ...status, errors: [...status.errors], warnings: [...status.warnings] };
  if (status.conditions) copy.conditions = [...status.conditions];
  return copy;
}
