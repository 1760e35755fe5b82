// Types for parse-prometheus-text-format (it ships none): its output follows prom2json's.
declare module "parse-prometheus-text-format" {
	export interface PrometheusSample {
		readonly labels?: Record<string, string>;
		readonly value?: string;
		/** Histograms: cumulative counts by `le`, and the count and sum. */
		readonly buckets?: Record<string, string>;
		readonly count?: string;
		readonly sum?: string;
	}
	export interface PrometheusFamily {
		readonly name: string;
		readonly help: string;
		readonly type: "COUNTER" | "GAUGE" | "HISTOGRAM" | "SUMMARY" | "UNTYPED";
		readonly metrics: readonly PrometheusSample[];
	}
	export default function parsePrometheusTextFormat(text: string): PrometheusFamily[];
}
