import { z } from 'zod';
import { InvalidInputError, issuePath, truncateName } from '../errors.js';
import { checkRedirector, throughRedirector } from '../root/source/xrootd/url.js';
import { checkDefinedName } from './expression.js';

/** MLaaS4HEP's params.json keys, plus our own (seed, split); unknown keys are refused, not ignored. */
const Params = z
  .object({
    nevts: z
      .number()
      .int()
      .gte(-1)
      .refine((n) => n !== 0, 'must be -1 (all events) or a positive number')
      .default(-1),
    chunk_size: z.number().int().positive().default(10_000),
    epochs: z.number().int().positive().default(5),
    /** 512, not MLaaS4HEP's 100: as good a model in 5 epochs, and fewer, cheaper steps (bench:train) */
    batch_size: z.number().int().positive().default(512),
    shuffle: z.boolean().default(true),
    branch: z.string().min(1).default('Events'),
    identifier: z
      .union([z.array(z.string()), z.literal('').transform(() => undefined)])
      .optional()
      .transform((v) => v ?? ['run', 'event', 'luminosityBlock']),
    selected_branches: z.union([z.array(z.string()), z.literal('').transform(() => undefined)]).optional(),
    exclude_branches: z
      .union([z.array(z.string()), z.literal('').transform(() => [])])
      .optional()
      .transform((v) => v ?? []),
    /** MLaaS4HEP's XRootD redirector: /store/... names are read as <redirector>//store/... */
    redirector: z
      .string()
      .superRefine((r, ctx) => {
        const why = checkRedirector(r);
        if (why) ctx.addIssue({ code: 'custom', message: why });
      })
      .optional(),
    hist: z.string().optional(),
    verbose: z.number().int().optional(),
    seed: z.number().int().nonnegative().default(42),
    split: z
      .object({
        validation: z.number().gte(0).lt(1).default(0.2),
        test: z.number().gte(0).lt(1).default(0.2),
      })
      .strict()
      .refine((s) => s.validation + s.test < 1, 'validation + test must leave events for training')
      .default({ validation: 0.2, test: 0.2 }),
    mask: z.boolean().default(false),
    /** standard: (x - mean) / std of the real values, missing = 0; minmax: MLaaS4HEP's (./encoding.ts) */
    encoding: z.enum(['standard', 'minmax']).default('standard'),
  })
  .strict();

const Cut = z.union([z.string().min(1), z.tuple([z.string().min(1), z.enum(['any', 'all'])])]);
const Flag = z
  .union([z.boolean(), z.enum(['True', 'False', 'true', 'false'])])
  .transform((v) => v === true || v === 'True' || v === 'true');

/** A cut block of MLaaS4HEP's preproc.json: "cut" or "cut_1", "cut_2", ..., and "remove". */
const CutBlock = z
  .object({ remove: Flag.default(false) })
  .catchall(Cut)
  .superRefine((o, ctx) => {
    for (const k of Object.keys(o)) {
      if (k !== 'remove' && !/^cut(_\d+)?$/.test(k))
        ctx.addIssue({ code: 'custom', path: [k], message: 'expected "cut", "cut_<n>" or "remove"' });
    }
  });

const NewBranch = z
  .object({
    def: z.string().min(1),
    type: z.enum(['flat', 'jagged']).optional(),
    remove: Flag.default(false),
    keys_to_remove: z.array(z.string()).default([]),
  })
  .catchall(Cut)
  .superRefine((o, ctx) => {
    for (const k of Object.keys(o)) {
      if (!['def', 'type', 'remove', 'keys_to_remove'].includes(k) && !/^cut(_\d+)?$/.test(k)) {
        ctx.addIssue({
          code: 'custom',
          path: [k],
          message: 'expected def, type, cut, cut_<n>, remove or keys_to_remove',
        });
      }
    }
  });

/** Either MLaaS4HEP's preproc.json layout or a compact one of ours (cuts / define / drop). */
const Preproc = z
  .object({
    new_branch: z.record(z.string(), NewBranch).optional(),
    flat_cut: z.record(z.string(), CutBlock).optional(),
    jagged_cut: z.record(z.string(), CutBlock).optional(),
    cuts: z.array(Cut).optional(),
    define: z.record(z.string(), z.string().min(1)).optional(),
    drop: z.array(z.string()).optional(),
  })
  .strict();

const Labels = z.union([
  z.array(z.union([z.number().finite(), z.string().min(1)])).min(1),
  z.string().min(1), // the name of a branch holding each event's label
]);

/** How to train: MLaaS4HEP's chunk mode, or standard epochs over all chunks (the default). */
const Training = z
  .object({
    mode: z.enum(['standard', 'chunk']).default('standard'),
    /** train on standardised features (folded into the model's first Dense layer afterwards) */
    standardize: z.boolean().default(true),
    /** cosine: the learning rate falls to 1/20 of the model's over the epochs (standard mode) */
    lr_schedule: z.enum(['cosine', 'constant']).default('cosine'),
    early_stopping: z
      .object({
        patience: z.number().int().positive().default(3),
        min_delta: z.number().nonnegative().default(0),
      })
      .strict()
      .optional(),
  })
  .strict();

export const WorkflowSchema = z
  .object({
    files: z.array(z.string().min(1)).min(1, 'give at least one file'),
    labels: Labels,
    params: Params.default(Params.parse({})),
    preproc: Preproc.optional(),
    model: z.unknown().optional(),
    training: Training.prefault({}),
    name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/, 'letters, digits, "_", "." and "-" only')
      .optional(),
    /** the group that owns the model when this job is the first to publish under its name */
    group: z.string().min(1).max(128).optional(),
  })
  .strict()
  .superRefine((w, ctx) => {
    if (Array.isArray(w.labels) && w.labels.length !== w.files.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['labels'],
        message: `${w.labels.length} labels for ${w.files.length} files: give one label per file (or the name of a label branch)`,
      });
    }
  });

export type Workflow = z.output<typeof WorkflowSchema>;
export type WorkflowParams = Workflow['params'];
export type CutSpec = z.output<typeof Cut>;

/**
 * Validates a workflow document; errors name the offending field, e.g. `params.chunk_size: ...`.
 * With `params.redirector`, /store/... names come back as XRootD URLs through it, as MLaaS4HEP reads them.
 */
export function parseWorkflow(doc: unknown): Workflow {
  checkBranchKeys(doc);
  const r = WorkflowSchema.safeParse(doc);
  if (r.success) {
    const { redirector } = r.data.params;
    return redirector
      ? { ...r.data, files: r.data.files.map((f) => throughRedirector(f, redirector)) }
      : r.data;
  }
  const lines = r.error.issues.map((i) => {
    if (i.code === 'unrecognized_keys')
      return `${issuePath(i.path)}: unknown key(s) ${i.keys.map((k) => `"${truncateName(k)}"`).join(', ')}`;
    return `${issuePath(i.path)}: ${i.message}`;
  });
  throw new InvalidInputError(`invalid workflow: ${lines.join('; ')}`);
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The names a preproc section gives branches (define, new_branch) or refers to them by (flat_cut,
 * jagged_cut), read from the document as parsed: a schema never sees a "__proto__" key (it sets
 * the prototype of the object it builds instead), so it would be dropped without a word.
 */
function checkBranchKeys(doc: unknown): void {
  const pre = isObject(doc) ? doc.preproc : undefined;
  if (!isObject(pre)) return;
  for (const section of ['define', 'new_branch', 'flat_cut', 'jagged_cut']) {
    const block = pre[section];
    if (!isObject(block)) continue;
    for (const name of Object.keys(block)) checkDefinedName(name, `invalid workflow: preproc.${section}`);
  }
}
