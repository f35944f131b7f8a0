// The deployment examples (examples/colocated, examples/split, …) as tests read them: the objects of
// a folder's manifests, their pods' containers, and every `agent` command line in them (container
// args and preStop hooks), judged by the binary's own parser.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { ConsolaInstance } from "consola";
import { parseArgs, type ArgsDef } from "citty";
import { parseAllDocuments } from "yaml";
import { argvProblem, findCommand, resolveValue } from "../../src/cli/argv.ts";
import { bootstrapContourOnly, checkContourOnly, serveContourOnly, shutdownContourOnly, type ContourOnlyTable } from "../../src/cli/contour-flags.ts";
import { rootCommand } from "../../src/cli/root.ts";

export const examplesDir = join(import.meta.dir, "../../examples");

export interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  volumeMounts?: Array<{ name: string; mountPath: string }>;
  lifecycle?: { preStop?: { exec?: { command: string[] }; httpGet?: { path: string; port: number | string } } };
}

export interface PodSpec {
  serviceAccountName?: string;
  initContainers?: Container[];
  containers: Container[];
  volumes?: Array<{ name: string; secret?: { secretName: string } }>;
}

export interface ExampleObject {
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: { template?: { spec: PodSpec } };
  [key: string]: unknown;
}

/** Every object of the `.yaml` files directly in `examples/<folder>`; a YAML error fails the caller. */
export function loadExample(folder: string): ExampleObject[] {
  const files = readdirSync(join(examplesDir, folder)).filter((f) => f.endsWith(".yaml"));
  return files.flatMap((file) =>
    parseAllDocuments(readFileSync(join(examplesDir, folder, file), "utf8")).map((doc) => {
      if (doc.errors.length > 0) throw new Error(`examples/${folder}/${file}: ${doc.errors[0]!.message}`);
      return doc.toJS() as ExampleObject;
    }),
  );
}

export function podContainers(objects: ExampleObject[]): Container[] {
  return objects.flatMap((o) => [...(o.spec?.template?.spec.initContainers ?? []), ...(o.spec?.template?.spec.containers ?? [])]);
}

/** Every `agent …` command line in the pods (a container's command and args, a preStop exec hook), without `agent`. */
export function agentCommandLines(objects: ExampleObject[]): Array<{ where: string; argv: string[] }> {
  return podContainers(objects).flatMap((c) => {
    const lines: Array<{ where: string; argv: string[] }> = [];
    if (c.command?.[0] === "agent") lines.push({ where: `container ${c.name}`, argv: [...c.command.slice(1), ...(c.args ?? [])] });
    const hook = c.lifecycle?.preStop?.exec?.command;
    if (hook?.[0] === "agent") lines.push({ where: `container ${c.name} preStop`, argv: hook.slice(1) });
    return lines;
  });
}

/** The Contour flags each command accepts without implementing them, judged by their value when run. */
const contourOnlyTables: Record<string, ContourOnlyTable> = { "agent serve": serveContourOnly, "agent bootstrap": bootstrapContourOnly, "agent envoy shutdown": shutdownContourOnly };

const quiet = { info() {} } as unknown as ConsolaInstance;

/**
 * What the binary would say about `argv` before doing anything: the parser's one-line usage error,
 * or a Contour-only flag's value it refuses; undefined when the command line is accepted.
 */
export async function commandLineProblem(argv: string[]): Promise<string | undefined> {
  const problem = await argvProblem(rootCommand, argv);
  if (problem) return problem;
  const { command, path, rest } = await findCommand(rootCommand, argv);
  const table = contourOnlyTables[path];
  if (!table) return undefined;
  const args = parseArgs(rest, ((await resolveValue(command.args)) ?? {}) as ArgsDef);
  try {
    checkContourOnly(table, args as Record<string, unknown>, quiet);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}
