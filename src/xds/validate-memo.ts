// Validation verdicts remembered by resource JSON object from one build to the next, held by whoever
// runs the builds (the pipeline): a translation that did not change hands over the same object
// (envoy/translate-memo.ts), so it is not checked again. A large resource is judged entry by entry
// (the virtual hosts of a route config, the filter chains of a listener): when its other fields and
// every entry pass, it passes, so one changed virtual host costs one virtual host's check. When
// anything fails, the whole resource is checked the plain way, so the errors and their paths are
// exactly the plain validator's.
import type { ResourceValidator, ValidationError } from "./validate.ts";
import { sameItems } from "../base/values.ts";
import { TypeUrls } from "./types.ts";
import { referencesOf, type ResourceReference } from "./references.ts";

/**
 * The repeated fields judged entry by entry, per type. Neither has a rule of its own (min or max
 * items) nor a load-time check across entries in validate-envoy.ts, so the resource passes exactly
 * when it passes with the field empty and each entry passes alone; the route config's direct
 * response body limit is checked per virtual host, so a route config that sets it is judged whole.
 */
const entryFields: Record<string, string> = { [TypeUrls.route]: "virtual_hosts", [TypeUrls.listener]: "filter_chains" };

/** Fewer entries than this: the resource is judged whole. */
const entryCheckMin = 8;

/** A resource made from an earlier one by replacing, adding or removing entries of its entry field (the virtual hosts of a route config). */
export interface EntryChange {
  previous: object;
  /** The entries of the new resource that are not entries of `previous`. */
  entries: Iterable<object>;
}

export interface ValidationMemo {
  /**
   * validator.validate(typeUrl, resource), or the verdict it gave before for the same object. With
   * `change`: when `change.previous` passed and every field but the entries is the same, the
   * resource passes when its new entries do (only those are checked).
   */
  validate(validator: ResourceValidator, typeUrl: string, resource: object, change?: EntryChange): ValidationError[];
  /** referencesOf(typeUrl, resource), found once per resource object. */
  references(typeUrl: string, resource: object): ResourceReference[];
  /** How many resources and entries the memo's validator was asked to check since created (what a change cost). */
  readonly checked: { resources: number; entries: number };
  /**
   * The last outcome of each stage of validateSnapshot (by type URL), given back when the stage is
   * given the very resources again, in order, and what it checks references against is the same.
   */
  stage<T>(validator: ResourceValidator, typeUrl: string, given: readonly object[], dependsOn: readonly unknown[], judge: () => T): T;
}

// What most resources get: no errors, no references. One shared frozen list each instead of a fresh
// empty array per resource (about 70 bytes each, at 100k resources several MB per kind).
const noErrors: readonly ValidationError[] = Object.freeze([]);
const noReferences: ResourceReference[] = Object.freeze([]) as unknown as ResourceReference[];

interface EntryVerdicts {
  passed: WeakSet<object>;
  failed: WeakSet<object>;
}

interface StageOutcome {
  given: readonly object[];
  dependsOn: readonly unknown[];
  outcome: unknown;
}

export function createValidationMemo(): ValidationMemo {
  let validatorOf: ResourceValidator | undefined;
  // Most resources and entries pass: a pass is kept in a WeakSet (about half a WeakMap entry), only
  // a failure's errors in a WeakMap.
  let passed = new Map<string, WeakSet<object>>();
  let verdicts = new Map<string, WeakMap<object, readonly ValidationError[]>>();
  let entryVerdicts = new Map<string, EntryVerdicts>();
  const checked = { resources: 0, entries: 0 };
  const references = new Map<string, WeakMap<object, ResourceReference[]>>();
  // The resources that name nothing (load assignments, most secrets), kept apart as a pass is.
  const namesNothing = new Map<string, WeakSet<object>>();
  let stages = new Map<string, StageOutcome>();
  let stagesValidator: ResourceValidator | undefined;

  const mapOf = <T,>(maps: Map<string, WeakMap<object, T>>, typeUrl: string): WeakMap<object, T> => {
    let map = maps.get(typeUrl);
    if (!map) maps.set(typeUrl, (map = new WeakMap()));
    return map;
  };
  const setOf = (sets: Map<string, WeakSet<object>>, typeUrl: string): WeakSet<object> => {
    let set = sets.get(typeUrl);
    if (!set) sets.set(typeUrl, (set = new WeakSet()));
    return set;
  };
  const entryVerdictsOf = (typeUrl: string): EntryVerdicts => {
    let known = entryVerdicts.get(typeUrl);
    if (!known) entryVerdicts.set(typeUrl, (known = { passed: new WeakSet(), failed: new WeakSet() }));
    return known;
  };
  /** Whether one entry passes alone, judged once per entry object. */
  const entryPasses = (validator: ResourceValidator, typeUrl: string, field: string, entry: object): boolean => {
    const known = entryVerdictsOf(typeUrl);
    if (known.passed.has(entry)) return true;
    if (known.failed.has(entry)) return false;
    checked.entries++;
    const pass = validator.validate(typeUrl, { [field]: [entry] }).length === 0;
    (pass ? known.passed : known.failed).add(entry);
    return pass;
  };
  /** The verdict given before for the same object, if any. */
  const verdictOf = (typeUrl: string, resource: object): readonly ValidationError[] | undefined =>
    setOf(passed, typeUrl).has(resource) ? noErrors : verdicts.get(typeUrl)?.get(resource);

  function entriesPass(validator: ResourceValidator, typeUrl: string, resource: Record<string, unknown>): boolean {
    const field = entryFields[typeUrl];
    const list = field === undefined ? undefined : resource[field];
    if (!field || !Array.isArray(list) || list.length < entryCheckMin) return false;
    if (typeUrl === TypeUrls.route && resource.max_direct_response_body_size_bytes !== undefined) return false;
    checked.resources++;
    if (validator.validate(typeUrl, { ...resource, [field]: [] }).length > 0) return false;
    for (const entry of list as object[]) if (!entryPasses(validator, typeUrl, field, entry)) return false;
    return true;
  }

  /** Whether `resource` passes as `change.previous` did, judging only its new entries (entriesPass's rule). */
  function changedEntriesPass(validator: ResourceValidator, typeUrl: string, resource: Record<string, unknown>, change: EntryChange): boolean {
    const field = entryFields[typeUrl];
    const previous = change.previous as Record<string, unknown>;
    if (!field || verdictOf(typeUrl, previous)?.length !== 0) return false;
    const list = resource[field];
    const before = previous[field];
    if (!Array.isArray(list) || !Array.isArray(before)) return false;
    if (typeUrl === TypeUrls.route && resource.max_direct_response_body_size_bytes !== undefined) return false;
    const keys = Object.keys(resource);
    if (keys.length !== Object.keys(previous).length || keys.some((key) => key !== field && resource[key] !== previous[key])) return false;
    for (const entry of change.entries) if (!entryPasses(validator, typeUrl, field, entry)) return false;
    return true;
  }

  return {
    validate(validator, typeUrl, resource, change) {
      if (validator !== validatorOf) {
        validatorOf = validator;
        passed = new Map();
        verdicts = new Map();
        entryVerdicts = new Map();
      }
      let verdict = verdictOf(typeUrl, resource);
      if (!verdict) {
        if (change && changedEntriesPass(validator, typeUrl, resource as Record<string, unknown>, change)) verdict = noErrors;
        else if (entriesPass(validator, typeUrl, resource as Record<string, unknown>)) verdict = noErrors;
        else {
          checked.resources++;
          verdict = validator.validate(typeUrl, resource);
          if (verdict.length === 0) verdict = noErrors;
        }
        if (verdict.length === 0) setOf(passed, typeUrl).add(resource);
        else mapOf(verdicts, typeUrl).set(resource, verdict);
      }
      // The caller adds its own errors to the list it is given.
      return [...verdict];
    },
    references(typeUrl, resource) {
      const none = setOf(namesNothing, typeUrl);
      if (none.has(resource)) return noReferences;
      const known = mapOf(references, typeUrl);
      let found = known.get(resource);
      if (!found) {
        found = referencesOf(typeUrl, resource);
        if (found.length === 0) {
          none.add(resource);
          return noReferences;
        }
        known.set(resource, found);
      }
      return found;
    },
    checked,
    stage(validator, typeUrl, given, dependsOn, judge) {
      if (validator !== stagesValidator) {
        stagesValidator = validator;
        stages = new Map();
      }
      const last = stages.get(typeUrl);
      if (last && sameItems(last.given, given) && sameItems(last.dependsOn, dependsOn)) return last.outcome as ReturnType<typeof judge>;
      const outcome = judge();
      stages.set(typeUrl, { given: [...given], dependsOn, outcome });
      return outcome;
    },
  };
}
