/** The forwarding rules `npm run bench:rules` prices one at a time, by leaving each out of floor (its SKIP binding). */
export const RULES = ["loop", "request-headers", "deadline", "small-body", "response-headers", "rewrites"] as const;
