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
