// Parsing one manifest file into Kubernetes objects: multi-document YAML or JSON, `List` kinds expanded,
// every object checked for apiVersion, kind and metadata.name, namespaced kinds defaulted to "default".
// Problems carry the file and line so a user can find them; a file with a syntax error (or an alias,
// depth or value that cannot become JSON) yields none of its objects (`failed`), an invalid object is
// skipped alone. Nothing here throws on what a file holds, and no message quotes a file's content.
import { Buffer } from "node:buffer";
import { isRecord } from "../base/values.ts";
import { Composer, isMap, isSeq, LineCounter, Parser, type Document } from "yaml";
import { DocumentRefused, documentToJson, maxNestingDepth, yamlErrorReason } from "./manifest-yaml.ts";
import { clusterScopedWatchedKinds, type KubeObject, type SourceProblem } from "./types.ts";

export interface ParsedObject {
  object: KubeObject;
  /** 1-based line where the object starts, when known. */
  line?: number;
}

export interface ParsedManifest {
  objects: ParsedObject[];
  problems: SourceProblem[];
  /** The file does not parse at all: none of its objects can be trusted. */
  failed: boolean;
}

export const manifestSourceName = "manifests";

/** Kinds that live outside namespaces: they get no default namespace. */
export const clusterScopedKinds: ReadonlySet<string> = new Set([
  ...clusterScopedWatchedKinds,
  "ClusterRole",
  "ClusterRoleBinding",
  "CustomResourceDefinition",
  "GatewayClass",
  "ClusterIssuer",
  "PersistentVolume",
  "StorageClass",
  "PriorityClass",
  "Node",
  "APIService",
  "ValidatingWebhookConfiguration",
  "MutatingWebhookConfiguration",
]);


function isListKind(value: Record<string, unknown>): boolean {
  return typeof value.kind === "string" && value.kind.endsWith("List") && Array.isArray(value.items);
}

function where(file: string, line: number | undefined): string {
  return line === undefined ? file : `${file}:${line}`;
}

/** Checks one candidate object; returns the object (namespace defaulted) or why it is not one. */
function toObject(value: unknown): KubeObject | string {
  if (!isRecord(value)) return "not an object";
  const missing: string[] = [];
  if (typeof value.apiVersion !== "string" || value.apiVersion === "") missing.push("apiVersion");
  if (typeof value.kind !== "string" || value.kind === "") missing.push("kind");
  const metadata = value.metadata;
  if (!isRecord(metadata) || typeof metadata.name !== "string" || metadata.name === "") missing.push("metadata.name");
  if (missing.length > 0) return `object has no ${missing.join(", ")}`;
  let object = value as KubeObject;
  if (!clusterScopedKinds.has(object.kind) && !object.metadata.namespace) {
    object = { ...object, metadata: { ...object.metadata, namespace: "default" } };
  }
  return object.kind === "Secret" ? withStringData(object) : object;
}

/** What the API server does with a Secret's `stringData`: base64 into `data`, winning over it. */
function withStringData(secret: KubeObject): KubeObject {
  const { stringData, ...rest } = secret;
  if (!isRecord(stringData)) return secret;
  const data: Record<string, unknown> = isRecord(secret.data) ? { ...secret.data } : {};
  for (const [key, value] of Object.entries(stringData)) {
    if (typeof value === "string") data[key] = Buffer.from(value, "utf8").toString("base64");
  }
  return { ...rest, data };
}

interface Candidate {
  value: unknown;
  line?: number;
  label: string; // "document 2" or "document 1, item 3"
}

function collect(manifest: ParsedManifest, file: string, candidates: Candidate[]): void {
  for (const candidate of candidates) {
    const object = toObject(candidate.value);
    if (typeof object === "string") {
      manifest.problems.push({
        source: manifestSourceName,
        file,
        line: candidate.line,
        message: `${where(file, candidate.line)}: ${candidate.label}: ${object}`,
      });
    } else {
      manifest.objects.push(candidate.line === undefined ? { object } : { object, line: candidate.line });
    }
  }
}

/** Where a node starts, as a 1-based line. */
function nodeLine(lines: LineCounter, node: unknown): number | undefined {
  const range = (node as { range?: [number, number, number] } | null)?.range;
  return range ? lines.linePos(range[0]).line : undefined;
}

function yamlCandidates(doc: Document, value: unknown, index: number, lines: LineCounter): Candidate[] {
  if (value === null || value === undefined) return []; // an empty document, e.g. a trailing `---`
  const label = `document ${index + 1}`;
  const line = nodeLine(lines, doc.contents);
  if (!isRecord(value) || !isListKind(value)) return [{ value, line, label }];
  const itemsNode = isMap(doc.contents) ? doc.contents.get("items", true) : undefined;
  const itemNodes = isSeq(itemsNode) ? itemsNode.items : [];
  return (value.items as unknown[]).map((item, i) => ({
    value: item,
    line: nodeLine(lines, itemNodes[i]) ?? line,
    label: `${label}, item ${i + 1}`,
  }));
}

function syntaxProblem(file: string, line: number | undefined, column: number | undefined, reason: string) {
  const position = line === undefined ? file : `${file}:${line}${column === undefined ? "" : `:${column}`}`;
  return { source: manifestSourceName, file, line, message: `${position}: does not parse: ${reason}` };
}

function failedFile(file: string, line: number | undefined, column: number | undefined, reason: string): ParsedManifest {
  return { objects: [], problems: [syntaxProblem(file, line, column, reason)], failed: true };
}

/**
 * Parses a YAML stream one document at a time (yielding after each): a document's syntax tree is
 * dropped once it is converted, so a big file never holds every tree at once, and a caller can let
 * other work run between documents.
 */
function* parseYaml(text: string, file: string): Generator<void, ParsedManifest> {
  const manifest: ParsedManifest = { objects: [], problems: [], failed: false };
  const lines = new LineCounter();
  const candidates: Candidate[] = [];
  let index = 0;
  try {
    for (const doc of new Composer().compose(new Parser(lines.addNewLine).parse(text))) {
      const error = doc.errors[0];
      if (error) {
        const { line, col } = lines.linePos(error.pos[0]);
        return failedFile(file, line, col, yamlErrorReason(error));
      }
      let value: unknown;
      try {
        value = documentToJson(doc);
      } catch (refused) {
        if (!(refused instanceof DocumentRefused)) throw refused;
        const offset = (refused.node as { range?: [number, number, number] } | null)?.range?.[0] ?? doc.range?.[0] ?? 0;
        const { line, col } = lines.linePos(offset);
        return failedFile(file, line, col, refused.message);
      }
      candidates.push(...yamlCandidates(doc, value, index++, lines));
      yield;
    }
  } catch (error) {
    // The parser recurses: a file nested many thousand levels deep exhausts the stack.
    if (error instanceof RangeError) return failedFile(file, undefined, undefined, `nested deeper than ${maxNestingDepth} levels`);
    throw error;
  }
  collect(manifest, file, candidates);
  return manifest;
}

/** The offset of the first JSON syntax error: JSON.parse names no position on every runtime. */
export function jsonErrorOffset(text: string): number | undefined {
  let i = 0;
  const fail = (): never => {
    throw i;
  };
  const space = () => {
    while (i < text.length && " \t\n\r".includes(text[i]!)) i++;
  };
  const literal = (word: string) => (text.startsWith(word, i) ? (i += word.length) : fail());
  const string = () => {
    i++;
    for (;;) {
      if (i >= text.length || text.charCodeAt(i) < 0x20) fail();
      if (text[i] === "\\") i += 2;
      else if (text[i++] === '"') return;
    }
  };
  const number = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
  const value = (): void => {
    space();
    const c = text[i];
    if (c === "{" || c === "[") {
      const close = c === "{" ? "}" : "]";
      i++;
      space();
      if (text[i] === close) return void i++;
      for (;;) {
        if (c === "{") {
          space();
          if (text[i] !== '"') fail();
          string();
          space();
          if (text[i] !== ":") fail();
          i++;
        }
        value();
        space();
        if (text[i] === ",") i++;
        else if (text[i] === close) return void i++;
        else fail();
      }
    } else if (c === '"') string();
    else if (c === "t") literal("true");
    else if (c === "f") literal("false");
    else if (c === "n") literal("null");
    else {
      number.lastIndex = i;
      if (!number.test(text)) fail();
      i = number.lastIndex;
    }
  };
  try {
    value();
    space();
    if (i < text.length) fail();
    return undefined;
  } catch (offset) {
    if (typeof offset === "number") return Math.min(offset, text.length);
    throw offset;
  }
}

/** What is wrong at `offset`, quoting at most one punctuation character (never a word: it may be a token). */
function jsonReason(text: string, offset: number | undefined): string {
  if (offset === undefined) return "invalid JSON";
  if (offset >= text.length) return "invalid JSON: unexpected end of input";
  const char = text[offset]!;
  return /^[{}[\],:"]$/.test(char) ? `invalid JSON: unexpected "${char}"` : "invalid JSON: unexpected character";
}

/** Whether a parsed JSON value nests deeper than `limit` (recursing no deeper than that). */
function deeperThan(value: unknown, limit: number): boolean {
  if (typeof value !== "object" || value === null) return false;
  if (limit === 0) return true;
  return Object.values(value).some((child) => deeperThan(child, limit - 1));
}

function parseJson(text: string, file: string): ParsedManifest {
  const manifest: ParsedManifest = { objects: [], problems: [], failed: false };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // The runtime's message quotes the text ("Unexpected identifier "ghp_…""): only the position is kept.
    let offset: number | undefined;
    try {
      offset = jsonErrorOffset(text);
    } catch {
      offset = undefined; // nested too deep for the checker's stack
    }
    let line: number | undefined;
    let column: number | undefined;
    if (offset !== undefined) {
      const before = text.slice(0, offset);
      line = before.split("\n").length;
      column = offset - before.lastIndexOf("\n");
    }
    return failedFile(file, line, column, jsonReason(text, offset));
  }
  if (deeperThan(value, maxNestingDepth)) return failedFile(file, undefined, undefined, `nested deeper than ${maxNestingDepth} levels`);
  const values = Array.isArray(value) ? value : [value];
  values.forEach((entry, index) => {
    const label = Array.isArray(value) ? `element ${index + 1}` : "document 1";
    const candidates: Candidate[] =
      isRecord(entry) && isListKind(entry)
        ? (entry.items as unknown[]).map((item, i) => ({ value: item, label: `${label}, item ${i + 1}` }))
        : [{ value: entry, label }];
    collect(manifest, file, candidates);
  });
  return manifest;
}

function* parseSteps(text: string, file: string): Generator<void, ParsedManifest> {
  return file.toLowerCase().endsWith(".json") ? parseJson(text, file) : yield* parseYaml(text, file);
}

/** Parses one file's text; `file` names it in problems. JSON when the name ends in `.json`. */
export function parseManifest(text: string, file: string): ParsedManifest {
  const steps = parseSteps(text, file);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/** Every 20 ms a parse gives the event loop a turn: a big file must not stall xDS. */
const parseSliceMs = 20;

/** parseManifest, giving the event loop a turn every 20 ms; rejects once `signal` aborts (shutdown). */
export async function parseManifestAsync(text: string, file: string, options: { signal?: AbortSignal } = {}): Promise<ParsedManifest> {
  const steps = parseSteps(text, file);
  let since = performance.now();
  for (;;) {
    options.signal?.throwIfAborted();
    const step = steps.next();
    if (step.done) return step.value;
    if (performance.now() - since > parseSliceMs) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      since = performance.now();
    }
  }
}
