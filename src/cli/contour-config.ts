// `serve --config-path FILE`, Contour's configuration file. Applying its settings is not implemented
// yet, so a file is accepted only when it changes nothing: every setting empty (Contour's zero value)
// or equal to what isobar does anyway, as in Contour's stock ConfigMap. A file that sets anything
// else is refused, naming the settings, rather than silently served without them.
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import type { Verdict } from "./contour-flags.ts";

/** Settings whose value isobar already behaves as (dotted path → the values that change nothing). */
const sameAsIsobar: Record<string, readonly unknown[]> = {
  disablePermitInsecure: [false],
  "accesslog-format": ["envoy"],
  "accesslog-level": ["info"],
  disableMergeSlashes: [false],
  enableExternalNameService: [false],
};

/** The dotted paths of the settings `value` gives that are not empty (Contour's zero value). */
function settings(value: unknown, prefix = ""): Array<{ path: string; value: unknown }> {
  if (value === null || value === undefined || value === "") return [];
  if (typeof value === "object" && !Array.isArray(value)) {
    return Object.entries(value as Record<string, unknown>).flatMap(([key, inner]) => settings(inner, prefix ? `${prefix}.${key}` : key));
  }
  if (Array.isArray(value) && value.length === 0) return [];
  return [{ path: prefix, value }];
}

/** Whether the configuration file at `path` can be ignored without changing what is served. */
export function judgeContourConfigFile(path: string): Verdict {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    return { missing: `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` };
  }
  let document: unknown;
  try {
    document = parse(text);
  } catch (error) {
    return { missing: `${path} is not YAML: ${(error as Error).message.split("\n")[0]}` };
  }
  if (document !== null && document !== undefined && (typeof document !== "object" || Array.isArray(document))) return { missing: `${path} is not a mapping of settings` };
  const different = settings(document).filter(({ path: key, value }) => !(sameAsIsobar[key] ?? []).includes(value));
  if (different.length > 0) {
    return { missing: `applying Contour's configuration file is not implemented yet, and ${path} sets ${different.map((d) => d.path).join(", ")}; give these settings as flags or leave them out` };
  }
  return { ignored: `${path} sets nothing isobar does not already do` };
}
