/**
 * A string the balancer sends as a header's value (a rule's fixed_response `content_type` and
 * `location`): refused at validation when `Headers.set` would throw on it for every request that
 * matches (a line break, a control character, a character above U+00FF), naming the field. Pure.
 */
import { z } from "zod";
import { toHeaderValueProblem } from "../rules/header-value";

export function headerValueSchema(maxLength: number) {
	return z
		.string()
		.max(maxLength)
		.superRefine((value, ctx) => {
			const problem = toHeaderValueProblem(value);
			if (problem) ctx.addIssue({ code: "custom", message: problem });
		});
}
