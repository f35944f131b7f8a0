// Validation of a resource set that differs from the last validated one in a few named resources:
// validateSnapshot's outcome (validate-snapshot.ts, the reference) made from the last outcome by
// judging again only the changed resources and those that reference a changed name (a cluster whose
// load assignment or secret came, went or was rejected; a listener whose route configuration did),
// so a dangling reference is still caught. Lists are patched in place of a copy, by name: every list
// of a set the translator gives is sorted by name with each name once, which the first outcome checks.
import { findSorted, putSorted } from "../base/sorted.ts";
import { missingReferences, referencedType, referencesOf } from "./references.ts";
import { typeInfo, type ResourceSet } from "./types.ts";
import { resourceValidator, type ResourceValidator, type ValidateOptions } from "./validate.ts";
import type { EntryChange, ValidationMemo } from "./validate-memo.ts";
import { judgeResource, snapshotStages, type JudgedLookup, type RejectedResource, type SnapshotValidation, type Stage } from "./validate-snapshot.ts";

type Kind = (typeof snapshotStages)[number]["kind"];
type Json = Record<string, unknown>;

interface StageState {
  given: object[];
  kept: object[];
  /** Sorted by name, as validateSnapshot lists them within a stage. */
  rejections: RejectedResource[];
}

/** Who references one name: most names have one referrer, kept without a collection around it. */
type Referrers = string | Set<string>;

/**
 * Per referenced type URL, per name, who references it. Keyed by the names themselves (strings the
 * resources hold already), not by a `typeUrl\0name` string made per name (at 100k clusters naming
 * 100k load assignments, some 20 MB of keys).
 */
type ReferrerIndex = Map<string, Map<string, Referrers>>;

/** What the last outcome was made of, and which resources name which, made at the first patch. */
export interface ValidationState {
  stages: Record<Kind, StageState>;
  referrers?: ReferrerIndex[];
}

export interface ValidationPatch {
  validation: SnapshotValidation;
  /** Per kind, the names whose kept (published) resource is new, another object, or gone. */
  changed: Record<Kind, Set<string>>;
  state: ValidationState;
}

/** The state of a validateSnapshot outcome, or undefined when a list of `set` is not sorted by unique names (no patch then). */
export function validationState(set: ResourceSet, outcome: SnapshotValidation): ValidationState | undefined {
  const stages = {} as Record<Kind, StageState>;
  for (const stage of snapshotStages) {
    const nameField = typeInfo(stage.typeUrl)!.nameField;
    const given = set[stage.kind] as Json[];
    for (let i = 1; i < given.length; i++) if (!((given[i - 1]![nameField] as string) < (given[i]![nameField] as string))) return undefined;
    stages[stage.kind] = { given, kept: outcome.valid[stage.kind], rejections: outcome.rejected.filter((r) => r.typeUrl === stage.typeUrl) };
  }
  return { stages };
}

/** Makes the state's reference index now (patchValidation makes it at the first patch otherwise). */
export function indexState(state: ValidationState, memo: ValidationMemo): void {
  state.referrers ??= indexReferrers(state, memo);
}

/**
 * validateSnapshot(set) from `state`, the outcome of the set before it: `changed` names, per kind,
 * the resources of `set` that are new, other objects or gone; `entryChanges`, per route configuration
 * name, the virtual hosts a changed one has anew (only those are checked when the rest is the same). The state's reference index moves on
 * to the new outcome: only the returned state may be patched next.
 */
export function patchValidation(
  state: ValidationState,
  set: ResourceSet,
  changed: Partial<Record<Kind, ReadonlySet<string>>>,
  options: ValidateOptions & { memo: ValidationMemo; entryChanges?: Partial<Record<Kind, ReadonlyMap<string, EntryChange>>> },
): ValidationPatch {
  const { memo } = options;
  const validator = resourceValidator(options);
  const referrers = (state.referrers ??= indexReferrers(state, memo));
  const next = {} as Record<Kind, StageState>;
  const keptChanged = {} as Record<Kind, Set<string>>;
  const judged = new Map<string, StageState & { nameOf: (r: object) => string }>();
  const lookup: JudgedLookup = (typeUrl) => {
    const stage = judged.get(typeUrl);
    return stage && { kept: (name) => findSorted(stage.kept, name, stage.nameOf) !== undefined, given: (name) => findSorted(stage.given, name, stage.nameOf) !== undefined };
  };
  // Per type URL, the names whose given or kept resource changed in this patch.
  const touched = new Map<string, Set<string>>();
  snapshotStages.forEach((stage, at) => {
    const nameField = typeInfo(stage.typeUrl)!.nameField;
    const nameOf = (resource: object) => (resource as Json)[nameField] as string;
    const rejectionName = (rejection: RejectedResource) => rejection.name;
    const before = state.stages[stage.kind];
    const given = set[stage.kind];
    const toJudge = new Set(changed[stage.kind] ?? []);
    // What references a name whose resource changed, was kept or left out anew, is judged again.
    const index = referrers[at]!;
    // Per referrer, the changed names it may name (the index holds every name it named, perhaps more).
    const viaReference = new Map<string, Array<[string, string]>>();
    if (stage.references) {
      for (const [typeUrl, names] of touched) {
        for (const name of names) {
          for (const referrer of referrersOf(index.get(typeUrl)?.get(name))) (viaReference.get(referrer) ?? viaReference.set(referrer, []).get(referrer)!).push([typeUrl, name]);
        }
      }
      for (const referrer of viaReference.keys()) toJudge.add(referrer);
    }
    const kept = toJudge.size > 0 ? before.kept.slice() : before.kept;
    const rejections = toJudge.size > 0 ? before.rejections.slice() : before.rejections;
    const changedHere = new Set<string>();
    for (const name of toJudge) {
      const was = findSorted(before.given, name, nameOf);
      const resource = findSorted(given, name, nameOf);
      const entryChange = was && options.entryChanges?.[stage.kind]?.get(name);
      const fromEntries = entryChange && entryChange.previous === was ? entryChange : undefined;
      // A resource that passed whole and changed in a few entries, every changed name it may name still
      // kept (its other entries then still find theirs): its new entries are all that is checked.
      const namesKept = (viaReference.get(name) ?? []).every(([typeUrl, referenced]) => lookup(typeUrl)?.kept(referenced) ?? true);
      if (resource && fromEntries && stage.references && namesKept && findSorted(before.kept, name, nameOf) === was && newEntriesPass(stage, resource, fromEntries, memo, validator, lookup)) {
        for (const entry of fromEntries.entries) for (const ref of referencesOf(stage.typeUrl, { [stage.prunable!]: [entry] })) refer(index, ref, name, true);
        putSorted(kept, name, resource, nameOf);
        changedHere.add(name);
        continue;
      }
      const verdict = resource ? judgeResource(stage, resource, memo.validate(validator, stage.typeUrl, resource, fromEntries), stage.references ? memo.references(stage.typeUrl, resource) : undefined, lookup) : {};
      if (stage.references && was !== resource) {
        for (const ref of was ? memo.references(stage.typeUrl, was) : []) refer(index, ref, name, false);
        for (const ref of resource ? memo.references(stage.typeUrl, resource) : []) refer(index, ref, name, true);
      }
      const keptBefore = findSorted(before.kept, name, nameOf);
      putSorted(kept, name, verdict.kept, nameOf);
      putSorted(rejections, name, verdict.rejection, rejectionName);
      // A rejection judged again is equal to the last one when its resource is the same: keep that one.
      const rejectionBefore = findSorted(before.rejections, name, rejectionName);
      if (verdict.rejection && rejectionBefore && was === resource && sameRejection(rejectionBefore, verdict.rejection)) {
        putSorted(rejections, name, rejectionBefore, rejectionName);
        if (rejectionBefore.partial) putSorted(kept, name, keptBefore, nameOf);
      }
      if (findSorted(kept, name, nameOf) !== keptBefore) changedHere.add(name);
    }
    next[stage.kind] = { given, kept: changedHere.size > 0 ? kept : before.kept, rejections: sameList(rejections, before.rejections) ? before.rejections : rejections };
    keptChanged[stage.kind] = changedHere;
    // As in validateSnapshot, references are checked against secrets, load assignments and route configurations only.
    if (stage.kind === "secrets" || stage.kind === "endpoints" || stage.kind === "routes") judged.set(stage.typeUrl, { ...next[stage.kind], nameOf });
    touched.set(stage.typeUrl, new Set([...(changed[stage.kind] ?? []), ...changedHere]));
  });
  const valid = Object.fromEntries(snapshotStages.map((stage) => [stage.kind, next[stage.kind].kept])) as unknown as SnapshotValidation["valid"];
  const rejected = snapshotStages.flatMap((stage) => next[stage.kind].rejections);
  return { validation: { valid, rejected }, changed: keptChanged, state: { stages: next, referrers } };
}

/**
 * Whether `resource` passes with only its new entries judged, their references against `judged`
 * (the other entries and fields are those of `change.previous`, which passed and names nothing that
 * changed). False means: judge it whole.
 */
function newEntriesPass(stage: Stage, resource: object, change: EntryChange, memo: ValidationMemo, validator: ResourceValidator, judged: JudgedLookup): boolean {
  if (!stage.prunable || memo.validate(validator, stage.typeUrl, resource, change).length > 0) return false;
  for (const entry of change.entries) {
    const missing = missingReferences(referencesOf(stage.typeUrl, { [stage.prunable]: [entry] }), (typeUrl, name) => judged(typeUrl)?.kept(name) ?? true);
    if (missing.length > 0) return false;
  }
  return true;
}

/** Per stage, who references each `typeUrl\0name` (empty for stages that check no references). */
function indexReferrers(state: ValidationState, memo: ValidationMemo): ReferrerIndex[] {
  return snapshotStages.map((stage) => {
    const index: ReferrerIndex = new Map();
    if (!stage.references) return index;
    const nameField = typeInfo(stage.typeUrl)!.nameField;
    for (const resource of state.stages[stage.kind].given) {
      const name = (resource as Json)[nameField] as string;
      for (const ref of memo.references(stage.typeUrl, resource)) refer(index, ref, name, true);
    }
    return index;
  });
}

function referrersOf(referrers: Referrers | undefined): Iterable<string> {
  return referrers === undefined ? [] : typeof referrers === "string" ? [referrers] : referrers;
}

/** Adds or removes `referrer` under what `ref` names. */
function refer(index: ReferrerIndex, ref: { kind: keyof typeof referencedType; name: string }, referrer: string, add: boolean): void {
  const typeUrl = referencedType[ref.kind];
  let byName = index.get(typeUrl);
  if (!byName) {
    if (!add) return;
    index.set(typeUrl, (byName = new Map()));
  }
  const key = ref.name;
  const referrers = byName.get(key);
  if (add) {
    if (referrers === undefined) byName.set(key, referrer);
    else if (typeof referrers === "string") {
      if (referrers !== referrer) byName.set(key, new Set([referrers, referrer]));
    } else referrers.add(referrer);
  } else if (referrers === referrer) byName.delete(key);
  else if (typeof referrers !== "string" && referrers !== undefined) {
    referrers.delete(referrer);
    if (referrers.size === 1) byName.set(key, referrers.values().next().value!);
  }
}

function sameRejection(a: RejectedResource, b: RejectedResource): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function sameList<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && a.every((item, i) => item === b[i]);
}
