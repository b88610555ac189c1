import { type Handlers, ok } from './bind-routes.js';
import type { PredictService } from './predict-service.js';

/** TFaaS /json, the Open Inference Protocol v2 and the health routes. */
export function predictHandlers(s: PredictService): Handlers<'predict'> {
  return {
    'POST /json': async (req) => ok(await s.predictJson(req.body)),
    'POST /v2/models/{name}/infer': async (req) => ok(await s.infer(req.params.name, undefined, req.body)),
    'POST /v2/models/{name}/versions/{version}/infer': async (req) =>
      ok(await s.infer(req.params.name, req.params.version, req.body)),
    'GET /v2/models/{name}': async (req) => ok(await s.modelMetadata(req.params.name)),
    'GET /v2/models/{name}/ready': async (req) => {
      const ready = await s.modelReady(req.params.name);
      return ok({ name: req.params.name, ready }, ready ? 200 : 503);
    },
    'GET /v2/health/live': async () => ok({ live: true }),
    'GET /v2/health/ready': async () => ok({ ready: true }),
  };
}
