import { defaultLog, errorFields } from '../lib/log.js';
import { predictHandlers } from '../lib/service/predict-routes.js';
import { PredictService } from '../lib/service/predict-service.js';
import { onnxRuntimeStatus } from '../lib/serving/engines/onnxruntime.js';
import { backendChoice, initBackend } from '../lib/training/backend.js';
import { configFor, httpApi, objectStore } from './compose.js';

const config = configFor('bucket');
// the engines this instance has, found once at cold start (ONNX Runtime comes from the layer):
// bundles with model.onnx run on ONNX Runtime, the others on TensorFlow.js, whose backend starts
// now (its .wasm files ship in this zip). One that cannot start is tried again on use, and
// /v2/health/ready says not ready meanwhile.
const ort = await onnxRuntimeStatus();
const tfjs = await initBackend(config.tfBackend).then(
  () => backendChoice()!,
  (err: unknown) => ({ unavailable: errorFields(err).reason }),
);
defaultLog({
  level: 'unavailable' in tfjs ? 'error' : 'info',
  message: 'inference engines',
  cold_start: true,
  onnxruntime: ort.available ? { version: ort.version, from: ort.from } : { unavailable: ort.reason },
  tfjs,
  prefer: config.engine ?? 'onnxruntime',
  reason: ort.available
    ? 'bundles with model.onnx run on ONNX Runtime, others on TensorFlow.js'
    : 'ONNX Runtime does not load: every bundle runs on TensorFlow.js, ONNX-only bundles fail',
});

const store = objectStore(config);
const service = new PredictService({ store, log: defaultLog });

/** The `predict` rows of the route table: TFaaS /json, the Open Inference Protocol v2, health. */
export const handler = httpApi(predictHandlers(service), config);
