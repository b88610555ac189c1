/**
 * Memory limits from MLAAS4HEP_TRAINER_HEAP_MB and MLAAS4HEP_TRAINER_WASM_MB (defaults 2048 each),
 * and when a trainer process is replaced: MLAAS4HEP_TRAINER_JOBS_PER_PROCESS (default 50) and
 * MLAAS4HEP_TRAINER_RECYCLE_RSS_MB (default 1024).
 */
export function trainerLimitsFromEnv(env: NodeJS.ProcessEnv = process.env): {
  heapMb: number;
  wasmMb: number;
  jobsPerChild: number;
  recycleRssMb: number;
} {
  const read = (name: string, fallback: number, min: number, max: number, unit: string): number => {
    const v = env[name];
    if (v === undefined || v === '') return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new TypeError(`${name} must be a whole number of ${unit} from ${min} to ${max}, got "${v}"`);
    return n;
  };
  const mb = (name: string, fallback: number) => read(name, fallback, 64, 65536, 'MiB');
  return {
    heapMb: mb('MLAAS4HEP_TRAINER_HEAP_MB', 2048),
    wasmMb: mb('MLAAS4HEP_TRAINER_WASM_MB', 2048),
    jobsPerChild: read('MLAAS4HEP_TRAINER_JOBS_PER_PROCESS', 50, 1, 100_000, 'jobs'),
    recycleRssMb: mb('MLAAS4HEP_TRAINER_RECYCLE_RSS_MB', 1024),
  };
}
