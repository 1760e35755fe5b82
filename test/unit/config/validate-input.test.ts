/**
 * Issue 14, item 4: what validateConfig says of input it used to keep silently, mangle or choke
 * on: unknown fields at any depth (named like Object.prototype members too), `__proto__` keys,
 * nesting deeper than 64 levels, and the ids "." and "..".
 */
import { describe, expect, it } from "vitest";
import { findUnsafeJson, MAX_JSON_DEPTH, type ValidationResult, validateConfig } from "../../../src/config/validate";
import { aConfig, aLoadBalancer, aMonitor, anOrigin, aPool } from "../../fixtures/config";

function accepted(result: ValidationResult) {
	if (!result.ok) throw new Error(`expected a valid config, got ${JSON.stringify(result.errors)}`);
	return result;
}

function errorsOf(input: unknown) {
	const result = validateConfig(input);
	if (result.ok) throw new Error("expected the config to be rejected");
	return result.errors;
}

const unknown = (path: string) => `${path}: unknown field; kept, but not acted on`;

/** `n` arrays nested inside one another: `[[…]]`. */
function nestedArrays(n: number): unknown {
	let value: unknown[] = [];
	for (let i = 1; i < n; i++) value = [value];
	return value;
}

describe("issue 14, item 4: unknown fields inside nested objects", () => {
	it.each([
		{
			where: "a pool's origin_steering",
			input: aConfig({
				pools: [aPool("primary", [anOrigin("a")], { origin_steering: { policy: "random", sticky: true } as never })],
			}),
			path: "pools[0].origin_steering.sticky",
		},
		{
			where: "an origin's header",
			input: aConfig({
				pools: [aPool("primary", [anOrigin("a", undefined, { header: { Host: ["h"], "X-Tenant": ["t"] } as never })])],
			}),
			path: "pools[0].origins[0].header.X-Tenant",
		},
		...["session_affinity_attributes", "adaptive_routing", "random_steering"].map((field) => ({
			where: `a load balancer's ${field}`,
			input: aConfig({
				load_balancers: [
					aLoadBalancer("app.example.com", ["primary"], { fallback_pool: "primary", [field]: { extra: 1 } }),
				],
			}),
			path: `load_balancers[0].${field}.extra`,
		})),
	])("reports them in $where, with their path, and keeps them", ({ input, path }) => {
		const result = accepted(validateConfig(input));
		expect(result.messages).toContain(unknown(path));
		// Kept: the field is in the validated configuration.
		const [head, ...rest] = path.replace(/\[(\d+)\]/g, ".$1").split(".");
		let value: unknown = (result.config as unknown as Record<string, unknown>)[head as string];
		for (const part of rest) value = (value as Record<string, unknown>)[part];
		expect(value).toBeDefined();
	});

	it("refuses them in the strict proxy and outlier_detection blocks, naming the block", () => {
		const input = aConfig({
			load_balancers: [
				aLoadBalancer("app.example.com", ["primary"], {
					fallback_pool: "primary",
					proxy: { timeout_ms: 1000, colour: "red" } as never,
					outlier_detection: { toString: 1 } as never,
				}),
			],
		});
		const paths = errorsOf(input).map((error) => error.path);
		expect(paths).toEqual(expect.arrayContaining(["load_balancers[0].proxy", "load_balancers[0].outlier_detection"]));
	});

	it("reports nothing for maps whose keys are data (a monitor's header, pool maps, pool weights)", () => {
		const input = aConfig({
			monitors: [aMonitor("mon", { header: { "X-Probe": ["1"] } })],
			load_balancers: [
				aLoadBalancer("app.example.com", ["primary"], {
					fallback_pool: "primary",
					country_pools: { DE: ["primary"] },
					random_steering: { pool_weights: { primary: 0.5 } },
				}),
			],
		});
		expect(accepted(validateConfig(input)).messages).toEqual([]);
	});

	it("does not walk into a field it reports whole (location_strategy)", () => {
		const input = aConfig({
			load_balancers: [
				aLoadBalancer("app.example.com", ["primary"], {
					fallback_pool: "primary",
					location_strategy: { mode: "pop", prefer_ecs: "always", extra: 1 } as never,
				}),
			],
		});
		const { messages } = accepted(validateConfig(input));
		expect(messages).toEqual(["load_balancers[0].location_strategy: kept, but not acted on by this version"]);
	});
});

describe("issue 14, item 4: fields named like Object.prototype members", () => {
	it.each(["constructor", "toString", "hasOwnProperty", "valueOf", "isPrototypeOf"])(
		"reports %s as an unknown field wherever it is",
		(name) => {
			const input = JSON.parse(
				JSON.stringify(
					aConfig({
						monitors: [aMonitor("mon", { [name]: 1 })],
						pools: [
							aPool("primary", [anOrigin("a", undefined, { [name]: 1 })], {
								monitor: "mon",
								[name]: 1,
								origin_steering: { policy: "random", [name]: 1 } as never,
							}),
						],
						load_balancers: [aLoadBalancer("app.example.com", ["primary"], { fallback_pool: "primary", [name]: 1 })],
					}),
				),
			);
			const { messages } = accepted(validateConfig(input));
			expect(messages).toEqual(
				expect.arrayContaining([
					unknown(`monitors[0].${name}`),
					unknown(`pools[0].${name}`),
					unknown(`pools[0].origin_steering.${name}`),
					unknown(`pools[0].origins[0].${name}`),
					unknown(`load_balancers[0].${name}`),
				]),
			);
		},
	);
});

describe("issue 14, item 4: __proto__ keys", () => {
	it.each([
		{ text: '{"pools": [{"id": "p", "name": "p", "origins": [], "__proto__": {"x": 1}}]}', path: "pools[0].__proto__" },
		{ text: '{"__proto__": {}}', path: "__proto__" },
		{
			text: '{"monitors": [{"id": "m", "header": {"__proto__": ["x"]}}]}',
			path: "monitors[0].header.__proto__",
		},
	])("refuses $path, naming it (JSON.parse keeps it; a copy would drop it)", ({ text, path }) => {
		const errors = errorsOf(JSON.parse(text));
		expect(errors).toEqual([{ path, message: expect.stringContaining("__proto__") }]);
	});
});

describe("issue 14, item 4: nesting deeper than 64 levels", () => {
	it(`refuses a document deeper than ${MAX_JSON_DEPTH} levels, and takes one exactly that deep`, () => {
		// The document is level 1, pools 2, the pool 3: `deep` holds the rest.
		const pool = (levels: number) => ({ id: "p", name: "p", origins: [], deep: nestedArrays(levels) });
		expect(MAX_JSON_DEPTH).toBe(64);
		accepted(validateConfig({ pools: [pool(61)] }));
		const [error] = errorsOf({ pools: [pool(62)] });
		expect(error?.path).toMatch(/^pools\[0\]\.deep(\[0\]){61}$/);
		expect(error?.message).toMatch(/deeper than 64 levels/);
	});

	it("checks a very deep value without overflowing the stack", () => {
		const deep = nestedArrays(200_000);
		expect(findUnsafeJson({ deep })?.message).toMatch(/deeper than 64 levels/);
		expect(errorsOf({ pools: [{ id: "p", name: "p", origins: [], deep }] })).toHaveLength(1);
	});
});

describe('issue 14, item 4: the ids "." and ".."', () => {
	it.each([".", "..", " .. "])("refuses %j as a monitor id, pool id or origin name, naming the field", (id) => {
		const input = {
			monitors: [{ id }],
			pools: [{ id, name: "p", monitor: "ok", origins: [{ name: id, address: "a.example.com" }] }],
		};
		const errors = errorsOf(input);
		for (const path of ["monitors[0].id", "pools[0].id", "pools[0].origins[0].name"]) {
			expect(errors.find((error) => error.path === path)?.message).toMatch(/URL path/);
		}
	});

	it("still takes ids that only contain dots among other characters", () => {
		const input = aConfig({
			monitors: [aMonitor("mon.v2")],
			pools: [aPool("...", [anOrigin("a.b"), anOrigin(".hidden", "hidden.example.com")], { monitor: "mon.v2" })],
			load_balancers: [aLoadBalancer("app.example.com", ["..."], { fallback_pool: "..." })],
		});
		accepted(validateConfig(input));
	});
});
