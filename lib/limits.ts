import { truncateName } from './errors.js';

/**
 * What one workflow may ask of the service: checked at submit (and the model again by the trainer,
 * once the input width is known), so a job that could only exhaust memory or run for ever is a 4xx
 * naming the limit instead of a 202. Defaults suit a shared deployment; each can be changed per
 * deployment with the environment variable named beside it.
 */
export interface Limits {
  /** trainable parameters of the model (MLAAS4HEP_MAX_PARAMETERS) */
  maxParameters: number;
  /** estimated memory of training the model: weights, gradients, optimizer state, one batch (MLAAS4HEP_MAX_TRAINING_MEMORY_MB) */
  maxTrainingBytes: number;
  /** params.epochs (MLAAS4HEP_MAX_EPOCHS) */
  maxEpochs: number;
  /** params.batch_size (MLAAS4HEP_MAX_BATCH_SIZE) */
  maxBatchSize: number;
  /** params.chunk_size (MLAAS4HEP_MAX_CHUNK_SIZE) */
  maxChunkSize: number;
  /** files of one workflow (MLAAS4HEP_MAX_FILES) */
  maxFiles: number;
  /** characters of one cut or definition (MLAAS4HEP_MAX_EXPRESSION_LENGTH) */
  maxExpressionLength: number;
  /** nesting of one cut or definition: operators, calls, parentheses (MLAAS4HEP_MAX_EXPRESSION_DEPTH) */
  maxExpressionDepth: number;
}

const MiB = 1024 * 1024;

export const DEFAULT_LIMITS: Readonly<Limits> = {
  maxParameters: 10_000_000,
  maxTrainingBytes: 2048 * MiB,
  maxEpochs: 1000,
  maxBatchSize: 65_536,
  maxChunkSize: 1_000_000,
  maxFiles: 1000,
  maxExpressionLength: 1000,
  maxExpressionDepth: 32,
};

/**
 * The parser's own ceilings, whatever a deployment sets: beyond these an expression could exhaust
 * the stack of the code that walks its tree.
 */
export const EXPRESSION_CEILING = { maxLength: 10_000, maxDepth: 256 } as const;

const ENV: Record<keyof Limits, [variable: string, unit: number, ceiling?: number]> = {
  maxParameters: ['MLAAS4HEP_MAX_PARAMETERS', 1],
  maxTrainingBytes: ['MLAAS4HEP_MAX_TRAINING_MEMORY_MB', MiB],
  maxEpochs: ['MLAAS4HEP_MAX_EPOCHS', 1],
  maxBatchSize: ['MLAAS4HEP_MAX_BATCH_SIZE', 1],
  maxChunkSize: ['MLAAS4HEP_MAX_CHUNK_SIZE', 1],
  maxFiles: ['MLAAS4HEP_MAX_FILES', 1],
  maxExpressionLength: ['MLAAS4HEP_MAX_EXPRESSION_LENGTH', 1, EXPRESSION_CEILING.maxLength],
  maxExpressionDepth: ['MLAAS4HEP_MAX_EXPRESSION_DEPTH', 1, EXPRESSION_CEILING.maxDepth],
};

/**
 * The deployment's limits: the defaults, each replaced by its variable when set. A value that is
 * not a positive integer (or is over the parser's ceiling) throws a TypeError naming the variable,
 * so a bad setting fails the start, not every submission.
 */
export function limitsFromEnv(env: NodeJS.ProcessEnv = process.env): Limits {
  const out = { ...DEFAULT_LIMITS };
  for (const [key, [variable, unit, ceiling]] of Object.entries(ENV) as Array<
    [keyof Limits, [string, number, number?]]
  >) {
    const text = env[variable]?.trim();
    if (!text) continue;
    const n = Number(text);
    if (!Number.isSafeInteger(n) || n <= 0)
      throw new TypeError(`${variable} must be a positive integer, got "${truncateName(text)}"`);
    if (ceiling !== undefined && n > ceiling)
      throw new TypeError(`${variable} may be at most ${ceiling}, got ${n}`);
    out[key] = n * unit;
  }
  return out;
}
