// How `agent validate` prints a ValidationReport: text for a person (one block per object, then
// what was left out, the problems, the route table, a summary line), or stable JSON for tools.
// Colour only when asked (the CLI asks on a terminal without NO_COLOR), so CI logs stay plain.
import { formatRouteTable } from "./routes.ts";
import type { ObjectReport, ValidationReport } from "./run.ts";

const ansi = { red: "\u001b[31m", green: "\u001b[32m", yellow: "\u001b[33m", bold: "\u001b[1m", dim: "\u001b[2m", reset: "\u001b[0m" };

export function formatText(report: ValidationReport, options: { color: boolean; routes: boolean }): string {
  const paint = (code: keyof typeof ansi, text: string) => (options.color ? `${ansi[code]}${text}${ansi.reset}` : text);
  const statusColor = { valid: "green", invalid: "red", orphaned: "yellow" } as const;
  const lines: string[] = [];
  for (const object of report.objects) {
    const at = object.file === undefined ? "" : `  ${paint("dim", object.line === undefined ? object.file : `${object.file}:${object.line}`)}`;
    lines.push(`${paint("bold", `${object.kind} ${refName(object)}`)}  ${paint(statusColor[object.currentStatus], object.currentStatus)}${at}`);
    lines.push(`  ${object.description}`);
    for (const c of object.conditions ?? []) lines.push(`  condition ${c.type}=${c.status} ${c.reason}: ${c.message}`);
    for (const l of object.listeners ?? []) {
      lines.push(`  listener ${l.name}: ${l.attachedRoutes} attached route${l.attachedRoutes === 1 ? "" : "s"}`);
      for (const c of l.conditions) lines.push(`    ${c.type}=${c.status} ${c.reason}: ${c.message}`);
    }
    for (const p of object.parents ?? []) {
      const ref = p.parentRef;
      lines.push(`  parent ${ref.namespace ?? object.namespace}/${ref.name}${ref.sectionName ? ` section ${ref.sectionName}` : ""}${ref.port === undefined ? "" : ` port ${ref.port}`}`);
      for (const c of p.conditions) lines.push(`    ${c.type}=${c.status} ${c.reason}: ${c.message}`);
    }
    for (const a of object.ancestors ?? []) {
      lines.push(`  ancestor ${a.ancestorRef.kind} ${a.ancestorRef.namespace}/${a.ancestorRef.name}`);
      for (const c of a.conditions) lines.push(`    ${c.type}=${c.status} ${c.reason}: ${c.message}`);
    }
    for (const error of object.errors) lines.push(`  ${paint("red", "error")}    ${error.type}/${error.reason}: ${error.message}`);
    for (const warning of object.warnings) lines.push(`  ${paint("yellow", "warning")}  ${warning.type}/${warning.reason}: ${warning.message}`);
  }
  for (const object of report.ignored) lines.push(`${paint("bold", `${object.kind} ${refName(object)}`)}  ${paint("dim", "ignored")}: ${object.reason}`);
  if (report.rejected.length > 0) {
    lines.push("", paint("bold", "Left out of the configuration (Envoy would reject it):"));
    for (const rejected of report.rejected) {
      const scope = rejected.partial ? " (only the broken parts)" : "";
      for (const error of rejected.errors) lines.push(`  ${rejected.kind} ${JSON.stringify(rejected.name)}${scope}: ${error.path}: ${error.message}`);
    }
  }
  if (report.problems.length > 0) {
    lines.push("", paint("bold", "Problems reading the manifests:"));
    for (const problem of report.problems) lines.push(`  ${paint("red", problem.message)}`);
  }
  if (options.routes) {
    lines.push("", paint("bold", "Routes:"));
    const table = formatRouteTable(report.routes);
    lines.push(table === "" ? "  (none)" : table.trimEnd());
  }
  lines.push("", summary(report, paint));
  return `${lines.join("\n")}\n`;
}

function summary(report: ValidationReport, paint: (code: keyof typeof ansi, text: string) => string): string {
  const count = (status: ObjectReport["currentStatus"]) => report.objects.filter((o) => o.currentStatus === status).length;
  const problems = report.problems.length === 0 ? "" : `; ${report.problems.length} problem${report.problems.length === 1 ? "" : "s"} reading the manifests`;
  const text = `${report.objects.length} object${report.objects.length === 1 ? "" : "s"}: ${count("valid")} valid, ${count("invalid")} invalid, ${count("orphaned")} orphaned${problems}`;
  return paint(report.valid ? "green" : "red", text);
}

/** The JSON document of `--output json`; fields in a fixed order so the output diffs cleanly. */
export function formatJson(report: ValidationReport, options: { routes: boolean }): string {
  const document = {
    valid: report.valid,
    objects: report.objects.map((o) => ({
      kind: o.kind,
      namespace: o.namespace,
      name: o.name,
      currentStatus: o.currentStatus,
      description: o.description,
      errors: o.errors.map(condition),
      warnings: o.warnings.map(condition),
      ...(o.conditions === undefined ? {} : { conditions: o.conditions.map((c) => ({ type: c.type, status: c.status, reason: c.reason, message: c.message })) }),
      ...(o.listeners === undefined ? {} : { listeners: o.listeners }),
      ...(o.parents === undefined ? {} : { parents: o.parents }),
      ...(o.ancestors === undefined ? {} : { ancestors: o.ancestors }),
      ...(o.file === undefined ? {} : { file: o.file }),
      ...(o.line === undefined ? {} : { line: o.line }),
    })),
    rejected: report.rejected,
    problems: report.problems,
    ignored: report.ignored,
    ...(options.routes ? { routes: report.routes.map((r) => ({ scheme: r.scheme, host: r.host, match: r.match, backend: r.backend, weight: r.weight })) } : {}),
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}

const condition = (c: { type: string; reason: string; message: string }) => ({ type: c.type, reason: c.reason, message: c.message });
const refName = (o: { namespace: string; name: string }) => (o.namespace ? `${o.namespace}/${o.name}` : o.name);
