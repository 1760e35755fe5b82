// Issue 12: one planner, two hosts. The counter object's core and the isolate's own counters keep
// the same contract.
import { IsolateCounters } from "../../../src/edge/isolate-counters";
import { CounterCore } from "../../../src/routing/counter";
import { toLeasePrefix } from "../../../src/routing/shard-keys";
import { runPlannerContract } from "./planner-contract";

const KEY = "lb:app.test@FRA";

runPlannerContract({
	name: "a counter object (CounterCore)",
	make: () => {
		const core = new CounterCore(KEY, toLeasePrefix(KEY, "obj"));
		return {
			plan: (request, replica, now) => {
				core.adopt(replica, now);
				return core.route({ ...request, shardTry: 1 }, now, () => 0.5) as never;
			},
			release: (record, now) => void core.applyOutcomes([record], now),
		};
	},
});

runPlannerContract({
	name: "an isolate planning by itself (IsolateCounters)",
	make: () => {
		const local = new IsolateCounters("t");
		return {
			plan: (request, replica, now) => local.plan(KEY, request, replica, now, () => 0.5),
			release: (record, now) => void local.release(record, now),
		};
	},
});
