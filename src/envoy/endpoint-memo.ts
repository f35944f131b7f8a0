// Load assignments remembered from one build to the next, held by whoever runs the builds (the
// pipeline): an EDS target whose Service port is the same and whose EndpointSlices are the same
// objects (the object cache replaces an object when it changes, never edits it) under the same
// policy gives back the assignment it gave before, the same JSON object, which validation and
// encoding then find by identity; the problems it reported are reported again. Gives exactly what
// loadAssignments gives (endpoint.ts).
import { sameItems } from "../base/values.ts";
import type { Cluster } from "../dag/types.ts";
import type { KubeObject } from "../sources/types.ts";
import type { JsonObject } from "./common.ts";
import { edsTargets, loadAssignmentFor, type EdsTarget, type EndpointOptions, type EndpointProblem, type EndpointSliceLookup } from "./endpoint.ts";

interface Remembered {
  /** The target's Service port and health port: the same objects, or the same as text (targetText, made only to compare). */
  service: EdsTarget["service"];
  healthPort: EdsTarget["healthPort"];
  slices: readonly KubeObject[];
  /** The policy, as text. */
  policy: string;
  problems: EndpointProblem[];
  assignment: JsonObject;
}

export interface LoadAssignmentMemo {
  /** loadAssignments(clusters, endpointSlices, options), reusing what is unchanged since the last call. */
  loadAssignments(clusters: Iterable<Cluster>, endpointSlices: EndpointSliceLookup, options?: EndpointOptions): JsonObject[];
  /** How many assignments the last call computed anew. */
  readonly computed: number;
}

// Most assignments report no problem: one shared frozen list, not an empty array each (100k at 100k Services).
const noProblems: EndpointProblem[] = Object.freeze([]) as unknown as EndpointProblem[];

export function createLoadAssignmentMemo(): LoadAssignmentMemo {
  let remembered = new Map<string, Remembered>();
  let computed = 0;
  return {
    loadAssignments(clusters, endpointSlices, options = {}) {
      const next = new Map<string, Remembered>();
      const policy = JSON.stringify(options.policy ?? {});
      computed = 0;
      const assignments = edsTargets(clusters).map((target) => {
        const slices = endpointSlices(target.service.namespace, target.service.name);
        let entry = remembered.get(target.edsServiceName);
        const same = entry !== undefined && ((entry.service === target.service && entry.healthPort === target.healthPort) || targetText(entry) === targetText(target));
        if (!entry || !same || entry.policy !== policy || !sameItems(entry.slices, slices)) {
          const problems: EndpointProblem[] = [];
          const assignment = loadAssignmentFor(target, () => slices, { policy: options.policy, report: (problem) => problems.push(problem) });
          entry = { service: target.service, healthPort: target.healthPort, slices, policy, problems: problems.length === 0 ? noProblems : problems, assignment };
          computed++;
        }
        for (const problem of entry.problems) options.report?.(problem);
        next.set(target.edsServiceName, entry);
        return entry.assignment;
      });
      remembered = next;
      return assignments;
    },
    get computed() {
      return computed;
    },
  };
}

function targetText(target: Pick<EdsTarget, "service" | "healthPort">): string {
  return JSON.stringify([target.service, target.healthPort ?? null]);
}
