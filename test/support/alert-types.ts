/** What the alert receiver (alert-receiver.ts, Node) records: shared with the Workers-runtime tests. */
export interface ReceivedAlert {
	readonly path: string;
	readonly headers: Record<string, string | string[] | undefined>;
	readonly body: string;
	/** The status the receiver answered. */
	readonly status: number;
}
