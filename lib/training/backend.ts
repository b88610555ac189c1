import * as tf from '@tensorflow/tfjs';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
const ORDER: BackendName[] = ['tensorflow', 'wasm', 'cpu'];

let chosen: Promise<BackendName> | undefined;

async function tryBackend(name: BackendName): Promise<boolean> {
  try {
    if (name === 'tensorflow') {
      // optional: present in the trainer image and the Lambda layer, absent where libtensorflow cannot be fetched
      const mod = '@tensorflow/tfjs-node';
      await import(mod);
    } else if (name === 'wasm') {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      const path = process.env.MLAAS4HEP_TFJS_WASM_PATH;
      if (path) wasm.setWasmPaths(path.endsWith('/') ? path : `${path}/`);
    }
    return (await tf.setBackend(name)) && tf.getBackend() === name;
  } catch {
    return false;
  }
}

/**
 * Chooses the fastest TensorFlow.js backend that loads here: the native one (tfjs-node), else
 * WebAssembly (SIMD), else plain JavaScript. MLAAS4HEP_TF_BACKEND=tensorflow|wasm|cpu forces one.
 */
export function initBackend(
  force: string | undefined = process.env.MLAAS4HEP_TF_BACKEND,
): Promise<BackendName> {
  chosen ??= (async () => {
    if (force) {
      if (!ORDER.includes(force as BackendName)) {
        throw new Error(`MLAAS4HEP_TF_BACKEND must be one of ${ORDER.join(', ')}, got "${force}"`);
      }
      if (!(await tryBackend(force as BackendName)))
        throw new Error(`the TensorFlow.js backend "${force}" cannot start here`);
      return force as BackendName;
    }
    for (const name of ORDER) if (await tryBackend(name)) return name;
    throw new Error('no TensorFlow.js backend could start');
  })();
  return chosen;
}

/**
 * Replaces the WebAssembly backend with a fresh instance (a new module, new memory) after a fault
 * left the old one unusable. Every tensor of the old backend is lost with it: models built on it
 * must be built again. Other backends are left as they are.
 */
export function resetBackend(): Promise<void> {
  resetting ??= (async () => {
    const name = await initBackend();
    if (name !== 'wasm') return;
    const factory = tf.findBackendFactory(name);
    if (!factory) throw new Error('the wasm backend has no factory to start again from');
    const broken = tf.engine().findBackend(name) as unknown as { dispose(): void } | null;
    // its own dispose reads the faulted memory again: skip it, the memory goes with the module
    if (broken) broken.dispose = () => {};
    tf.removeBackend(name);
    tf.registerBackend(name, factory, 2);
    if (!(await tf.setBackend(name))) throw new Error('the wasm backend could not start again');
    generation++;
  })().finally(() => {
    resetting = undefined;
  });
  return resetting;
}

let generation = 0;
let resetting: Promise<void> | undefined;

/** Changes each time the backend is started afresh: tensors of an older generation are gone. */
export const backendGeneration = (): number => generation;

/** Whether the backend is being started afresh now (and when that is done). */
export const backendRestart = (): Promise<void> | undefined => resetting;

/**
 * Whether an error is WebAssembly running out of (or corrupting) its memory: a grow beyond the
 * limit, an allocation TensorFlow.js could not make, or an access out of bounds. After the last,
 * the module's memory cannot be trusted again.
 */
export function isWasmMemoryFault(err: unknown): boolean {
  const message = err instanceof Error ? err.message : String(err);
  return (
    // WebAssembly.RuntimeError: a trap (out-of-bounds access, unreachable) inside the module
    (err instanceof Error && err.name === 'RuntimeError') ||
    /memory access out of bounds|WebAssembly\.Memory|Out of memory|Array buffer allocation failed|Maximum memory size exceeded|could not allocate memory/i.test(
      message,
    )
  );
}
