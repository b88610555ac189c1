import { describe, expect, it } from 'vitest';
import { readConfig } from '../../lib/config.js';
import { MisconfiguredError } from '../../lib/errors.js';
import { DEFAULT_LIMITS } from '../../lib/limits.js';

describe('readConfig: one reader of the environment, checked once at start', () => {
  it('reads an empty environment as defaults: AWS endpoints, fastest backend, default rate limits and workflow limits', () => {
    expect(readConfig({})).toEqual({
      bucket: undefined,
      queueUrl: undefined,
      endpoints: { s3: undefined, sqs: undefined },
      tfBackend: undefined,
      tfjsWasmPath: undefined,
      engine: undefined,
      rateLimits: { predict: { perMinute: 6000 }, submit: { perMinute: 60 } },
      limits: DEFAULT_LIMITS,
      allowedSources: undefined,
      devIssuer: false,
    });
  });

  it('fails naming a required variable that is unset or blank', () => {
    expect(() => readConfig({ MLAAS4HEP_BUCKET: 'b' }, { require: ['bucket', 'queueUrl'] })).toThrow(
      'environment variable MLAAS4HEP_QUEUE_URL is not set',
    );
    expect(() => readConfig({ MLAAS4HEP_BUCKET: '  ' }, { require: ['bucket'] })).toThrow(
      'environment variable MLAAS4HEP_BUCKET is not set',
    );
    const c = readConfig(
      { MLAAS4HEP_BUCKET: 'b', MLAAS4HEP_QUEUE_URL: 'q' },
      { require: ['bucket', 'queueUrl'] },
    );
    expect([c.bucket, c.queueUrl]).toEqual(['b', 'q']);
  });

  it('names a bad backend or engine setting and lists what it accepts', () => {
    expect(() => readConfig({ MLAAS4HEP_TF_BACKEND: 'gpu' })).toThrow(
      'MLAAS4HEP_TF_BACKEND must be one of tensorflow, wasm, cpu, got "gpu"',
    );
    expect(() => readConfig({ MLAAS4HEP_ENGINE: 'onnx' })).toThrow(
      'MLAAS4HEP_ENGINE must be one of onnxruntime, tfjs, got "onnx"',
    );
    expect(readConfig({ MLAAS4HEP_TF_BACKEND: 'wasm', MLAAS4HEP_ENGINE: 'tfjs' })).toMatchObject({
      tfBackend: 'wasm',
      engine: 'tfjs',
    });
  });

  it('takes the S3 and SQS endpoint overrides by the AWS SDK names, the service-specific one first', () => {
    const c = readConfig({
      AWS_ENDPOINT_URL: 'http://127.0.0.1:9000',
      AWS_ENDPOINT_URL_SQS: 'http://127.0.0.1:9324',
    });
    expect(c.endpoints).toEqual({ s3: 'http://127.0.0.1:9000', sqs: 'http://127.0.0.1:9324' });
    expect(() => readConfig({ AWS_ENDPOINT_URL_S3: '127.0.0.1:4569' })).toThrow(
      'AWS_ENDPOINT_URL_S3 must be an http(s) URL, got "127.0.0.1:4569"',
    );
  });

  it('refuses the old endpoint names instead of ignoring them, naming the one to set', () => {
    expect(() => readConfig({ MLAAS4HEP_S3_ENDPOINT: 'http://127.0.0.1:4569' })).toThrow(
      'MLAAS4HEP_S3_ENDPOINT is no longer read: set AWS_ENDPOINT_URL_S3 instead',
    );
    expect(() => readConfig({ MLAAS4HEP_SQS_ENDPOINT: 'http://127.0.0.1:9324' })).toThrow(
      'set AWS_ENDPOINT_URL_SQS instead',
    );
    // an empty value (a deployment's template leaves it blank) says nothing
    expect(readConfig({ MLAAS4HEP_S3_ENDPOINT: '' }).endpoints.s3).toBeUndefined();
  });

  it('reports a bad policy value as misconfiguration naming the variable', () => {
    const err = (() => {
      try {
        readConfig({ MLAAS4HEP_RATE_LIMIT_PREDICT: 'fast' });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(MisconfiguredError);
    expect((err as Error).message).toContain('MLAAS4HEP_RATE_LIMIT_PREDICT');
    expect(() => readConfig({ MLAAS4HEP_ALLOWED_SOURCES: 'data/' })).toThrow('MLAAS4HEP_ALLOWED_SOURCES');
  });

  it('uses the default allowed sources only when the variable is unset', () => {
    expect(readConfig({}, { allowedSources: ['s3://b/'] }).allowedSources).toEqual(['s3://b/']);
    expect(
      readConfig({ MLAAS4HEP_ALLOWED_SOURCES: 's3://b/data/' }, { allowedSources: ['s3://b/'] })
        .allowedSources,
    ).toEqual(['s3://b/data/']);
  });

  it('accepts the development issuer only for the exact value 1', () => {
    expect(readConfig({ MLAAS4HEP_DEV_ISSUER: '1' }).devIssuer).toBe(true);
    expect(readConfig({ MLAAS4HEP_DEV_ISSUER: 'true' }).devIssuer).toBe(false);
  });

  it('reads the workflow limits (MLAAS4HEP_MAX_*) and names a bad one', () => {
    expect(readConfig({ MLAAS4HEP_MAX_EPOCHS: '50' }).limits.maxEpochs).toBe(50);
    expect(() => readConfig({ MLAAS4HEP_MAX_PARAMETERS: 'many' })).toThrow(
      expect.objectContaining({
        code: 'Misconfigured',
        message: expect.stringMatching(/MLAAS4HEP_MAX_PARAMETERS must be a positive integer/),
      }),
    );
  });
});
