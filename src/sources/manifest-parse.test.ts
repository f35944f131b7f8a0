import { describe, expect, test } from "bun:test";
import { jsonErrorOffset, parseManifest, parseManifestAsync } from "./manifest-parse.ts";

const names = (text: string, file = "m.yaml") =>
  parseManifest(text, file).objects.map(({ object, line }) => `${object.kind} ${object.metadata.namespace ?? "-"}/${object.metadata.name}@${line}`);

describe("parseManifest", () => {
  test("multi-document YAML, with empty documents and comments, one object per document with its line", () => {
    const text = [
      "# leading comment",
      "apiVersion: v1",
      "kind: Service",
      "metadata: {name: web}",
      "---",
      "---",
      "apiVersion: v1",
      "kind: Secret",
      "metadata:",
      "  name: cert",
      "  namespace: certs",
      "---",
      "",
    ].join("\n");
    expect(names(text)).toEqual(["Service default/web@2", "Secret certs/cert@7"]);
    expect(parseManifest(text, "m.yaml").problems).toEqual([]);
  });

  test("List kinds are expanded into their items, each with its own line", () => {
    const text = [
      "apiVersion: v1",
      "kind: List",
      "items:",
      "  - apiVersion: v1",
      "    kind: Service",
      "    metadata: {name: a}",
      "  - apiVersion: v1",
      "    kind: Service",
      "    metadata: {name: b, namespace: other}",
      "---",
      "apiVersion: v1",
      "kind: ServiceList",
      "items:",
      "  - {apiVersion: v1, kind: Service, metadata: {name: c}}",
    ].join("\n");
    expect(names(text)).toEqual(["Service default/a@4", "Service other/b@7", "Service default/c@14"]);
  });

  test("cluster-scoped kinds get no default namespace", () => {
    const text = "apiVersion: networking.k8s.io/v1\nkind: IngressClass\nmetadata: {name: contour}\n";
    expect(names(text)).toEqual(["IngressClass -/contour@1"]);
  });

  test("JSON files: one object, a List, or an array", () => {
    const one = JSON.stringify({ apiVersion: "v1", kind: "Service", metadata: { name: "a" } });
    const list = JSON.stringify({ apiVersion: "v1", kind: "List", items: [JSON.parse(one), { ...JSON.parse(one), metadata: { name: "b" } }] });
    const array = JSON.stringify([JSON.parse(one)]);
    expect(names(one, "a.json")).toEqual(["Service default/a@undefined"]);
    expect(names(list, "l.json")).toEqual(["Service default/a@undefined", "Service default/b@undefined"]);
    expect(names(array, "x.JSON")).toEqual(["Service default/a@undefined"]);
  });

  test("a YAML syntax error fails the whole file, reported with path, line and column", () => {
    const text = "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n---\napiVersion: v1\nkind: [Service\nmetadata: }\n";
    const parsed = parseManifest(text, "dir/bad.yaml");
    expect(parsed.failed).toBe(true);
    expect(parsed.objects).toEqual([]);
    expect(parsed.problems).toHaveLength(1);
    const [problem] = parsed.problems;
    expect(problem!.file).toBe("dir/bad.yaml");
    expect(problem!.line).toBe(7);
    expect(problem!.message).toStartWith("dir/bad.yaml:7:");
    expect(problem!.message).toContain("does not parse");
  });

  test("a JSON syntax error names the file and the line", () => {
    const parsed = parseManifest('{\n  "apiVersion": "v1",\n  "kind": }\n', "bad.json");
    expect(parsed.failed).toBe(true);
    expect(parsed.problems[0]!.line).toBe(3);
    expect(parsed.problems[0]!.message).toStartWith("bad.json:3");
  });

  test("objects without apiVersion, kind or metadata.name are problems with document and line; the rest is kept", () => {
    const text = [
      "apiVersion: v1",
      "kind: Service",
      "metadata: {name: good}",
      "---",
      "kind: Service",
      "metadata: {name: no-version}",
      "---",
      "apiVersion: v1",
      "kind: Service",
      "metadata: {namespace: x}",
      "---",
      "just a string",
      "---",
      "apiVersion: v1",
      "kind: List",
      "items:",
      "  - {apiVersion: v1, metadata: {name: no-kind}}",
    ].join("\n");
    const parsed = parseManifest(text, "m.yaml");
    expect(parsed.failed).toBe(false);
    expect(parsed.objects.map((o) => o.object.metadata.name)).toEqual(["good"]);
    expect(parsed.problems.map((p) => p.message)).toEqual([
      "m.yaml:5: document 2: object has no apiVersion",
      "m.yaml:8: document 3: object has no metadata.name",
      "m.yaml:12: document 4: not an object",
      "m.yaml:17: document 5, item 1: object has no kind",
    ]);
  });

  test("jsonErrorOffset agrees with JSON.parse on what is valid, and points at the first error", () => {
    const valid = ['{"a": [1, -2.5e3, true, false, null, "x\\"y\\u0041"]}', "[]", " {} ", '"s"', "0"];
    for (const text of valid) {
      expect(() => JSON.parse(text)).not.toThrow();
      expect(jsonErrorOffset(text)).toBeUndefined();
    }
    const invalid: [string, number][] = [
      ['{"a": 1,}', 8],
      ["[1 2]", 3],
      ['{"a" 1}', 5],
      ["{'a': 1}", 1],
      ["[01]", 2],
      ['{"a": tru}', 6],
      ['"open', 5],
      ["{} x", 3],
    ];
    for (const [text, offset] of invalid) {
      expect(() => JSON.parse(text)).toThrow();
      expect(jsonErrorOffset(text)).toBe(offset);
    }
  });

  test("a Secret's stringData becomes base64 data, as the API server stores it", () => {
    const text = "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {a: eA==, b: eA==}\nstringData: {b: hello, c: \"é\"}\n";
    const [parsed] = parseManifest(text, "s.yaml").objects;
    expect(parsed!.object.data).toEqual({ a: "eA==", b: "aGVsbG8=", c: "w6k=" });
    expect(parsed!.object.stringData).toBeUndefined();
  });

  test("an alias that names no anchor fails its file, reported at the alias's line and column", () => {
    const text = "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: { ports: [ *http ] }\n";
    const parsed = parseManifest(text, "zz-typo.yaml");
    expect(parsed.failed).toBe(true);
    expect(parsed.objects).toEqual([]);
    expect(parsed.problems.map((p) => [p.file, p.line, p.message])).toEqual([
      ["zz-typo.yaml", 4, "zz-typo.yaml:4:18: does not parse: an alias names no anchor defined before it"],
    ]);
  });

  test("any number of ordinary aliases is fine (300 uses of one anchor), and they resolve to the anchored value", () => {
    const services = Array.from({ length: 300 }, (_, i) => `  - {apiVersion: v1, kind: Service, metadata: {name: s${i}, labels: *labels}}`);
    const text = ["apiVersion: v1", "kind: List", "x-labels: &labels {app: web, tier: front}", "items:", ...services].join("\n");
    const parsed = parseManifest(text, "many.yaml");
    expect(parsed.problems).toEqual([]);
    expect(parsed.objects).toHaveLength(300);
    expect(parsed.objects[299]!.object.metadata.labels).toEqual({ app: "web", tier: "front" });
    expect(parsed.objects[299]!.line).toBe(304);
  });

  test("an alias bomb is refused with its line, quickly, and nothing of the file is served", () => {
    const levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
    for (let i = 1; i < 10; i++) {
      const previous = String.fromCharCode(96 + i);
      levels.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill(`*${previous}`).join(", ")}]`);
    }
    const text = ["apiVersion: v1", "kind: ConfigMap", "metadata: {name: bomb}", "data:", ...levels.map((l) => `  ${l}`)].join("\n");
    const parsed = parseManifest(text, "bomb.yaml");
    expect(parsed.failed).toBe(true);
    expect(parsed.problems).toHaveLength(1);
    expect(parsed.problems[0]!.message).toMatch(/^bomb\.yaml:\d+:\d+: does not parse: aliases expand to more than 1000000 nodes/);
    expect(parsed.problems[0]!.line).toBeGreaterThan(5);
  });

  test("an alias inside the node it names (a cycle) is refused", () => {
    const parsed = parseManifest("apiVersion: v1\nkind: Service\nmetadata: &m {name: web, self: *m}\n", "cycle.yaml");
    expect(parsed.problems.map((p) => p.message)).toEqual(["cycle.yaml:3:32: does not parse: an alias refers to a node that contains it (a cycle)"]);
  });

  test("merge keys, as kubectl reads them: explicit keys win, the first merged mapping wins over later ones", () => {
    const text = [
      "x-base: &base {app: base, tier: back}",
      "x-more: &more {tier: front, zone: a}",
      "apiVersion: v1",
      "kind: Service",
      "metadata:",
      "  name: web",
      "  labels:",
      "    <<: [*base, *more]",
      "    app: web",
    ].join("\n");
    const [parsed] = parseManifest(text, "merge.yaml").objects;
    expect(parsed!.object.metadata.labels).toEqual({ app: "web", tier: "back", zone: "a" });
  });

  test("values JSON cannot hold, and documents nested too deep, fail their file with a reason", () => {
    const infinite = parseManifest("apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {x: .inf}\n", "inf.yaml");
    expect(infinite.problems.map((p) => p.message)).toEqual([
      "inf.yaml:4:11: does not parse: a value JSON cannot hold (.inf, .nan or a binary or custom-tagged value)",
    ]);
    const deep = parseManifest(`apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: ${"[".repeat(300)}${"]".repeat(300)}\n`, "deep.yaml");
    expect(deep.problems[0]!.message).toStartWith("deep.yaml:4:");
    expect(deep.problems[0]!.message).toContain("nested deeper than 256 levels");
    const deepJson = parseManifest(`{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}, "spec": ${"[".repeat(100_000)}${"]".repeat(100_000)}}`, "deep.json");
    expect(deepJson.problems.map((p) => p.message)).toEqual(["deep.json: does not parse: nested deeper than 256 levels"]);
    const proto = parseManifest('apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {"__proto__": {polluted: true}}\n', "proto.yaml");
    const spec = proto.objects[0]!.object.spec as Record<string, unknown>;
    expect(Object.getPrototypeOf(spec)).toBe(Object.prototype);
    expect(Object.keys(spec)).toEqual(["__proto__"]);
  });

  test("parse errors never quote the file: a token in a .json or .yaml file is not in any message", () => {
    const token = "ghp_Zq8xR2vN5tL0pK7wY3mB9cF1dH6jS4aE2uI";
    const cases: [string, string][] = [
      ["token.json", `${token}\n`],
      ["token2.json", `{"a": ${token}}`],
      ["bad-escape.yaml", `a: "\\${token}"\n`],
      ["tag.yaml", `a: !${token} x\n`],
      ["block.yaml", `a: |${token}\n  x\n`],
      ["anchor.yaml", `a: [&${token} &x 1]\n`],
      ["unexpected.yaml", `a: b\n${token}: [\n`],
      ["flow.yaml", `{a: 1, ${token}}}\n`],
    ];
    for (const [file, text] of cases) {
      const parsed = parseManifest(text, file);
      for (const problem of parsed.problems) expect(problem.message).not.toContain(token.slice(4, 12));
    }
    expect(parseManifest(`${token}\n`, "token.json").problems.map((p) => p.message)).toEqual(["token.json:1:1: does not parse: invalid JSON: unexpected character"]);
  });
});

describe("parseManifestAsync", () => {
  test("the same result as parseManifest; rejects once its signal aborts (a source stopping mid-file)", async () => {
    const text = Array.from({ length: 50 }, (_, i) => `apiVersion: v1\nkind: Service\nmetadata: {name: s${i}}\n`).join("---\n");
    expect(await parseManifestAsync(text, "m.yaml")).toEqual(parseManifest(text, "m.yaml"));
    const stopping = new AbortController();
    stopping.abort();
    await expect(parseManifestAsync(text, "m.yaml", { signal: stopping.signal })).rejects.toThrow();
  });
});
