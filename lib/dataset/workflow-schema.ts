import { z } from 'zod';
import { InvalidInputError } from '../errors.js';
import { parseExpression } from './expression.js';
import { WorkflowSchema } from './workflow.js';

let cached: Record<string, unknown> | undefined;

/**
 * The workflow's JSON Schema, made from the very zod schema /submit validates with, as the input it
 * accepts (defaults optional): the console generates its form from it, so the two cannot drift.
 */
export function workflowJsonSchema(): Record<string, unknown> {
  cached ??= z.toJSONSchema(WorkflowSchema, { io: 'input', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  return cached;
}

const CheckRequest = z
  .object({
    expression: z.string().max(10_000),
    /** the branches the expression may use (from inspect); omitted: any name */
    branches: z.array(z.string()).max(100_000).optional(),
  })
  .strict();

export type ExpressionCheck = { valid: true; variables: string[] } | { valid: false; message: string };

/**
 * A cut or new-branch expression checked by the server's own parser, as the console types it:
 * a parse error is an answer ({ valid: false, message }), not an HTTP error; a malformed request is.
 */
export function checkExpression(body: unknown): ExpressionCheck {
  const r = CheckRequest.safeParse(body);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new InvalidInputError(`expression check: ${i.path.join('.') || 'body'}: ${i.message}`);
  }
  try {
    const e = parseExpression(r.data.expression, r.data.branches);
    return { valid: true, variables: [...e.variables] };
  } catch (err) {
    if (err instanceof InvalidInputError) return { valid: false, message: err.message };
    throw err;
  }
}
