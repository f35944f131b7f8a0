// Keeps following the ContourConfiguration `serve --contour-config-name` named after startup (Contour
// reads it once; isobar also applies later edits): each changed spec is checked, and a good one
// applied, while a bad one is reported (a log line naming the object and the setting, and in a
// cluster a Valid=False condition on it) and the last good configuration keeps being served.
import { consola } from "consola";
import type { KubeObject } from "../sources/types.ts";
import { configFromObject } from "./contour-configuration.ts";
import { ConfigError } from "./error.ts";
import type { GlobalConfig } from "./types.ts";

const log = consola.withTag("config");

export interface ContourConfigurationWatchOptions {
  /** Reads the object as it is now (throws ConfigError when it cannot be read). */
  read(): Promise<KubeObject>;
  /** The spec served at startup. */
  initial: KubeObject;
  intervalMs: number;
  /** A new good configuration. */
  apply(config: GlobalConfig, object: KubeObject): void;
  /** The verdict on a spec seen for the first time (cluster mode writes it as a condition). */
  report?(object: KubeObject, problem: string | undefined): Promise<void>;
}

export interface ContourConfigurationWatch {
  /** Checks once now (tests; the timer calls it too). */
  check(): Promise<void>;
  stop(): void;
}

export function watchContourConfiguration(options: ContourConfigurationWatchOptions): ContourConfigurationWatch {
  let seen = JSON.stringify(options.initial.spec ?? {});
  let unreadable: string | undefined;
  let running: Promise<void> | undefined;
  const check = async (): Promise<void> => {
    let object: KubeObject;
    try {
      object = await options.read();
    } catch (error) {
      const message = (error as Error).message;
      if (message !== unreadable) log.warn(`${message}; still serving the last good configuration`);
      unreadable = message;
      return;
    }
    unreadable = undefined;
    const spec = JSON.stringify(object.spec ?? {});
    if (spec === seen) return;
    seen = spec;
    let config: GlobalConfig;
    try {
      config = configFromObject(object);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      log.warn(`${error.message}; still serving the last good configuration`);
      await options.report?.(object, error.message).catch((e: unknown) => log.warn(`cannot write the status of ContourConfiguration ${object.metadata.namespace}/${object.metadata.name}: ${(e as Error).message}`));
      return;
    }
    log.info(`ContourConfiguration ${object.metadata.namespace}/${object.metadata.name} changed: applying it`);
    options.apply(config, object);
    await options.report?.(object, undefined).catch((e: unknown) => log.warn(`cannot write the status of ContourConfiguration ${object.metadata.namespace}/${object.metadata.name}: ${(e as Error).message}`));
  };
  const timer = setInterval(() => {
    running ??= check().finally(() => (running = undefined));
  }, options.intervalMs);
  return {
    check: () => (running ??= check().finally(() => (running = undefined))),
    stop: () => clearInterval(timer),
  };
}

/** The Valid condition Contour-style objects carry: True when the configuration is served, else False naming the problem. */
export function validCondition(object: KubeObject, problem: string | undefined, now: Date): Record<string, unknown> {
  return {
    type: "Valid",
    status: problem ? "False" : "True",
    reason: problem ? "ConfigNotValid" : "Valid",
    message: problem ?? "the configuration is served",
    observedGeneration: (object.metadata as { generation?: number }).generation,
    lastTransitionTime: now.toISOString().replace(/\.\d+Z$/, "Z"),
  };
}
