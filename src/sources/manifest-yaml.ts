// YAML documents into plain JSON values, without the `yaml` package's toJS: that one throws on an
// unresolved alias, refuses a legitimate file past 100 uses of one anchor, resolves every alias by a
// scan of the whole document (quadratic) and lets tags produce values JSON cannot hold. Here every
// alias is resolved once, in document order; what an alias adds is counted against a bound (an alias
// bomb is refused, any ordinary number of aliases is fine); merge keys (`<<: *defaults`) work as with
// kubectl; and what a parser error says never quotes the file (it may be a token or a key).
import { isRecord } from "../base/values.ts";
import { isAlias, isMap, isPair, isScalar, isSeq, type Document, type Node, type YAMLError } from "yaml";

/** Deeper documents are refused: no Kubernetes object nests near this, and every consumer recurses. */
export const maxNestingDepth = 256;
/** The nodes aliases may add to one document (copies of what they name): far above any real file. */
export const maxAliasExpansion = 1_000_000;

/** A document that cannot become a JSON value: why, and the node that shows it (for its line). */
export class DocumentRefused extends Error {
  constructor(
    message: string,
    readonly node: unknown,
  ) {
    super(message);
  }
}

interface Converted {
  value: unknown;
  /** Nodes in the value once every alias is expanded, and its depth: what an alias to it adds. */
  size: number;
  depth: number;
}

function setKey(target: Record<string, unknown>, key: string, value: unknown): void {
  // "__proto__" is an own key, as JSON.parse makes it, never the object's prototype.
  if (key === "__proto__") Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}


function isMergeKey(key: unknown): boolean {
  return isScalar(key) && key.type === "PLAIN" && key.value === "<<";
}

/** The JSON value of one document's contents (null for an empty document); throws DocumentRefused. */
export function documentToJson(doc: Document): unknown {
  const anchors = new Map<string, Node>(); // the latest node with each anchor, in document order
  const converted = new Map<Node, Converted>();
  const open = new Set<Node>(); // nodes being converted: an alias to one of them is a cycle
  let expansion = 0;

  function scalarValue(node: Node, value: unknown): unknown {
    if (value === null || value === undefined) return null;
    if (typeof value === "string" || typeof value === "boolean") return value;
    if (typeof value === "number" && Number.isFinite(value)) return value;
    if (typeof value === "bigint") return Number(value);
    throw new DocumentRefused("a value JSON cannot hold (.inf, .nan or a binary or custom-tagged value)", node);
  }

  function keyOf(node: unknown, depth: number): string {
    const key = convert(node, depth).value;
    if (typeof key === "object" && key !== null) throw new DocumentRefused("a mapping key must be a string, number or boolean", node);
    return key === null ? "" : String(key);
  }

  /** Copies the keys of a merge key's mappings that are not set yet; returns the nodes they add. */
  function merge(into: Record<string, unknown>, explicit: Set<string>, source: unknown, depth: number): number {
    let size = 0;
    for (const item of isSeq(source) ? source.items : [source]) {
      const { value, size: added } = convert(item, depth);
      if (!isRecord(value)) throw new DocumentRefused("a merge key (<<) takes a mapping or a list of mappings", item ?? source);
      for (const [key, entry] of Object.entries(value)) if (!explicit.has(key) && !Object.hasOwn(into, key)) setKey(into, key, entry);
      size += added;
    }
    return size;
  }

  function convert(node: unknown, depth: number): Converted {
    if (depth > maxNestingDepth) throw new DocumentRefused(`nested deeper than ${maxNestingDepth} levels`, node);
    if (node === null || node === undefined) return { value: null, size: 1, depth: 0 };
    if (isAlias(node)) {
      const target = anchors.get(node.source);
      if (!target) throw new DocumentRefused("an alias names no anchor defined before it", node);
      if (open.has(target)) throw new DocumentRefused("an alias refers to a node that contains it (a cycle)", node);
      const known = converted.get(target)!;
      expansion += known.size;
      if (expansion > maxAliasExpansion) {
        throw new DocumentRefused(`aliases expand to more than ${maxAliasExpansion} nodes (an alias bomb?)`, node);
      }
      if (depth + known.depth > maxNestingDepth) throw new DocumentRefused(`nested deeper than ${maxNestingDepth} levels`, node);
      return known;
    }
    const current = node as Node;
    if (current.anchor) anchors.set(current.anchor, current);
    open.add(current);
    let result: Converted;
    if (isScalar(current)) {
      result = { value: scalarValue(current, current.value), size: 1, depth: 0 };
    } else if (isSeq(current)) {
      const values: unknown[] = [];
      result = { value: values, size: 1, depth: 0 };
      for (const item of current.items) {
        // A flow sequence may hold single-pair mappings (`[a: b]`).
        const child = isPair(item) ? convertPairs([item], current, depth + 1) : convert(item, depth + 1);
        values.push(child.value);
        result.size += child.size;
        result.depth = Math.max(result.depth, child.depth + 1);
      }
    } else if (isMap(current)) {
      result = convertPairs(current.items, current, depth);
    } else {
      throw new DocumentRefused("an unexpected YAML node", current);
    }
    open.delete(current);
    converted.set(current, result);
    return result;
  }

  function convertPairs(pairs: readonly unknown[], parent: Node, depth: number): Converted {
    const object: Record<string, unknown> = {};
    const result: Converted = { value: object, size: 1, depth: 0 };
    const explicit = new Set<string>();
    const merges: unknown[] = [];
    for (const pair of pairs) {
      if (!isPair(pair)) throw new DocumentRefused("an unexpected YAML node", pair ?? parent);
      if (isMergeKey(pair.key)) {
        merges.push(pair.value);
        continue;
      }
      const key = keyOf(pair.key, depth + 1);
      const child = convert(pair.value, depth + 1);
      setKey(object, key, child.value);
      explicit.add(key);
      result.size += 1 + child.size;
      result.depth = Math.max(result.depth, child.depth + 1);
    }
    // Explicit keys win over merged ones; of several merged mappings, the first one listed wins.
    for (const source of merges) result.size += merge(object, explicit, source, depth + 1);
    return result;
  }

  return convert(doc.contents, 0).value;
}

// Parser messages that can quote the file: replaced by what they mean. The rest are fixed texts.
const quotingCodes: Partial<Record<YAMLError["code"], string>> = {
  UNEXPECTED_TOKEN: "unexpected token",
  TAG_RESOLVE_FAILED: "unresolved tag",
  BAD_DQ_ESCAPE: "invalid escape sequence in a double-quoted string",
  BAD_SCALAR_START: "a plain value cannot start with a reserved character",
  BAD_COLLECTION_TYPE: "a tag that does not fit its collection",
  BAD_PROP_ORDER: "anchors and tags must come after the indicator",
};

/** What a YAML parser error means, on one line, quoting nothing from the file. */
export function yamlErrorReason(error: YAMLError): string {
  const fixed = quotingCodes[error.code];
  if (fixed) return fixed;
  const first = error.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
  return first.length > 120 ? `${first.slice(0, 120)}…` : first;
}
