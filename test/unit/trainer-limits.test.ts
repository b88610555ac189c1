import { describe, expect, it } from 'vitest';
import { trainerLimitsFromEnv } from '../../lib/trainer/trainer-limits.js';

describe("serve's trainer limits from the environment", () => {
  it('defaults to 2048 MiB of heap and of tensors, a new process after 50 jobs or 1024 MiB resident', () => {
    expect(trainerLimitsFromEnv({})).toEqual({
      heapMb: 2048,
      wasmMb: 2048,
      jobsPerChild: 50,
      recycleRssMb: 1024,
    });
  });

  it('takes each from its variable; MLAAS4HEP_TRAINER_JOBS_PER_PROCESS=1 is a fresh process per job', () => {
    expect(
      trainerLimitsFromEnv({
        MLAAS4HEP_TRAINER_HEAP_MB: '512',
        MLAAS4HEP_TRAINER_WASM_MB: '256',
        MLAAS4HEP_TRAINER_JOBS_PER_PROCESS: '1',
        MLAAS4HEP_TRAINER_RECYCLE_RSS_MB: '768',
      }),
    ).toEqual({ heapMb: 512, wasmMb: 256, jobsPerChild: 1, recycleRssMb: 768 });
  });

  it('names the variable and the range of a malformed value', () => {
    expect(() => trainerLimitsFromEnv({ MLAAS4HEP_TRAINER_JOBS_PER_PROCESS: '0' })).toThrow(
      /MLAAS4HEP_TRAINER_JOBS_PER_PROCESS must be a whole number of jobs from 1 to 100000, got "0"/,
    );
    expect(() => trainerLimitsFromEnv({ MLAAS4HEP_TRAINER_RECYCLE_RSS_MB: '1.5' })).toThrow(
      /MLAAS4HEP_TRAINER_RECYCLE_RSS_MB must be a whole number of MiB/,
    );
  });
});
