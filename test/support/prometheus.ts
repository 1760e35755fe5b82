/**
 * Reading a Prometheus text exposition in tests, with parse-prometheus-text-format (a maintained
 * parser from npm, prom2json's output shape), never with a parser of our own.
 */
import parsePrometheusTextFormat, { type PrometheusFamily, type PrometheusSample } from "parse-prometheus-text-format";

export type { PrometheusFamily, PrometheusSample };

/** The families of a text exposition by name (a name the parser met in several places: their samples together). */
export function parseMetrics(text: string): Map<string, PrometheusFamily> {
	const families = new Map<string, PrometheusFamily>();
	for (const family of parsePrometheusTextFormat(text)) {
		const seen = families.get(family.name);
		families.set(family.name, seen ? { ...seen, metrics: [...seen.metrics, ...family.metrics] } : family);
	}
	return families;
}

/** The samples of `name` whose labels include `labels`. */
export function samplesOf(
	families: ReadonlyMap<string, PrometheusFamily>,
	name: string,
	labels: Record<string, string> = {},
): PrometheusSample[] {
	const family = families.get(name);
	if (!family) return [];
	return family.metrics.filter((sample) =>
		Object.entries(labels).every(([label, value]) => sample.labels?.[label] === value),
	);
}

/** The sum of the values of `name`'s samples whose labels include `labels` (0 when none). */
export function sumOf(
	families: ReadonlyMap<string, PrometheusFamily>,
	name: string,
	labels: Record<string, string> = {},
): number {
	return samplesOf(families, name, labels).reduce((sum, sample) => sum + Number(sample.value), 0);
}

/**
 * A histogram's series as plain samples: `${name}_bucket` (with `le`), `_sum` and `_count`. The
 * parser folds every series of a labelled histogram into one (it keeps only the last series'
 * buckets, and no count or sum), so the histogram's TYPE line is left out and the parser reads its
 * three kinds of samples as the untyped families they are written as.
 */
export function histogramSeries(text: string, name: string): Map<string, PrometheusFamily> {
	return parseMetrics(text.replace(`# TYPE ${name} histogram\n`, ""));
}
