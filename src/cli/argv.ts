// Checks the command line against the commands' declared flags before citty runs them: citty
// ignores an unknown flag (`agent serve --metric-port 9000` would silently serve on 8000), answers
// an unknown or missing command and a missing required flag with its whole usage and exit 1, and
// takes `--manifests --port 0` as an empty --manifests. Here each is one line on stderr and exit 2,
// as every other usage error.
import type { ArgsDef, CommandDef, Resolvable, SubCommandsDef } from "citty";

export type AnyCommand = CommandDef<ArgsDef>;

export async function resolveValue<T>(value: Resolvable<T> | undefined): Promise<T | undefined> {
  return typeof value === "function" ? await (value as () => T | Promise<T>)() : await value;
}

function camel(name: string): string {
  return name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function aliases(def: ArgsDef[string]): string[] {
  const alias = (def as { alias?: string | string[] }).alias;
  return alias === undefined ? [] : Array.isArray(alias) ? alias : [alias];
}

/** The flags a command accepts: every spelling → its declared name and whether it takes a value. */
function flagTable(args: ArgsDef): Map<string, { name: string; takesValue: boolean }> {
  const table = new Map<string, { name: string; takesValue: boolean }>();
  for (const n of ["help", "h", "version", "v"]) table.set(n, { name: n, takesValue: false });
  for (const [name, def] of Object.entries(args)) {
    if (def.type === "positional") continue;
    const takesValue = def.type !== "boolean";
    for (const n of [name, camel(name), ...aliases(def)]) table.set(n, { name, takesValue });
    if (!takesValue) for (const n of [`no-${name}`, camel(`no-${name}`)]) table.set(n, { name, takesValue: false });
  }
  return table;
}

/** A token that is a flag, not a value: `-` (stdin/stdout) and negative numbers are values. */
function isFlag(token: string): boolean {
  return token.startsWith("-") && token !== "-" && !/^-\d/.test(token);
}

/** The command a command line names: the command, its full name (`agent certs init`), the rest of argv. */
export interface CommandPath {
  command: AnyCommand;
  path: string;
  rest: string[];
}

async function subCommandsOf(command: AnyCommand): Promise<SubCommandsDef> {
  return (await resolveValue(command.subCommands as Resolvable<SubCommandsDef> | undefined)) ?? {};
}

/**
 * Follows the subcommand names in `argv` from `command`. Unknown names are left to `argvProblem`;
 * this only finds which command's flags (or help) a command line is about.
 */
export async function findCommand(command: AnyCommand, argv: string[], path = "agent"): Promise<CommandPath> {
  const args = (await resolveValue(command.args)) ?? {};
  const subCommands = await subCommandsOf(command);
  const flags = flagTable(args);
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (token === "--") break;
    if (isFlag(token)) {
      const body = token.replace(/^--?/, "");
      if (flags.get(body.split("=")[0]!)?.takesValue && !body.includes("=")) i++;
      continue;
    }
    const sub = subCommands[token] && (await resolveValue(subCommands[token] as Resolvable<AnyCommand>));
    if (!sub) break;
    return findCommand(sub, argv.slice(i + 1), `${path} ${token}`);
  }
  return { command, path, rest: argv };
}

/** The first problem with `argv` for `command` (named `path`), or undefined when it is well formed. */
export async function argvProblem(command: AnyCommand, argv: string[], path = "agent"): Promise<string | undefined> {
  const args = (await resolveValue(command.args)) ?? {};
  const subCommands = await subCommandsOf(command);
  const names = Object.keys(subCommands);
  const flags = flagTable(args);
  const given = new Set<string>();
  const hint = `(see \`${path} --help\`)`;
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (token === "--") break;
    if (isFlag(token)) {
      const body = token.replace(/^--?/, "");
      const spelled = token.split("=")[0]!;
      const flag = flags.get(body.split("=")[0]!);
      if (!flag) return `unknown flag ${spelled} for \`${path}\` ${hint}`;
      given.add(flag.name);
      if (flag.takesValue && !body.includes("=")) {
        const value = argv[i + 1];
        if (value === undefined || isFlag(value)) return `${spelled} needs a value ${hint}`;
        i++;
      }
      continue;
    }
    if (names.length === 0) continue;
    if (!names.includes(token)) return `unknown command ${JSON.stringify(token)} for \`${path}\`: one of ${names.join(", ")}`;
    const sub = await resolveValue(subCommands[token] as Resolvable<AnyCommand>);
    return sub ? argvProblem(sub, argv.slice(i + 1), `${path} ${token}`) : undefined;
  }
  if (names.length > 0 && !command.run) return `\`${path}\` needs a command: one of ${names.join(", ")} ${hint}`;
  for (const [name, def] of Object.entries(args)) {
    if (def.type !== "positional" && (def as { required?: boolean }).required && !given.has(name)) return `\`${path}\` needs --${name} ${hint}`;
  }
  return undefined;
}

/** The declared names of the flags `argv` gives explicitly (any spelling), so a configuration can supply the rest. */
export function explicitFlags(args: ArgsDef, argv: string[]): Set<string> {
  const flags = flagTable(args);
  const given = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (token === "--") break;
    if (!isFlag(token)) continue;
    const body = token.replace(/^--?/, "");
    const flag = flags.get(body.split("=")[0]!);
    if (!flag) continue;
    given.add(flag.name);
    if (flag.takesValue && !body.includes("=")) i++;
  }
  return given;
}
