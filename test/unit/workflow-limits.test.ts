import { describe, expect, it } from 'vitest';
import { prepareDataset } from '../../lib/dataset/dataset.js';
import { parseWorkflow } from '../../lib/dataset/workflow.js';
import { InvalidInputError, MlaasError, UnprocessableError } from '../../lib/errors.js';
import { DEFAULT_LIMITS, limitsFromEnv } from '../../lib/limits.js';
import { Service } from '../../lib/service/service.js';
import { LocalObjectStore } from '../../lib/storage/local.js';
import { checkModelBudget, modelBudget, parseModelDefinition } from '../../lib/training/model-schema.js';
import { alice, twoFileWorkflow, useLocalService } from '../helpers/local-service.js';

const workflow = twoFileWorkflow;
const local = useLocalService('limits');

async function refusal(doc: unknown): Promise<MlaasError> {
  const before = local.queue.size;
  const err = await local.service.submit(alice, doc).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(MlaasError);
  expect(local.queue.size).toBe(before);
  return err as MlaasError;
}

describe('limits at submit: a job that could only exhaust the service is a 4xx naming the limit', () => {
  it('refuses two 65,536-unit dense layers (finding 4) with 422 naming the parameter limit', async () => {
    const model = {
      layers: [
        { type: 'dense', units: 65_536 },
        { type: 'dense', units: 65_536 },
      ],
    };
    const err = await refusal({ ...workflow, model });
    expect(err).toBeInstanceOf(UnprocessableError);
    expect(err.status).toBe(422);
    expect(err.message).toMatch(
      /4,295,\d{3},\d{3} parameters .* limit of 10,000,000 \(MLAAS4HEP_MAX_PARAMETERS\)/,
    );
  });

  it('refuses epochs, batch_size and chunk_size of 1e9 and too many files, each naming the field and its variable', async () => {
    const cases = [
      [
        { ...workflow, params: { epochs: 1e9 } },
        /params\.epochs is 1000000000, over .* limit of 1000 \(MLAAS4HEP_MAX_EPOCHS/,
      ],
      [
        { ...workflow, params: { batch_size: 1e9 } },
        /params\.batch_size .* limit of 65536 \(MLAAS4HEP_MAX_BATCH_SIZE/,
      ],
      [{ ...workflow, params: { chunk_size: 1e9 } }, /params\.chunk_size .* \(MLAAS4HEP_MAX_CHUNK_SIZE/],
      [
        { files: Array.from({ length: 1001 }, (_, i) => `s3://hep/f${i}.root`), labels: 'y' },
        /number of files is 1001, over .* limit of 1000 \(MLAAS4HEP_MAX_FILES/,
      ],
    ] as const;
    for (const [doc, message] of cases) {
      const err = await refusal(doc);
      expect(err).toBeInstanceOf(InvalidInputError);
      expect(err.message).toMatch(message);
    }
  });

  it('refuses a units: 1e9 layer with 422 naming the field', async () => {
    const err = await refusal({ ...workflow, model: { layers: [{ type: 'dense', units: 1e9 }] } });
    expect(err.status).toBe(422);
    expect(err.message).toMatch(/model\.layers\[0\]\.units/);
  });

  it('refuses a Keras topology whose Dense layers hold too many parameters', async () => {
    const keras = {
      class_name: 'Sequential',
      config: {
        layers: [
          { class_name: 'Dense', config: { units: 50_000, batch_input_shape: [null, 20] } },
          { class_name: 'Dense', config: { units: 50_000 } },
          { class_name: 'Dense', config: { units: 1 } },
        ],
      },
    };
    const err = await refusal({ ...workflow, model: { keras } });
    expect(err.message).toMatch(/2,50\d,\d{3},\d{3} parameters for 1 input feature/);
  });

  it('refuses a model whose training memory (large batch times wide layers) is over the memory limit', async () => {
    const model = { layers: Array.from({ length: 16 }, () => ({ type: 'dense', units: 16_384 })) };
    const err = await refusal({
      ...workflow,
      model: { layers: model.layers.slice(0, 2) },
      params: { batch_size: 65_536 },
    });
    expect(err.message).toMatch(/MLAAS4HEP_MAX_PARAMETERS|MLAAS4HEP_MAX_TRAINING_MEMORY_MB/);
    const b = modelBudget(parseModelDefinition({ layers: [{ type: 'dense', units: 4096 }] }), {
      inputs: 10,
      classes: 2,
      batchSize: 65_536,
    });
    expect(() =>
      checkModelBudget(
        parseModelDefinition({ layers: [{ type: 'dense', units: 4096 }] }),
        { inputs: 10, classes: 2, batchSize: 65_536 },
        { maxParameters: 1e9, maxTrainingBytes: b.trainingBytes - 1 },
      ),
    ).toThrow(/training the model needs about .* MiB .* \(MLAAS4HEP_MAX_TRAINING_MEMORY_MB\)/);
  });

  it('counts the parameters of a declarative model as TensorFlow.js does (dense, batch norm, the output layer)', () => {
    const def = parseModelDefinition({
      layers: [{ type: 'dense', units: 8 }, { type: 'batchNormalization' }, { type: 'dense', units: 4 }],
    });
    // 5*8+8, 4*8 (gamma, beta, moving mean and variance), 8*4+4, output 4*3+3
    expect(modelBudget(def, { inputs: 5, classes: 3, batchSize: 1 }).parameters).toBe(48 + 32 + 36 + 15);
  });

  it('refuses an over-long or over-deep cut at submit, naming where it is', async () => {
    const long = await refusal({ ...workflow, preproc: { cuts: [`x > ${'1'.repeat(1001)}`] } });
    expect(long.message).toMatch(/preproc\.cuts\[0\]: .* longer than the limit of 1000 characters/);
    const deep = await refusal({
      ...workflow,
      preproc: { define: { y: `${'abs('.repeat(40)}x${')'.repeat(40)}` } },
    });
    expect(deep.message).toMatch(/preproc\.define\.y: .*nested too deeply/);
    const chain = await refusal({ ...workflow, preproc: { cuts: [Array(60).fill('x').join(' + ')] } });
    expect(chain.message).toMatch(/nested too deeply: 60 levels, the limit is 32/);
  });

  it('accepts the default model and a normal workflow', async () => {
    const { status } = await local.service.submit(alice, {
      ...workflow,
      params: { epochs: 20, batch_size: 256 },
    });
    expect(status).toBe('queued');
  });

  it('reads each limit from its variable, and names a bad value', () => {
    expect(limitsFromEnv({})).toEqual(DEFAULT_LIMITS);
    const l = limitsFromEnv({ MLAAS4HEP_MAX_EPOCHS: '20', MLAAS4HEP_MAX_TRAINING_MEMORY_MB: '512' });
    expect(l.maxEpochs).toBe(20);
    expect(l.maxTrainingBytes).toBe(512 * 2 ** 20);
    expect(() => limitsFromEnv({ MLAAS4HEP_MAX_FILES: '1e3x' })).toThrow(
      /MLAAS4HEP_MAX_FILES must be a positive integer/,
    );
    expect(() => limitsFromEnv({ MLAAS4HEP_MAX_EXPRESSION_DEPTH: '100000' })).toThrow(/at most 256/);
  });

  it('applies a deployment limit set lower than the default', async () => {
    const strict = new Service({
      store: new LocalObjectStore(local.dir),
      queue: local.queue,
      limits: { ...DEFAULT_LIMITS, maxEpochs: 10 },
    });
    const err = await strict.submit(alice, { ...workflow, params: { epochs: 11 } }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/params\.epochs is 11, over this service's limit of 10/);
  });

  it('counts the files a folder expands to against the limit, before opening any', async () => {
    let opened = 0;
    const w = parseWorkflow({ files: ['s3://hep/run/'], labels: 'y' });
    const err = await prepareDataset(w, {
      listFolder: async () => Array.from({ length: 5 }, (_, i) => `s3://hep/run/f${i}.root`),
      openFile: async () => {
        opened++;
        throw new Error('not reached');
      },
      maxFiles: 3,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as Error).message).toMatch(/more than 3 files, this service's limit \(MLAAS4HEP_MAX_FILES\)/);
    expect(opened).toBe(0);
  });
});
