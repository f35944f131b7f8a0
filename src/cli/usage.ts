// `--help` for every command, rendered from the citty command definitions: fits the terminal's
// width (80 columns when not a terminal), flags left-aligned and descriptions wrapped beside them,
// a boolean that defaults to on shown once as `--[no-]flag`, a flag's other spellings (Contour's)
// before it (`--xds-port, --port PORT`), defaults written one way, and the full
// command name (`agent certs init`) in every usage line. citty's own renderer pads every line to
// the longest one and right-aligns the flags.
import type { ArgDef, ArgsDef, SubCommandsDef } from "citty";
import { type AnyCommand, resolveValue } from "./argv.ts";

/** The width help is wrapped to: $COLUMNS, else the terminal's, else 80. */
export function helpWidth(): number {
  const columns = Number(process.env.COLUMNS);
  if (Number.isInteger(columns) && columns > 0) return Math.max(columns, 40);
  return process.stdout.isTTY && process.stdout.columns ? Math.max(process.stdout.columns, 40) : 80;
}

/** `text` in lines of at most `width` characters, broken at spaces (a longer word gets its own line). */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter((w) => w !== "")) {
    if (line === "") line = word;
    else if (line.length + 1 + word.length <= width) line += ` ${word}`;
    else {
      lines.push(line);
      line = word;
    }
  }
  if (line !== "") lines.push(line);
  return lines.length > 0 ? lines : [""];
}

/** Rows of `label  description`, the descriptions in one left-aligned column wrapped to `width`. */
function table(rows: Array<[string, string]>, width: number): string[] {
  const indent = 2;
  const gap = 2;
  const column = Math.min(Math.max(...rows.map(([label]) => label.length)), Math.floor(width / 3));
  const descriptionWidth = width - indent - column - gap;
  const out: string[] = [];
  for (const [label, description] of rows) {
    const lines = wrap(description, Math.max(descriptionWidth, 20));
    const pad = " ".repeat(indent + column + gap);
    // A label too long for its column gets lines of its own (wrapped between spellings if need be).
    if (label.length > column) for (const part of wrap(label, width - indent)) out.push(`${" ".repeat(indent)}${part}`);
    else out.push(`${" ".repeat(indent)}${label.padEnd(column + gap)}${lines.shift() ?? ""}`.trimEnd());
    for (const line of lines) out.push(`${pad}${line}`);
  }
  return out;
}

/** The placeholder for a flag's value: its valueHint, else the last word of its name (`--ca-file FILE`). */
function placeholder(name: string, def: ArgDef): string {
  return (def as { valueHint?: string }).valueHint ?? name.split("-").at(-1)!.toUpperCase();
}

/** The other spellings of a flag (Contour's), short ones first: `-d, ` or `--xds-port, `. */
function aliasPrefix(def: ArgDef): string {
  const alias = (def as { alias?: string | string[] }).alias;
  const list = alias === undefined ? [] : Array.isArray(alias) ? alias : [alias];
  return list
    .sort((a, b) => a.length - b.length)
    .map((a) => (a.length === 1 ? `-${a}, ` : `--${a}, `))
    .join("");
}

function optionRow(name: string, def: ArgDef): [string, string] {
  const description = def.description ?? "";
  const aliases = aliasPrefix(def);
  if (def.type === "boolean") {
    const on = def.default === true;
    return [`${aliases}${on ? `--[no-]${name}` : `--${name}`}`, on ? `${description} (default: on)` : description];
  }
  const label = `${aliases}--${name} ${placeholder(name, def)}`;
  const value = def.default;
  const shown = value === undefined || value === "" ? "" : ` (default: ${String(value)})`;
  return [label, `${description}${(def as { required?: boolean }).required ? " (required)" : ""}${shown}`];
}

/** The help text of `command`, called `path` (`agent certs init`), wrapped to `width`. */
export async function renderHelp(command: AnyCommand, path: string, width = helpWidth()): Promise<string> {
  const meta = (await resolveValue(command.meta)) ?? {};
  const args: ArgsDef = (await resolveValue(command.args)) ?? {};
  const subCommands: SubCommandsDef = (await resolveValue(command.subCommands as SubCommandsDef | undefined)) ?? {};
  const positionals = Object.entries(args).filter(([, def]) => def.type === "positional");
  const options = Object.entries(args).filter(([, def]) => def.type !== "positional");
  const commandNames = Object.keys(subCommands);

  const usage = [`USAGE ${path}`];
  if (commandNames.length > 0) usage.push(command.run ? `[${commandNames.join("|")}]` : commandNames.join("|"));
  if (options.length > 0 || commandNames.length === 0) usage.push("[OPTIONS]");
  for (const [name, def] of positionals) usage.push(def.required ? name.toUpperCase() : `[${name.toUpperCase()}]`);

  const out: string[] = [...wrap(`${meta.description ?? ""}${path === "agent" && meta.version ? ` (version ${meta.version})` : ""}`, width), "", ...wrap(usage.join(" "), width)];
  if (positionals.length > 0) {
    out.push("", "ARGUMENTS", ...table(positionals.map(([name, def]) => [name.toUpperCase(), def.description ?? ""]), width));
  }
  if (commandNames.length > 0) {
    const rows: Array<[string, string]> = [];
    for (const name of commandNames) {
      const sub = await resolveValue(subCommands[name] as AnyCommand | (() => Promise<AnyCommand>));
      const subMeta = sub && (await resolveValue(sub.meta));
      rows.push([name, subMeta?.description ?? ""]);
    }
    out.push("", "COMMANDS", ...table(rows, width));
  }
  const rows = options.map(([name, def]) => optionRow(name, def));
  rows.push(["--help", "show this help"]);
  if (meta.version) rows.push(["--version", "print the version"]);
  out.push("", "OPTIONS", ...table(rows, width));
  if (options.some(([, def]) => (def as { valueHint?: string }).valueHint === "DURATION")) {
    out.push("", ...wrap("DURATION is a number with its unit: ms, s or m (100ms, 1.5s, 2m); a bare number is an error.", width));
  }
  if (options.some(([, def]) => (def as { alias?: unknown }).alias !== undefined)) {
    out.push("", ...wrap("A flag listed with two spellings takes either: the first is Contour's, so Contour's deployment arguments work unchanged.", width));
  }
  if (commandNames.length > 0) out.push("", ...wrap(`Run \`${path} COMMAND --help\` for a command's flags.`, width));
  return `${out.join("\n")}\n`;
}
