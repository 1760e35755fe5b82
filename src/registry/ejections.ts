/**
 * The authority's side of passive health: ejections counter objects decided, each checked again
 * against every object's ejections (RoutingState.decideEjection: the pool's max_ejection_percent,
 * never its last available origin). Moved out of registry.ts, which calls it and writes the events.
 */
import type { ReportedEjection } from "../contract/counters";
import type { RoutingState } from "../routing/routing-state";
import type { HealthEvent } from "./storage";

export interface EjectionDecisions {
	/** The ones refused; the object that reported them lifts them. */
	readonly refused: string[];
	/** New ejections, as health events to write. */
	readonly events: HealthEvent[];
	/** Replicas must hear of them. */
	readonly moved: boolean;
}

export function decideEjections(
	routing: RoutingState,
	ejections: readonly ReportedEjection[],
	now: number,
): EjectionDecisions {
	const refused: string[] = [];
	const events: HealthEvent[] = [];
	let moved = false;
	for (const ejection of ejections) {
		const decision = routing.decideEjection(ejection, now);
		if (!decision.accepted) refused.push(ejection.key);
		if (decision.event) {
			console.warn(`switchyard: ${ejection.key} ${ejection.reason}`);
			const { at, key: originKey, reason } = ejection;
			events.push({ at, originKey, healthy: false, reason, ejection: true });
		}
		if (decision.moved) moved = true;
	}
	return { refused, events, moved };
}
