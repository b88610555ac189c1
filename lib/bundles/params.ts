import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { TransformSpec } from '../dataset/transform.js';
import { InvalidInputError, issuePath, truncateName, UnprocessableError } from '../errors.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;

/** A model name as it may appear in a key (models/<name>/...): refused with 400 otherwise. */
export function checkModelName(name: string): string {
  if (!NAME.test(name))
    throw new InvalidInputError(
      `invalid model name "${truncateName(name)}": use letters, digits, "_", "." and "-" (at most 100)`,
    );
  return name;
}

/** A version named by a caller: refused unless it looks like one ("latest" means the latest). */
export function checkVersion(version: string): string {
  if (!NAME.test(version)) throw new InvalidInputError(`invalid model version "${truncateName(version)}"`);
  return version;
}

/** Versions sort by time and never collide: 20261128-153012-a1b2c3. */
export function newVersion(now = new Date()): string {
  const t = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${t}-${randomBytes(3).toString('hex')}`;
}

const strings = z.array(z.string());

/**
 * What serving reads of a bundle's transform (lib/dataset/transform.ts's TransformSpec): the
 * features' layout, each input branch's min and max, the tree and the branch selection. Keys it
 * does not know are kept, so a newer writer's additions survive a round trip.
 */
export const TransformSchema = z.looseObject({
  tree: z.string().min(1),
  selection: z.looseObject({ read: strings, features: strings, labelBranch: z.string().optional() }),
  preproc: z.record(z.string(), z.unknown()).optional(),
  layout: z.looseObject({
    flat: strings,
    jagged: z.array(z.looseObject({ name: z.string(), jdim: z.number().int().nonnegative() })),
    mask: z.boolean().default(false),
    names: strings,
  }),
  branches: z.record(
    z.string(),
    z.looseObject({
      min: z.number(),
      max: z.number(),
      jagged: z.boolean().default(false),
      jdim: z.number().int().nonnegative().default(0),
    }),
  ),
  /** absent: MLaaS4HEP's min-max (every bundle written before the standard encoding) */
  encoding: z.enum(['standard', 'minmax']).optional(),
});

const MappedColumnSchema = z.union([
  z.string().min(1),
  z.strictObject({ branch: z.string().min(1), max: z.number().int().positive().max(10_000) }),
]);
const pad = z.number().nullable().optional();

/** lib/dataset/input-mapping.ts's InputMapping: how branches fill each named input of the graph. */
export const InputMappingSchema = z.union([
  z.strictObject({ name: z.string().min(1), columns: z.array(MappedColumnSchema).min(1), pad }),
  z.strictObject({
    name: z.string().min(1),
    objects: z.strictObject({
      branches: z.array(z.string().min(1)).min(1),
      max: z.number().int().positive().max(10_000),
    }),
    pad,
  }),
]);

/**
 * The ONNX graph of a bundle (model.onnx): which branches feed which input, the output read (the
 * graph's first unless named) and the tree `mlaas4hep predict` reads by default.
 */
export const OnnxSectionSchema = z.strictObject({
  file: z.literal('model.onnx').default('model.onnx'),
  inputs: z.array(InputMappingSchema).min(1).max(64),
  output: z.string().min(1).optional(),
  tree: z.string().min(1).optional(),
});

export type OnnxSection = z.output<typeof OnnxSectionSchema>;

/**
 * params.json of a bundle: TFaaS's fields first, then what serving and `predict` need. Bundles
 * uploaded from elsewhere may have no transform (their callers send normalised features).
 */
export const BundleParamsSchema = z.looseObject({
  name: z.string().regex(NAME),
  version: z.string().regex(NAME),
  model: z.string().default('model.json'),
  labels: z.string().default('labels.txt'),
  inputNode: z.string().default(''),
  outputNode: z.string().default(''),
  description: z.string().default(''),
  timestamp: z.string(),
  features: strings,
  classes: z.array(z.union([z.number(), z.string()])),
  transform: TransformSchema.optional(),
  onnx: OnnxSectionSchema.optional(),
  metrics: z.record(z.string(), z.unknown()).default({}),
  workflow: z.unknown(),
  datasetFingerprint: z.string().default(''),
  backend: z.string().default(''),
  versions: z.record(z.string(), z.string()).default({}),
});

/** What BundleParamsSchema guarantees, with the transform typed as the dataset layer defines it. */
export interface BundleParams {
  name: string;
  version: string;
  model: string;
  labels: string;
  inputNode: string;
  outputNode: string;
  description: string;
  timestamp: string;
  features: string[];
  classes: Array<number | string>;
  transform?: TransformSpec;
  /** the bundle's model.onnx and how branches map onto its inputs (absent: TensorFlow.js only) */
  onnx?: OnnxSection;
  metrics: Record<string, unknown>;
  workflow: unknown;
  datasetFingerprint: string;
  backend: string;
  versions: Record<string, string>;
}

function describe(error: z.ZodError): string {
  return error.issues.map((i) => `${issuePath(i.path)}: ${i.message}`).join('; ');
}

/** Checks a params object; a bad field is a 422 naming it and the bundle (`what`). */
export function checkBundleParams(doc: unknown, what: string): BundleParams {
  const r = BundleParamsSchema.safeParse(doc);
  if (!r.success)
    throw new UnprocessableError(
      `params.json of ${what} is not valid: ${describe(r.error)}`,
      'CorruptBundle',
    );
  return r.data as unknown as BundleParams;
}

/** Reads params.json bytes (JSON, then the schema); errors name the bundle. */
export function parseBundleParams(bytes: Uint8Array, what: string): BundleParams {
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new UnprocessableError(`params.json of ${what} is not valid JSON`, 'CorruptBundle');
  }
  return checkBundleParams(doc, what);
}
