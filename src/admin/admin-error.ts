import type { ProblemFields, ProblemKind } from "../proxy/problem";

/** Thrown anywhere in an admin handler; the router's `catch` turns it into problem JSON. */
export class AdminError extends Error {
	constructor(
		readonly kind: ProblemKind,
		readonly fields: ProblemFields,
		readonly headers: Record<string, string> = {},
	) {
		super(fields.detail);
	}
}
