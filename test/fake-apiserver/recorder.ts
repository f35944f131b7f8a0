// A SourceHandler for tests: applies events to a map (the state a cache would hold), notes any
// duplicated or spurious event, and lets a test wait for a condition on that state, re-checked
// after every batch, instead of sleeping.
import type { KubeObject, SourceEvent, SourceHandler, SourceProblem } from "../../src/sources/types.ts";
import { kindKey } from "../../src/sources/types.ts";
import { slimObject } from "../../src/sources/kube-transform.ts";
import type { FakeApiServer } from "./index.ts";

export interface Recorder extends SourceHandler {
  state: Map<string, KubeObject>;
  events: SourceEvent[];
  problems: SourceProblem[];
  /** Upserts of a version already held, deletes of something not held. Must stay empty. */
  anomalies: string[];
  synced: Promise<void>;
  syncCount: number;
  waitFor(predicate: () => boolean): Promise<void>;
}

export function createRecorder(): Recorder {
  const waiters: { predicate: () => boolean; resolve: () => void }[] = [];
  let markSynced!: () => void;
  const recorder: Recorder = {
    state: new Map(),
    events: [],
    problems: [],
    anomalies: [],
    syncCount: 0,
    synced: new Promise<void>((resolve) => (markSynced = resolve)),
    onEvents(events) {
      for (const event of events) {
        recorder.events.push(event);
        const key = kindKey(event.object);
        const held = recorder.state.get(key);
        if (event.type === "upsert") {
          if (held && held.metadata.resourceVersion === event.object.metadata.resourceVersion) recorder.anomalies.push(`duplicate upsert ${key}@${held.metadata.resourceVersion}`);
          recorder.state.set(key, event.object);
        } else {
          if (!held) recorder.anomalies.push(`delete of unknown ${key}`);
          recorder.state.delete(key);
        }
      }
      check();
    },
    onSynced() {
      recorder.syncCount++;
      markSynced();
      check();
    },
    onProblem(problem) {
      recorder.problems.push(problem);
      check();
    },
    waitFor(predicate) {
      if (predicate()) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ predicate, resolve }));
    },
  };
  function check(): void {
    for (const waiter of [...waiters]) {
      if (!waiter.predicate()) continue;
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  }
  return recorder;
}

/** `Kind ns/name` → resourceVersion of what the source should deliver for the server's objects. */
export function serverVersions(api: FakeApiServer, kinds: string[]): Map<string, string> {
  const versions = new Map<string, string>();
  for (const kind of kinds) {
    for (const object of api.list(kind)) {
      const apiVersion = object.apiVersion;
      const slim = slimObject(structuredClone(object), apiVersion, kind);
      if (slim) versions.set(kindKey(slim), slim.metadata.resourceVersion ?? "");
    }
  }
  return versions;
}

export function recordedVersions(recorder: Recorder): Map<string, string> {
  return new Map([...recorder.state].map(([key, object]) => [key, object.metadata.resourceVersion ?? ""]));
}

/** True once the recorder holds exactly the server's objects. */
export function converged(recorder: Recorder, api: FakeApiServer, kinds: string[]): boolean {
  const want = serverVersions(api, kinds);
  const have = recordedVersions(recorder);
  if (want.size !== have.size) return false;
  for (const [key, version] of want) if (have.get(key) !== version) return false;
  return true;
}
