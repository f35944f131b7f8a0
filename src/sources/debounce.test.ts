import { describe, expect, test } from "bun:test";
import { createDebouncer, type DebounceTimers } from "./debounce.ts";

/** A manual clock: timers fire only when the test advances time. */
function fakeClock() {
  let now = 0;
  let nextId = 0;
  const pending = new Map<number, { at: number; callback: () => void }>();
  const timers: DebounceTimers = {
    setTimeout(callback, ms) {
      const id = ++nextId;
      pending.set(id, { at: now + ms, callback });
      return { id };
    },
    clearTimeout(timer) {
      pending.delete((timer as { id: number }).id);
    },
  };
  async function settle() {
    for (let i = 0; i < 10; i++) await Promise.resolve();
  }
  /** Moves time forward by `ms`, firing due timers in order and letting async runs progress. */
  async function advance(ms: number) {
    const until = now + ms;
    for (;;) {
      await settle();
      let next: [number, { at: number; callback: () => void }] | undefined;
      for (const entry of pending) if (entry[1].at <= until && (!next || entry[1].at < next[1].at)) next = entry;
      if (!next) break;
      pending.delete(next[0]);
      now = next[1].at;
      next[1].callback();
    }
    now = until;
    await settle();
  }
  return { timers, advance, now: () => now, pendingTimers: () => pending.size };
}

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe("createDebouncer", () => {
  test("a burst of triggers yields one run, after the holdoff of quiet", async () => {
    const clock = fakeClock();
    const runs: number[] = [];
    const debouncer = createDebouncer({
      holdoffMs: 100,
      maxDelayMs: 500,
      run: () => void runs.push(clock.now()),
      timers: clock.timers,
    });
    debouncer.trigger();
    await clock.advance(50);
    debouncer.trigger();
    await clock.advance(50);
    debouncer.trigger();
    await clock.advance(99);
    expect(runs).toEqual([]);
    await clock.advance(1);
    expect(runs).toEqual([200]);
    await clock.advance(1000);
    expect(runs).toEqual([200]);
    expect(clock.pendingTimers()).toBe(0);
  });

  test("a steady stream of triggers still runs at the maximum delay", async () => {
    const clock = fakeClock();
    const runs: number[] = [];
    const debouncer = createDebouncer({
      holdoffMs: 100,
      maxDelayMs: 500,
      run: () => void runs.push(clock.now()),
      timers: clock.timers,
    });
    for (let i = 0; i < 12; i++) {
      debouncer.trigger();
      await clock.advance(50);
    }
    // triggers at 0..550 every 50 ms: the burst from 0 runs at 500, the next burst (from 550) waits.
    expect(runs).toEqual([500]);
    await clock.advance(1000);
    expect(runs).toEqual([500, 650]);
  });

  test("runs never overlap; triggers during a run give exactly one more run after it", async () => {
    const clock = fakeClock();
    let active = 0;
    let maxActive = 0;
    const gates: ReturnType<typeof deferred>[] = [];
    const debouncer = createDebouncer({
      holdoffMs: 10,
      maxDelayMs: 50,
      timers: clock.timers,
      async run() {
        active++;
        maxActive = Math.max(maxActive, active);
        const gate = deferred();
        gates.push(gate);
        await gate.promise;
        active--;
      },
    });
    debouncer.trigger();
    await clock.advance(10);
    expect(gates.length).toBe(1);
    for (let i = 0; i < 5; i++) {
      debouncer.trigger();
      await clock.advance(20); // holdoff and max delay both pass while the first run is still going
    }
    expect(gates.length).toBe(1);
    gates[0]!.resolve();
    await clock.advance(0);
    expect(gates.length).toBe(2);
    gates[1]!.resolve();
    await clock.advance(1000);
    expect(gates.length).toBe(2);
    expect(maxActive).toBe(1);
  });

  test("flush runs what is pending now and resolves after it; without pending work it does nothing", async () => {
    const clock = fakeClock();
    let runs = 0;
    const debouncer = createDebouncer({ holdoffMs: 100, maxDelayMs: 500, run: () => void runs++, timers: clock.timers });
    await debouncer.flush();
    expect(runs).toBe(0);
    debouncer.trigger();
    expect(debouncer.pending).toBe(true);
    await debouncer.flush();
    expect(runs).toBe(1);
    expect(debouncer.pending).toBe(false);
    await clock.advance(1000);
    expect(runs).toBe(1);
  });

  test("flush during a run waits for it and then runs the triggers that came in meanwhile", async () => {
    const clock = fakeClock();
    const order: string[] = [];
    const gate = deferred();
    let call = 0;
    const debouncer = createDebouncer({
      holdoffMs: 100,
      maxDelayMs: 500,
      timers: clock.timers,
      async run() {
        const n = ++call;
        order.push(`start ${n}`);
        if (n === 1) await gate.promise;
        order.push(`end ${n}`);
      },
    });
    debouncer.trigger();
    await clock.advance(100);
    debouncer.trigger();
    const flushed = debouncer.flush().then(() => order.push("flushed"));
    await clock.advance(0);
    gate.resolve();
    await flushed;
    expect(order).toEqual(["start 1", "end 1", "start 2", "end 2", "flushed"]);
  });

  test("a failing run is logged and later triggers still run", async () => {
    const clock = fakeClock();
    let runs = 0;
    const debouncer = createDebouncer({
      holdoffMs: 10,
      maxDelayMs: 50,
      timers: clock.timers,
      run() {
        runs++;
        if (runs === 1) throw new Error("boom");
      },
    });
    debouncer.trigger();
    await clock.advance(10);
    debouncer.trigger();
    await clock.advance(10);
    expect(runs).toBe(2);
  });

  test("stop cancels pending work, waits for the current run, and ignores later triggers", async () => {
    const clock = fakeClock();
    let runs = 0;
    const gate = deferred();
    const debouncer = createDebouncer({
      holdoffMs: 10,
      maxDelayMs: 50,
      timers: clock.timers,
      async run() {
        runs++;
        await gate.promise;
      },
    });
    debouncer.trigger();
    await clock.advance(10);
    debouncer.trigger();
    let stopped = false;
    const stopping = debouncer.stop().then(() => (stopped = true));
    await clock.advance(0);
    expect(stopped).toBe(false);
    gate.resolve();
    await stopping;
    debouncer.trigger();
    await clock.advance(1000);
    expect(runs).toBe(1);
    expect(clock.pendingTimers()).toBe(0);
  });

  test("works on real timers", async () => {
    const done = deferred();
    let runs = 0;
    const debouncer = createDebouncer({
      holdoffMs: 5,
      maxDelayMs: 20,
      run() {
        runs++;
        done.resolve();
      },
    });
    debouncer.trigger();
    debouncer.trigger();
    await done.promise;
    await debouncer.stop();
    expect(runs).toBe(1);
  });
});
