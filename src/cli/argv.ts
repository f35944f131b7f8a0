// Checks the command line against the commands' declared flags before citty runs them: citty
// ignores an unknown flag (`agent serve --metric-port 9000` would silently serve on 8000) and
// answers an unknown command with its whole usage and exit 1. Here either is one line on stderr
// and exit 2, as every other usage error.
import type { ArgsDef, CommandDef, Resolvable, SubCommandsDef } from "citty";

type AnyCommand = CommandDef<ArgsDef>;

async function resolve<T>(value: Resolvable<T> | undefined): Promise<T | undefined> {
  return typeof value === "function" ? await (value as () => T | Promise<T>)() : await value;
}

function camel(name: string): string {
  return name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** The flags a command accepts: name → whether it takes a value (`--name value`). */
function flagTable(args: ArgsDef): Map<string, boolean> {
  const table = new Map<string, boolean>([["help", false], ["h", false], ["version", false], ["v", false]]);
  for (const [name, def] of Object.entries(args)) {
    if (def.type === "positional") continue;
    const takesValue = def.type !== "boolean";
    const alias = (def as { alias?: string | string[] }).alias;
    const aliases = alias === undefined ? [] : Array.isArray(alias) ? alias : [alias];
    for (const n of [name, camel(name), ...aliases]) table.set(n, takesValue);
    if (!takesValue) for (const n of [`no-${name}`, camel(`no-${name}`)]) table.set(n, false);
  }
  return table;
}

/** The first problem with `argv` for `command` (named `path`), or undefined when it is well formed. */
export async function argvProblem(command: AnyCommand, argv: string[], path = "agent"): Promise<string | undefined> {
  const args = (await resolve(command.args)) ?? {};
  const subCommands = (await resolve(command.subCommands as Resolvable<SubCommandsDef> | undefined)) ?? {};
  const names = Object.keys(subCommands);
  const flags = flagTable(args);
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (token === "--") return undefined;
    if (token.startsWith("-") && token !== "-" && !/^-\d/.test(token)) {
      const body = token.replace(/^--?/, "");
      const name = body.split("=")[0]!;
      if (!flags.has(name)) return `unknown flag ${token.split("=")[0]} for \`${path}\` (see \`${path} --help\`)`;
      if (flags.get(name) && !body.includes("=")) i++;
      continue;
    }
    if (names.length === 0) continue;
    if (!names.includes(token)) return `unknown command ${JSON.stringify(token)} for \`${path}\`: one of ${names.join(", ")}`;
    const sub = await resolve(subCommands[token] as Resolvable<AnyCommand>);
    return sub ? argvProblem(sub, argv.slice(i + 1), `${path} ${token}`) : undefined;
  }
  return undefined;
}
