// What the global configuration sets in the DAG's options; the rest reaches the translator as the
// GlobalConfig itself. Used at startup, when an edited ContourConfiguration is applied, and by goldens.
import type { DagOptions } from "../dag/processor.ts";
import type { GlobalConfig } from "./types.ts";

export function globalDagOptions(global: GlobalConfig): Pick<DagOptions, "disablePermitInsecure" | "globalHeaders"> {
  return { disablePermitInsecure: global.disablePermitInsecure, globalHeaders: global.policy };
}
