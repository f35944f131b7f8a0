// The rebuild debounce: a burst of changes yields one rebuild, after `holdoffMs` without a new trigger
// and never later than `maxDelayMs` after the burst's first trigger (Contour: 100 ms / 500 ms).
// Runs never overlap: a trigger during a run starts a new burst that runs after the current run ends.
import { consola } from "consola";

const log = consola.withTag("debounce");

export interface DebouncerOptions {
  holdoffMs: number;
  maxDelayMs: number;
  run: () => void | Promise<void>;
  /** Timer functions; tests pass a fake clock. */
  timers?: DebounceTimers;
}

export interface DebounceTimers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(timer: unknown): void;
}

const realTimers: DebounceTimers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (timer) => clearTimeout(timer as ReturnType<typeof setTimeout>),
};

export interface Debouncer {
  /** Something changed: schedule a run. */
  trigger(): void;
  /** Run now if anything is pending (after the current run, if one is going); resolves when done. */
  flush(): Promise<void>;
  /** Cancels what is pending; resolves when a run in progress has finished. No run starts afterwards. */
  stop(): Promise<void>;
  /** Whether a trigger is waiting for its run. */
  readonly pending: boolean;
}

export function createDebouncer(options: DebouncerOptions): Debouncer {
  const { holdoffMs, run } = options;
  const maxDelayMs = Math.max(options.maxDelayMs, holdoffMs);
  const timers = options.timers ?? realTimers;
  let holdoffTimer: unknown;
  let maxDelayTimer: unknown;
  let pending = false; // a trigger arrived since the last run started
  let due = false; // the burst is due, but a run is in progress
  let running: Promise<void> | undefined;
  let stopped = false;

  function clearTimers(): void {
    if (holdoffTimer !== undefined) timers.clearTimeout(holdoffTimer);
    if (maxDelayTimer !== undefined) timers.clearTimeout(maxDelayTimer);
    holdoffTimer = maxDelayTimer = undefined;
  }

  function fire(): void {
    clearTimers();
    if (stopped || !pending) return;
    if (running) {
      due = true;
      return;
    }
    startRun();
  }

  function startRun(): void {
    pending = false;
    due = false;
    running = (async () => {
      try {
        await run();
      } catch (error) {
        log.error(`debounced run failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    })().finally(() => {
      running = undefined;
      if (!stopped && due && pending) startRun();
    });
  }

  return {
    trigger() {
      if (stopped) return;
      pending = true;
      if (holdoffTimer !== undefined) timers.clearTimeout(holdoffTimer);
      holdoffTimer = timers.setTimeout(fire, holdoffMs);
      maxDelayTimer ??= timers.setTimeout(fire, maxDelayMs);
    },
    async flush() {
      while (!stopped && (pending || running)) {
        if (pending && !running) fire();
        else if (pending) {
          clearTimers();
          due = true;
        }
        await running;
      }
    },
    async stop() {
      stopped = true;
      clearTimers();
      pending = false;
      await running;
    },
    get pending() {
      return pending;
    },
  };
}
