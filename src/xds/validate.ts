// Checks a generated Envoy resource against the rules Envoy itself enforces before it accepts it:
// the protoc-gen-validate annotations of its protos (complete, from generated/validate-rules.json,
// which build.ts extracts from proto/), recursively, into the typed configs of every Any, plus RE2
// for every regex Envoy compiles, plus Envoy's own load-time checks that the annotations miss
// (validate-envoy.ts). Validators are compiled once per message type into closures.
import protobuf from "protobufjs";
import rulesJson from "./generated/validate-rules.json" with { type: "json" };
import { type CheckRe2Options, checkRe2 } from "../base/regex.ts";
import { lookupType } from "./registry.ts";
import { wrapperScalars } from "./wrappers.ts";
import { envoyRules } from "./validate-envoy.ts";
import type { ExtractedRules, RuleObject } from "./validate-rules-extract.ts";
import { type Check, compileAnyTypeRules, compileDuration, compileEnum, compileScalar, fail, type ValidationError } from "./validate-scalar.ts";

export type { ValidationError } from "./validate-scalar.ts";

export interface ValidateOptions {
  /** Largest RE2 program accepted in a regex (Envoy's `re2.max_program_size.error_level`, 100 by default). */
  maxRegexProgramSize?: number;
}

const extracted = rulesJson as unknown as ExtractedRules;
const requiredOneofs = new Set(extracted.requiredOneofs);

/** The fields whose value Envoy compiles as an RE2 regex. */
const re2Fields = new Set(["envoy.type.matcher.v3.RegexMatcher.regex", "xds.type.matcher.v3.RegexMatcher.regex"]);


type MessageCheck = (value: Record<string, unknown>, errors: ValidationError[], isAny: boolean) => void;

/**
 * One set of compiled checks: the closures of every message type met so far, compiled for one
 * choice of options (the RE2 program-size bound is baked into the regex checks).
 */
interface Compiler {
  readonly re2: CheckRe2Options;
  readonly messageChecks: Map<string, MessageCheck>;
  readonly anyTargets: Map<string, MessageCheck | null | undefined>;
  /** By the name the caller used: protobufjs computes `fullName` anew on every read. */
  readonly resourceChecks: Map<string, MessageCheck>;
}

/** Puts the errors from index `from` on under `segment` (a field name or `[i]`). */
function nestErrors(errors: ValidationError[], from: number, segment: string): void {
  for (let i = from; i < errors.length; i++) {
    const error = errors[i]!;
    const path = error.path;
    error.path = path === "" ? segment : path.charCodeAt(0) === 91 ? segment + path : `${segment}.${path}`;
  }
}

function messageCheck(compiler: Compiler, type: protobuf.Type): MessageCheck {
  const { messageChecks } = compiler;
  const existing = messageChecks.get(type.fullName);
  if (existing) return existing;
  let compiled: MessageCheck | undefined;
  // Recursive types (a matcher holding matchers) meet this forwarder while they compile.
  messageChecks.set(type.fullName, (value, errors, isAny) => compiled!(value, errors, isAny));
  compiled = compileMessage(compiler, type);
  messageChecks.set(type.fullName, compiled);
  return compiled;
}

function requiredRule(rules: RuleObject | undefined): string | undefined {
  for (const kind of ["message", "duration", "timestamp", "any"]) {
    if ((rules?.[kind] as RuleObject | undefined)?.required === true) return `${kind}.required`;
  }
  return undefined;
}

interface FieldSlot {
  check: Check | null;
  /** Bit of this field among those whose absence is an error (0: none). */
  absentBit: number;
  /** Bit of this field's oneof (0: not in a oneof). */
  oneofBit: number;
}

interface OneofInfo {
  bit: number;
  name: string;
  members: string;
}

function compileMessage(compiler: Compiler, type: protobuf.Type): MessageCheck {
  const typeName = type.fullName.slice(1);
  const slots: Record<string, FieldSlot> = Object.create(null);
  const oneofs = type.oneofsArray.filter((oneof) => !(oneof.fieldsArray.length === 1 && oneof.name === `_${oneof.fieldsArray[0]!.name}`));
  if (oneofs.length > 30) throw new Error(`${typeName}: more than 30 oneofs`);
  const oneofBits = new Map(oneofs.map((oneof, i) => [oneof.name, 1 << i]));
  const oneofInfo = new Map<number, OneofInfo>(oneofs.map((oneof, i) => [1 << i, { bit: 1 << i, name: oneof.name, members: oneof.fieldsArray.map((f) => f.name).join(", ") }]));
  const required = oneofs.filter((oneof) => requiredOneofs.has(`${typeName}.${oneof.name}`)).map((oneof) => oneofInfo.get(oneofBits.get(oneof.name)!)!);
  const requiredMask = required.reduce((mask, oneof) => mask | oneof.bit, 0);
  // A field left out holds its default, and proto3 applies the rules to it (min_len to "", …):
  // that verdict never changes, so it is computed here once.
  const absent: Array<{ name: string; bit: number; errors: ValidationError[] }> = [];
  for (const field of type.fieldsArray) {
    field.resolve();
    const rules = extracted.fields[`${typeName}.${field.name}`];
    const sensitive = field.options?.["(udpa.annotations.sensitive)"] === true;
    const check = compileField(compiler, field, rules, sensitive, `${typeName}.${field.name}`);
    const slot: FieldSlot = { check: check ?? null, absentBit: 0, oneofBit: field.partOf ? (oneofBits.get(field.partOf.name) ?? 0) : 0 };
    slots[field.name] = slot;
    if (field.partOf || !rules) continue; // oneof members and proto3 `optional` fields are checked only when set
    const requiredBy = requiredRule(rules);
    const defaultErrors: ValidationError[] = [];
    if (requiredBy) fail(defaultErrors, requiredBy, "is required");
    else if (check && field.map) check({}, defaultErrors);
    else if (check && field.repeated) check([], defaultErrors);
    else if (check && !(field.resolvedType instanceof protobuf.Type)) check(defaultOf(field), defaultErrors);
    if (defaultErrors.length === 0) continue;
    if (absent.length >= 30) throw new Error(`${typeName}: more than 30 fields with rules on their default`);
    slot.absentBit = 1 << absent.length;
    absent.push({ name: field.name, bit: slot.absentBit, errors: defaultErrors });
  }
  const absentMask = absent.reduce((mask, field) => mask | field.bit, 0);
  const hook = envoyRules[typeName];

  // Hot path: one pass over the keys present; which fields and oneofs were seen is kept in bit
  // masks, so nothing is looked up for what is absent unless something is missing.
  return (value, errors, isAny) => {
    let seenFields = 0;
    let seenOneofs = 0;
    for (const key in value) {
      const fieldValue = value[key];
      if (fieldValue === undefined || fieldValue === null) continue;
      const slot = slots[key];
      if (slot === undefined) {
        if (!(isAny && key === "@type")) errors.push({ path: key, rule: "field.known", message: `no such field in ${typeName}` });
        continue;
      }
      seenFields |= slot.absentBit;
      if (slot.oneofBit !== 0) {
        if ((seenOneofs & slot.oneofBit) !== 0) {
          const oneof = oneofInfo.get(slot.oneofBit)!;
          errors.push({ path: "", rule: "oneof.single", message: `only one of ${oneof.members} may be set (oneof ${oneof.name})` });
        }
        seenOneofs |= slot.oneofBit;
      }
      const check = slot.check;
      if (check === null) continue;
      const before = errors.length;
      check(fieldValue, errors);
      if (errors.length > before) nestErrors(errors, before, key);
    }
    if (seenFields !== absentMask) {
      for (const field of absent) {
        if ((seenFields & field.bit) !== 0) continue;
        for (const error of field.errors) errors.push({ path: error.path === "" ? field.name : `${field.name}.${error.path}`, rule: error.rule, message: error.message });
      }
    }
    if ((seenOneofs & requiredMask) !== requiredMask) {
      for (const oneof of required) if ((seenOneofs & oneof.bit) === 0) errors.push({ path: "", rule: "oneof.required", message: `one of ${oneof.members} is required (oneof ${oneof.name})` });
    }
    hook?.(value, errors);
  };
}

function defaultOf(field: protobuf.FieldBase): unknown {
  if (field.resolvedType instanceof protobuf.Enum) return 0;
  if (field.type === "string" || field.type === "bytes") return "";
  if (field.type === "bool") return false;
  return 0;
}

function compileField(compiler: Compiler, field: protobuf.FieldBase, rules: RuleObject | undefined, sensitive: boolean, fullName: string): Check | undefined {
  if (field.map) return compileMap(compiler, field as protobuf.MapField, rules?.map as RuleObject | undefined, sensitive, fullName);
  if (!field.repeated) return compileValue(compiler, field, rules, sensitive, fullName);
  const repeated = rules?.repeated as RuleObject | undefined;
  const item = compileValue(compiler, field, repeated?.items as RuleObject | undefined, sensitive, fullName);
  if (!repeated && !item) return undefined;
  const { min_items: minItems, max_items: maxItems, unique, ignore_empty: ignoreEmpty } = (repeated ?? {}) as Record<string, number | boolean | undefined>;
  for (const key of Object.keys(repeated ?? {})) {
    if (!["min_items", "max_items", "unique", "items", "ignore_empty"].includes(key)) throw new Error(`validate rule repeated.${key} (${fullName}) is not supported`);
  }
  return (value, errors) => {
    if (!Array.isArray(value)) return fail(errors, "repeated.type", "expected a list");
    if (ignoreEmpty && value.length === 0) return;
    if (minItems !== undefined && value.length < (minItems as number)) {
      fail(errors, "repeated.min_items", minItems === 1 ? "must not be empty" : `must have at least ${minItems} items, got ${value.length}`);
    }
    if (maxItems !== undefined && value.length > (maxItems as number)) fail(errors, "repeated.max_items", `must have at most ${maxItems} items, got ${value.length}`);
    if (unique && new Set(value).size !== value.length) fail(errors, "repeated.unique", "items must be unique");
    if (!item) return;
    for (let i = 0; i < value.length; i++) {
      const v = value[i];
      if (v === undefined || v === null) continue;
      const before = errors.length;
      item(v, errors);
      if (errors.length > before) nestErrors(errors, before, `[${i}]`);
    }
  };
}

function compileMap(compiler: Compiler, field: protobuf.MapField, rules: RuleObject | undefined, sensitive: boolean, fullName: string): Check | undefined {
  for (const key of Object.keys(rules ?? {})) {
    if (!["min_pairs", "max_pairs", "keys", "values", "no_sparse", "ignore_empty"].includes(key)) throw new Error(`validate rule map.${key} (${fullName}) is not supported`);
  }
  const keyRules = (rules?.keys as RuleObject | undefined)?.[field.keyType] as RuleObject | undefined;
  const keyCheck = compileScalar(field.keyType, keyRules);
  const valueCheck = compileValue(compiler, field, rules?.values as RuleObject | undefined, sensitive, fullName);
  if (!rules && !valueCheck) return undefined;
  const { min_pairs: minPairs, max_pairs: maxPairs, ignore_empty: ignoreEmpty } = (rules ?? {}) as Record<string, number | boolean | undefined>;
  const numericKeys = field.keyType !== "string" && field.keyType !== "bool";
  return (value, errors) => {
    if (value === null || typeof value !== "object" || Array.isArray(value)) return fail(errors, "map.type", "expected a map");
    const keys = Object.keys(value);
    if (ignoreEmpty && keys.length === 0) return;
    if (minPairs !== undefined && keys.length < (minPairs as number)) fail(errors, "map.min_pairs", `must have at least ${minPairs} entries, got ${keys.length}`);
    if (maxPairs !== undefined && keys.length > (maxPairs as number)) fail(errors, "map.max_pairs", `must have at most ${maxPairs} entries, got ${keys.length}`);
    for (const key of keys) {
      const before = errors.length;
      keyCheck?.(numericKeys ? Number(key) : key, errors);
      const entry = (value as Record<string, unknown>)[key];
      if (valueCheck && entry !== undefined && entry !== null) valueCheck(entry, errors);
      if (errors.length > before) nestErrors(errors, before, `[${JSON.stringify(key)}]`);
    }
  };
}

function compileValue(compiler: Compiler, field: protobuf.FieldBase, rules: RuleObject | undefined, sensitive: boolean, fullName: string): Check | undefined {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Enum) return compileEnum(resolved, rules?.enum as RuleObject | undefined);
  if (resolved instanceof protobuf.Type) {
    const messageRules = rules?.message as RuleObject | undefined;
    for (const key of Object.keys(messageRules ?? {})) if (key !== "required" && key !== "skip") throw new Error(`validate rule message.${key} (${fullName}) is not supported`);
    if (resolved.fullName === ".google.protobuf.Any") {
      const typeRules = compileAnyTypeRules(rules?.any as RuleObject | undefined);
      return (value, errors) => checkAny(compiler, value, errors, typeRules);
    }
    if (resolved.fullName === ".google.protobuf.Duration") return compileDuration(rules?.duration as RuleObject | undefined);
    const wrapped = wrapperScalars[resolved.fullName];
    if (wrapped) {
      const inner = compileScalar(wrapped, rules?.[wrapped] as RuleObject | undefined, { sensitive });
      if (!inner) return undefined;
      return (value, errors) => inner(value !== null && typeof value === "object" && "value" in value ? (value as { value: unknown }).value : value, errors);
    }
    if (resolved.fullName.startsWith(".google.protobuf.")) {
      const timestamp = rules?.timestamp as RuleObject | undefined;
      for (const key of Object.keys(timestamp ?? {})) if (key !== "required") throw new Error(`validate rule timestamp.${key} (${fullName}) is not supported`);
      return undefined; // Timestamp, Struct, Value, Empty: nothing to check inside
    }
    if (messageRules?.skip === true) return undefined;
    const check = messageCheck(compiler, resolved);
    const name = resolved.fullName.slice(1);
    return (value, errors) => {
      if (value === null || typeof value !== "object" || Array.isArray(value)) return fail(errors, "message.type", `expected an object for ${name}`);
      check(value as Record<string, unknown>, errors, false);
    };
  }
  const scalar = compileScalar(field.type, rules?.[field.type] as RuleObject | undefined, { sensitive });
  if (!re2Fields.has(fullName)) return scalar;
  return (value, errors) => {
    scalar?.(value, errors);
    if (typeof value !== "string" || value === "") return;
    const reason = checkRe2(value, compiler.re2);
    if (reason) fail(errors, "re2", reason);
  };
}

function anyTarget(compiler: Compiler, url: string): MessageCheck | null | undefined {
  const { anyTargets } = compiler;
  if (anyTargets.has(url)) return anyTargets.get(url);
  let target: MessageCheck | null | undefined;
  try {
    const type = lookupType(url);
    target = type.fullName.startsWith(".google.protobuf.") ? null : messageCheck(compiler, type);
  } catch {
    target = undefined;
  }
  anyTargets.set(url, target);
  return target;
}

function checkAny(compiler: Compiler, value: unknown, errors: ValidationError[], typeRules: ((url: string, errors: ValidationError[]) => void) | undefined): void {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return fail(errors, "any.type", "expected an Any");
  const url = (value as Record<string, unknown>)["@type"];
  if (typeof url !== "string") return fail(errors, "any.type", 'an Any needs "@type"');
  typeRules?.(url, errors);
  const target = anyTarget(compiler, url);
  if (target === undefined) return fail(errors, "any.type", `unknown type ${url}`);
  target?.(value as Record<string, unknown>, errors, true);
}

/** Compiled checks per RE2 program-size bound (one in practice: the configured one). */
export interface ResourceValidator {
  /** See validateResource. */
  validate(typeUrlOrTypeName: string, resource: object): ValidationError[];
}

export function createResourceValidator(options: ValidateOptions = {}): ResourceValidator {
  const compiler: Compiler = { re2: { maxProgramSize: options.maxRegexProgramSize }, messageChecks: new Map(), anyTargets: new Map(), resourceChecks: new Map() };
  return {
    validate(typeUrlOrTypeName, resource) {
      let check = compiler.resourceChecks.get(typeUrlOrTypeName);
      if (!check) {
        check = messageCheck(compiler, lookupType(typeUrlOrTypeName));
        compiler.resourceChecks.set(typeUrlOrTypeName, check);
      }
      const errors: ValidationError[] = [];
      check(resource as Record<string, unknown>, errors, false);
      return errors;
    },
  };
}

/** The validators of the options used so far, by RE2 bound: compiling is paid once per bound. */
const validators = new Map<number | undefined, ResourceValidator>();

/** The shared validator for `options` (created on first use). */
export function resourceValidator(options: ValidateOptions = {}): ResourceValidator {
  let validator = validators.get(options.maxRegexProgramSize);
  if (!validator) {
    validator = createResourceValidator(options);
    validators.set(options.maxRegexProgramSize, validator);
  }
  return validator;
}

/**
 * Everything Envoy would reject in `resource` (our JSON form, see registry.ts) of the given type
 * (type URL or full name): one entry per broken rule, with the path of the offending value. Empty
 * when the resource is valid. Throws only for a type that is not in the descriptor.
 */
export function validateResource(typeUrlOrTypeName: string, resource: object, options: ValidateOptions = {}): ValidationError[] {
  return resourceValidator(options).validate(typeUrlOrTypeName, resource);
}
