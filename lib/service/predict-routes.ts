import type { HttpResult } from '../http/types.js';
import { type Handlers, ok } from './bind-routes.js';
import type { PredictService } from './predict-service.js';

/** KServe's model readiness: 200 when loaded (loading it if need be), 503 when it cannot load. */
async function modelReady(s: PredictService, name: string, version?: string): Promise<HttpResult> {
  const ready = await s.modelReady(name, version);
  return ok({ name, ...(version === undefined ? {} : { version }), ready }, ready ? 200 : 503);
}

/** TFaaS /json, the Open Inference Protocol v2 and the health routes. */
export function predictHandlers(s: PredictService): Handlers<'predict'> {
  return {
    'POST /json': async (req) => ok(await s.predictJson(req.body)),
    'POST /v2/models/{name}/infer': async (req) => ok(await s.infer(req.params.name, undefined, req.body)),
    'POST /v2/models/{name}/versions/{version}/infer': async (req) =>
      ok(await s.infer(req.params.name, req.params.version, req.body)),
    'GET /v2/models/{name}': async (req) => ok(await s.modelMetadata(req.params.name)),
    'GET /v2/models/{name}/versions/{version}': async (req) =>
      ok(await s.modelMetadata(req.params.name, req.params.version)),
    'GET /v2/models/{name}/ready': async (req) => modelReady(s, req.params.name),
    'GET /v2/models/{name}/versions/{version}/ready': async (req) =>
      modelReady(s, req.params.name, req.params.version),
    'GET /v2/health/live': async () => ok({ live: true }),
    'GET /v2/health/ready': async () => {
      const r = await s.ready();
      return ok(r, r.ready ? 200 : 503);
    },
  };
}
