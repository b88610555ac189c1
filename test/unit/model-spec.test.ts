import { describe, expect, it } from 'vitest';
import { UnprocessableError } from '../../lib/errors.js';
import { initBackend } from '../../lib/training/backend.js';
import { DEFAULT_MODEL, parseModelDefinition } from '../../lib/training/model-schema.js';
import { buildModel } from '../../lib/training/model-spec.js';

/** A Keras 2 `model.to_json()` of a small Sequential model. */
function kerasTopology(inputs: number, lastClass = 'Dense') {
  return {
    class_name: 'Sequential',
    config: {
      name: 'sequential',
      layers: [
        {
          class_name: 'InputLayer',
          config: { batch_input_shape: [null, inputs], dtype: 'float32', name: 'input_1' },
        },
        { class_name: 'Dense', config: { name: 'dense', units: 16, activation: 'relu', use_bias: true } },
        { class_name: lastClass, config: { name: 'out', units: 1, activation: 'sigmoid', use_bias: true } },
      ],
    },
    keras_version: '2.15.0',
    backend: 'tensorflow',
  };
}

describe('model definitions', () => {
  it('defaults to MLaaS4HEP example: Dense 128, Dropout 0.5, Dense 64, Dropout 0.5, sigmoid output', async () => {
    await initBackend();
    const { model, loss } = await buildModel(parseModelDefinition(undefined), 43, 2, 1);
    expect(parseModelDefinition(undefined)).toEqual({ kind: 'spec', spec: DEFAULT_MODEL });
    expect(model.layers.map((l) => l.getClassName())).toEqual([
      'Dense',
      'Dropout',
      'Dense',
      'Dropout',
      'Dense',
    ]);
    expect(model.outputs[0].shape).toEqual([null, 1]);
    expect(loss).toBe('binaryCrossentropy');
  });

  it('uses a softmax output and categorical cross-entropy for more than two classes', async () => {
    const { model, loss } = await buildModel(
      parseModelDefinition({ layers: [{ type: 'dense', units: 8 }] }),
      5,
      3,
      1,
    );
    expect(model.outputs[0].shape).toEqual([null, 3]);
    expect(loss).toBe('categoricalCrossentropy');
  });

  it('builds a Keras JSON topology given as a string or an object', async () => {
    for (const keras of [kerasTopology(7), JSON.stringify(kerasTopology(7))]) {
      const { model } = await buildModel(parseModelDefinition({ keras }), 7, 2, 1);
      expect(model.layers.at(-1)?.name).toBe('out');
    }
  });

  it('names the bad field of a declarative spec', () => {
    expect(() => parseModelDefinition({ layers: [{ type: 'dense', units: -3 }] })).toThrow(
      /model\.layers\[0\]\.units/,
    );
    expect(() => parseModelDefinition({ layers: [{ type: 'conv9d' }] })).toThrow(UnprocessableError);
    expect(() => parseModelDefinition({ layers: [{ type: 'dense', units: 4 }], optimiser: 'adam' })).toThrow(
      /optimiser/,
    );
  });

  it('names the bad layer of a Keras topology, and a wrong input size', async () => {
    await expect(
      buildModel(parseModelDefinition({ keras: kerasTopology(7, 'Dense3D') }), 7, 2, 1),
    ).rejects.toThrow(/layer 2 \(out\) has an unknown class "Dense3D"/);
    await expect(buildModel(parseModelDefinition({ keras: kerasTopology(7) }), 9, 2, 1)).rejects.toThrow(
      /expects 7 inputs, but the workflow produces 9 features/,
    );
    expect(() => parseModelDefinition({ keras: '{not json' })).toThrow(/model\.keras is not valid JSON/);
  });
});
