import { SERVICE, stdoutLog } from '../lib/http/request-logger.js';
import { predictHandlers } from '../lib/service/predict-routes.js';
import { PredictService } from '../lib/service/predict-service.js';
import { onnxRuntimeStatus } from '../lib/serving/engines/onnxruntime.js';
import { backendChoice, initBackend } from '../lib/training/backend.js';
import { configFor, httpApi, objectStore } from './compose.js';

const config = configFor('bucket');
// the engines this instance has, found once at cold start (ONNX Runtime comes from the layer):
// bundles with model.onnx run on ONNX Runtime, the others on TensorFlow.js, whose backend starts
// now (the wasm files ship in this zip) so a forced backend that cannot start fails the cold start
const ort = await onnxRuntimeStatus();
await initBackend(config.tfBackend);
const tfjs = backendChoice()!;
stdoutLog({
  level: 'info',
  service: SERVICE,
  message: 'inference engines',
  cold_start: true,
  onnxruntime: ort.available ? { version: ort.version, from: ort.from } : { unavailable: ort.reason },
  tfjs: { backend: tfjs.backend, reason: tfjs.reason, wasmPath: tfjs.wasmPath },
  prefer: config.engine ?? 'onnxruntime',
  reason: ort.available
    ? 'bundles with model.onnx run on ONNX Runtime, others on TensorFlow.js'
    : 'ONNX Runtime does not load: every bundle runs on TensorFlow.js, ONNX-only bundles fail',
});

const service = new PredictService({ store: objectStore(config), log: stdoutLog });

/** The `predict` rows of the route table: TFaaS /json, the Open Inference Protocol v2, health. */
export const handler = httpApi(predictHandlers(service), config);
