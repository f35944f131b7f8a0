// Envoy's access log on every listener, to its standard output: Envoy's default format, a custom
// format string, or JSON with Contour's fields; Contour's levels filter which requests are logged.
import type { AccessLog } from "../config/types.ts";
import { any, type JsonObject } from "./common.ts";

const STDOUT = "envoy.extensions.access_loggers.stream.v3.StdoutAccessLog";

/** Logs only responses at or above `status`, or with any response flag (they all mark errors), as Contour. */
function onlyErrors(status: number): JsonObject {
  return {
    or_filter: {
      filters: [
        { status_code_filter: { comparison: { op: "GE", value: { default_value: status, runtime_key: "contour.accesslog.filter.status_code" } } } },
        { response_flag_filter: {} },
      ],
    },
  };
}

/** The access_log of a connection manager or TCP proxy; undefined when logging is off. */
export function accessLogs(log: AccessLog, enabled: boolean): JsonObject[] | undefined {
  if (!enabled || log.level === "disabled") return undefined;
  const config: JsonObject = {};
  if (log.format === "json") {
    const fields = Object.fromEntries(Object.entries(log.jsonFields).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    config.log_format = { json_format: fields, omit_empty_values: true };
  } else if (log.formatString !== undefined) {
    config.log_format = { text_format_source: { inline_string: log.formatString } };
  }
  const entry: JsonObject = { name: "envoy.access_loggers.stdout", typed_config: any(STDOUT, config) };
  if (log.level === "error") entry.filter = onlyErrors(300);
  if (log.level === "critical") entry.filter = onlyErrors(500);
  return [entry];
}
