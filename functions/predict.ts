import { defaultLog } from '../lib/log.js';
import { preferredEngine } from '../lib/serving/engines/load.js';
import { onnxRuntimeStatus } from '../lib/serving/engines/onnxruntime.js';
import { apiFor } from './deps.js';

// the engines this instance has, found once at cold start (ONNX Runtime comes from the layer):
// bundles with model.onnx run on ONNX Runtime, the others on TensorFlow.js; each model load logs its own
const prefer = preferredEngine();
const ort = await onnxRuntimeStatus();
defaultLog({
  level: 'info',
  message: 'inference engines',
  cold_start: true,
  onnxruntime: ort.available ? { version: ort.version, from: ort.from } : { unavailable: ort.reason },
  tfjs: 'for bundles without model.onnx',
  prefer: prefer ?? 'onnxruntime',
  reason: ort.available
    ? 'bundles with model.onnx run on ONNX Runtime, others on TensorFlow.js'
    : 'ONNX Runtime does not load: every bundle runs on TensorFlow.js, ONNX-only bundles fail',
});

/** The `predict` rows of the route table: TFaaS /json and the Open Inference Protocol v2. */
export const handler = apiFor('predict');
