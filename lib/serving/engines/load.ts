import type { StoredBundle } from '../../bundles/bundle-store.js';
import { processConfig } from '../../config.js';
import { MisconfiguredError } from '../../errors.js';
import type { EngineChoice, EngineName, LoadedModel } from './engine.js';
import { loadOnnxModel } from './onnx-engine.js';
import { onnxRuntimeStatus } from './onnxruntime.js';
import { loadTfjsModel } from './tfjs-engine.js';

/** MLAAS4HEP_ENGINE=onnxruntime|tfjs prefers one engine for bundles that have both models (lib/config). */
export function preferredEngine(): EngineName | undefined {
  return processConfig().engine;
}

/**
 * ONNX Runtime when the bundle has model.onnx and the runtime loads here, TensorFlow.js otherwise
 * (every bundle written before ONNX export, and uploaded TensorFlow.js models).
 */
export async function chooseEngine(b: StoredBundle, prefer = preferredEngine()): Promise<EngineChoice> {
  const tfjs = b.modelJson !== undefined && b.weights !== undefined;
  if (!b.onnx) return { engine: 'tfjs', reason: 'the bundle has no model.onnx' };
  if (prefer === 'tfjs' && tfjs) return { engine: 'tfjs', reason: 'MLAAS4HEP_ENGINE=tfjs' };
  const ort = await onnxRuntimeStatus();
  if (ort.available)
    return {
      engine: 'onnxruntime',
      reason: `the bundle has model.onnx; ONNX Runtime ${ort.version} from ${ort.from}`,
    };
  if (tfjs) return { engine: 'tfjs', reason: `ONNX Runtime is unavailable (${ort.reason})` };
  throw new MisconfiguredError(`the bundle has only model.onnx and ${ort.reason}`);
}

/** The bundle's model behind the engine interface, with the choice that was made. */
export async function loadBundleModel(
  b: StoredBundle,
  what: string,
  prefer: EngineName | undefined = preferredEngine(),
): Promise<{ model: LoadedModel; choice: EngineChoice }> {
  const choice = await chooseEngine(b, prefer);
  const model =
    choice.engine === 'onnxruntime'
      ? await loadOnnxModel(b.onnx!, b.params.onnx!, what)
      : await loadTfjsModel(b.modelJson!, b.weights!, b.params.inputNode || 'input', what);
  return { model, choice };
}
