import { InvalidInputError } from '../errors.js';
import type { Limits } from '../limits.js';
import { parseExpression } from './expression.js';
import { cutsOf } from './preproc.js';
import type { CutSpec, Workflow } from './workflow.js';

/** Every cut and definition of a preproc section, with where it is, for messages. */
function expressionsOf(pre: Workflow['preproc']): Array<[where: string, text: string]> {
  if (!pre) return [];
  const text = (c: CutSpec) => (typeof c === 'string' ? c : c[0]);
  const out: Array<[string, string]> = [];
  for (const [n, d] of Object.entries(pre.define ?? {})) out.push([`preproc.define.${n}`, d]);
  for (const [n, b] of Object.entries(pre.new_branch ?? {})) {
    out.push([`preproc.new_branch.${n}.def`, b.def]);
    for (const c of cutsOf(b)) out.push([`preproc.new_branch.${n}`, text(c)]);
  }
  for (const group of ['flat_cut', 'jagged_cut'] as const)
    for (const [n, b] of Object.entries(pre[group] ?? {}))
      for (const c of cutsOf(b)) out.push([`preproc.${group}.${n}`, text(c)]);
  (pre.cuts ?? []).forEach((c, i) => {
    out.push([`preproc.cuts[${i}]`, text(c)]);
  });
  return out;
}

function over(field: string, value: number, limit: number, variable: string): InvalidInputError {
  return new InvalidInputError(
    `${field} is ${value}, over this service's limit of ${limit} (${variable}, set by its operators)`,
  );
}

/**
 * The deployment's limits on what a workflow asks for, checked at submit before anything is
 * queued: epochs, batch size, chunk size, number of files, and every cut and definition's length
 * and depth (each parsed, so a malformed one is refused now rather than failing the job later).
 * The model's own size is checked by checkModelBudget. A 400 names the field and the limit.
 */
export function checkWorkflowLimits(w: Workflow, limits: Limits): void {
  const p = w.params;
  if (w.files.length > limits.maxFiles)
    throw over('the number of files', w.files.length, limits.maxFiles, 'MLAAS4HEP_MAX_FILES');
  if (p.epochs > limits.maxEpochs)
    throw over('params.epochs', p.epochs, limits.maxEpochs, 'MLAAS4HEP_MAX_EPOCHS');
  if (p.batch_size > limits.maxBatchSize)
    throw over('params.batch_size', p.batch_size, limits.maxBatchSize, 'MLAAS4HEP_MAX_BATCH_SIZE');
  if (p.chunk_size > limits.maxChunkSize)
    throw over('params.chunk_size', p.chunk_size, limits.maxChunkSize, 'MLAAS4HEP_MAX_CHUNK_SIZE');
  const bounds = { maxLength: limits.maxExpressionLength, maxDepth: limits.maxExpressionDepth };
  for (const [where, text] of expressionsOf(w.preproc)) {
    try {
      parseExpression(text, undefined, bounds);
    } catch (err) {
      throw new InvalidInputError(`${where}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}
