// Reads the protoc-gen-validate annotations straight from .proto source text. protobufjs keeps only
// part of them in its descriptor: it drops aggregate values whose message is empty
// (`[(validate.rules).duration = {gt {}}]`) and keeps one value of a repeated key (`in: "a" in: "b"`),
// so build.ts runs this over proto/ and stores the complete rules beside the descriptor.

/** The rules of one field, in text-format shape: `{ string: { min_len: 1 } }`, `{ duration: { gt: {} } }`. */
export type RuleValue = string | number | boolean | RuleObject | RuleValue[];
export interface RuleObject {
  [key: string]: RuleValue;
}

export interface ExtractedRules {
  /** `(validate.rules)` by full field name, e.g. `envoy.config.cluster.v3.Cluster.connect_timeout`. */
  fields: Record<string, RuleObject>;
  /** Full names of the oneofs marked `option (validate.required) = true`, e.g. `envoy.config.route.v3.Route.action`. */
  requiredOneofs: string[];
}

// Rule fields that are `repeated` in validate.proto: always stored as lists, however they were written.
const listKeys = new Set(["in", "not_in"]);

interface Token {
  text: string;
  quoted: boolean;
  line: number;
}

const punctuation = new Set(["{", "}", "[", "]", "(", ")", "<", ">", ";", ",", "=", ":"]);

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let line = 1;
  let i = 0;
  while (i < source.length) {
    const c = source[i]!;
    if (c === "\n") {
      line++;
      i++;
    } else if (c === " " || c === "\t" || c === "\r") i++;
    else if (c === "/" && source[i + 1] === "/") {
      while (i < source.length && source[i] !== "\n") i++;
    } else if (c === "/" && source[i + 1] === "*") {
      const end = source.indexOf("*/", i + 2);
      const stop = end < 0 ? source.length : end + 2;
      for (let j = i; j < stop; j++) if (source[j] === "\n") line++;
      i = stop;
    } else if (c === '"' || c === "'") {
      const [text, next] = readString(source, i);
      const previous = tokens[tokens.length - 1];
      // Adjacent string literals concatenate, as in C.
      if (previous?.quoted) previous.text += text;
      else tokens.push({ text, quoted: true, line });
      i = next;
    } else if (punctuation.has(c)) {
      tokens.push({ text: c, quoted: false, line });
      i++;
    } else {
      const start = i;
      while (i < source.length && /[A-Za-z0-9_.+\-]/.test(source[i]!)) i++;
      if (i === start) throw new Error(`line ${line}: unexpected character ${JSON.stringify(c)}`);
      tokens.push({ text: source.slice(start, i), quoted: false, line });
    }
  }
  return tokens;
}

const simpleEscapes: Record<string, string> = { n: "\n", r: "\r", t: "\t", a: "\x07", b: "\b", f: "\f", v: "\v", "\\": "\\", "'": "'", '"': '"', "?": "?" };

/** Reads a quoted literal at `start`, decoding protobuf text-format escapes. Returns [value, index after]. */
function readString(source: string, start: number): [string, number] {
  const quote = source[start];
  let out = "";
  let i = start + 1;
  while (i < source.length && source[i] !== quote) {
    const c = source[i]!;
    if (c !== "\\") {
      out += c;
      i++;
      continue;
    }
    const e = source[i + 1]!;
    if (e in simpleEscapes) {
      out += simpleEscapes[e];
      i += 2;
    } else if (e === "x" || e === "X") {
      const hex = /^[0-9a-fA-F]{1,2}/.exec(source.slice(i + 2, i + 4))![0];
      out += String.fromCharCode(parseInt(hex, 16));
      i += 2 + hex.length;
    } else if (/[0-7]/.test(e)) {
      const octal = /^[0-7]{1,3}/.exec(source.slice(i + 1, i + 4))![0];
      out += String.fromCharCode(parseInt(octal, 8));
      i += 1 + octal.length;
    } else if (e === "u") {
      out += String.fromCharCode(parseInt(source.slice(i + 2, i + 6), 16));
      i += 6;
    } else throw new Error(`unknown escape \\${e} in string literal`);
  }
  return [out, i + 1];
}

function scalar(token: Token): RuleValue {
  if (token.quoted) return token.text;
  if (token.text === "true") return true;
  if (token.text === "false") return false;
  if (/^[+-]?(\d|\.\d)/.test(token.text)) return Number(token.text);
  return token.text; // an enum value name, e.g. HTTP_HEADER_NAME
}

/** Sets `value` at `key` in `target`, turning a repeated key into a list. */
function assign(target: RuleObject, key: string, value: RuleValue): void {
  const existing = target[key];
  if (existing === undefined) target[key] = listKeys.has(key) && !Array.isArray(value) ? [value] : value;
  else target[key] = [...(Array.isArray(existing) ? existing : [existing]), ...(Array.isArray(value) ? value : [value])];
}

/** Extracts the validate rules from the text of one .proto file. */
export function extractValidateRules(source: string): ExtractedRules {
  const tokens = tokenize(source);
  const result: ExtractedRules = { fields: {}, requiredOneofs: [] };
  let pos = 0;
  const peek = (offset = 0): Token | undefined => tokens[pos + offset];
  const next = (): Token => {
    const token = tokens[pos++];
    if (!token) throw new Error("unexpected end of file");
    return token;
  };
  const expect = (text: string): void => {
    const token = next();
    if (token.quoted || token.text !== text) throw new Error(`line ${token.line}: expected "${text}", found "${token.text}"`);
  };
  const skipStatement = (): void => {
    while (next().text !== ";");
  };
  const skipBlock = (): void => {
    let depth = 0;
    do {
      const token = next();
      if (token.quoted) continue;
      if (token.text === "{") depth++;
      else if (token.text === "}") depth--;
    } while (depth > 0);
  };

  // Text format: `{ key: value key {…} key: [a, b] }`, the opening brace already consumed.
  const readMessage = (close: string): RuleObject => {
    const out: RuleObject = {};
    while (peek()?.text !== close || peek()?.quoted) {
      const key = next().text;
      if (peek()?.text === ":") next();
      assign(out, key, readValue());
      if (peek()?.text === "," || peek()?.text === ";") next();
    }
    next();
    return out;
  };
  const readValue = (): RuleValue => {
    const token = next();
    if (!token.quoted && token.text === "{") return readMessage("}");
    if (!token.quoted && token.text === "<") return readMessage(">");
    if (!token.quoted && token.text === "[") {
      const list: RuleValue[] = [];
      while (peek()?.text !== "]" || peek()?.quoted) {
        list.push(readValue());
        if (peek()?.text === ",") next();
      }
      next();
      return list;
    }
    return scalar(token);
  };
  // An option name: `deprecated`, `(validate.rules).string.min_len`, `(validate.required)`.
  const readOptionName = (): { extension: string; path: string[] } => {
    let extension = "";
    if (peek()?.text === "(") {
      next();
      extension = `(${next().text})`;
      expect(")");
    } else extension = next().text;
    const path: string[] = [];
    if (peek() && !peek()!.quoted && peek()!.text.startsWith(".")) path.push(...next().text.slice(1).split("."));
    return { extension, path };
  };
  const readOptionInto = (rules: RuleObject | undefined): { extension: string; value: RuleValue } => {
    const { extension, path } = readOptionName();
    expect("=");
    const value = readValue();
    if (rules && extension === "(validate.rules)") {
      let target = rules;
      for (const key of path.slice(0, -1)) {
        if (target[key] === undefined) target[key] = {};
        target = target[key] as RuleObject;
      }
      const last = path[path.length - 1];
      if (last === undefined) Object.assign(rules, value as RuleObject);
      else assign(target, last, value);
    }
    return { extension, value };
  };

  let pkg = "";
  const scopes: Array<{ kind: "message" | "oneof"; name: string }> = [];
  const messagePath = (): string => [pkg, ...scopes.filter((s) => s.kind === "message").map((s) => s.name)].filter(Boolean).join(".");

  while (pos < tokens.length) {
    const token = next();
    const word = token.quoted ? "" : token.text;
    if (word === "}") scopes.pop();
    else if (word === "package") {
      pkg = next().text;
      expect(";");
    } else if (word === "syntax" || word === "edition" || word === "import" || word === "reserved" || word === "extensions") skipStatement();
    else if (word === "option") {
      const { extension, value } = readOptionInto(undefined);
      expect(";");
      const scope = scopes[scopes.length - 1];
      if (scope?.kind === "oneof" && extension === "(validate.required)" && value === true) {
        result.requiredOneofs.push(`${messagePath()}.${scope.name}`);
      }
    } else if ((word === "message" || word === "oneof") && peek(1)?.text === "{") {
      scopes.push({ kind: word, name: next().text });
      next();
    } else if ((word === "enum" || word === "service" || word === "extend") && peek(1)?.text === "{") {
      next();
      skipBlock();
    } else if (word === ";") continue;
    else {
      // A field: `[repeated] type name = N [options];` or `map<K, V> name = N [options];`.
      const declaration: Token[] = [token];
      while (peek() && peek()!.text !== "[" && peek()!.text !== ";") declaration.push(next());
      const equals = declaration.findIndex((t) => t.text === "=" && !t.quoted);
      if (equals < 1) throw new Error(`line ${token.line}: cannot read the declaration starting with "${token.text}"`);
      const name = declaration[equals - 1]!.text;
      if (next().text === "[") {
        const rules: RuleObject = {};
        for (;;) {
          readOptionInto(rules);
          const separator = next().text;
          if (separator === "]") break;
          if (separator !== ",") throw new Error(`line ${token.line}: expected "," or "]" in the options of ${name}`);
        }
        expect(";");
        if (Object.keys(rules).length > 0) result.fields[`${messagePath()}.${name}`] = rules;
      }
    }
  }
  return result;
}
