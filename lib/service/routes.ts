import { InvalidInputError } from '../errors.js';
import type { ApiRequest, Route } from '../http/api.js';
import type { RateLimits } from '../http/rate-limit.js';
import type { Caller, Service } from './service.js';

const caller = (req: ApiRequest): Caller => req.caller!;
const ok = (body: unknown, status = 200) => ({ status, body });
const MB = 1024 * 1024;

/**
 * The HTTP API of mlaas4hep: TFaaS-compatible routes, jobs, triggers and Open Inference Protocol v2.
 * `limits` caps each user's submissions and predictions (429 with Retry-After beyond them).
 */
export function routes(service: Service, limits: RateLimits = {}): Route[] {
  return [
    // jobs
    {
      method: 'POST',
      path: '/submit',
      scope: 'submit',
      body: 'json',
      rateLimit: limits.submit,
      handle: async (req) =>
        ok(await service.submit(caller(req), req.body, req.headers['idempotency-key']), 202),
    },
    {
      method: 'GET',
      path: '/jobs',
      scope: 'submit',
      handle: async (req) => ok(await service.listJobs(caller(req))),
    },
    {
      method: 'GET',
      path: '/jobs/{id}',
      scope: 'submit',
      handle: async (req) => ok(await service.getJob(caller(req), req.params.id)),
    },
    {
      method: 'GET',
      path: '/jobs/{id}/logs',
      scope: 'submit',
      handle: async (req) => ({
        status: 200,
        text: {
          content: await service.jobLogs(caller(req), req.params.id),
          type: 'text/plain; charset=utf-8',
        },
      }),
    },
    {
      method: 'DELETE',
      path: '/jobs/{id}',
      scope: 'submit',
      handle: async (req) => ok(await service.cancelJob(caller(req), req.params.id)),
    },
    // the model registry, as TFaaS
    { method: 'GET', path: '/models', scope: 'predict', handle: async () => ok(await service.listModels()) },
    {
      method: 'GET',
      path: '/models/{name}',
      scope: 'predict',
      handle: async (req) => ok(await service.describeModel(req.params.name)),
    },
    {
      method: 'GET',
      path: '/models/{name}/{version}/plots/{file}',
      scope: 'predict',
      handle: async (req) => {
        const file = req.params.file.replace(/\.svg$/, '');
        const version = req.params.version === 'latest' ? undefined : req.params.version;
        return {
          status: 200,
          text: { content: await service.plot(req.params.name, version, file), type: 'image/svg+xml' },
        };
      },
    },
    {
      method: 'POST',
      path: '/upload',
      scope: 'admin',
      body: 'binary',
      maxBodyBytes: 64 * MB,
      handle: async (req) => {
        const name = req.query.name ?? req.headers['x-model-name'];
        if (!name)
          throw new InvalidInputError(
            'name the model: POST /upload?name=<model> with the tar.gz bundle as the body',
          );
        return ok(await service.uploadModel(name, req.body as Uint8Array), 201);
      },
    },
    {
      method: 'DELETE',
      path: '/delete/{name}',
      scope: 'admin',
      handle: async (req) => ok(await service.deleteModel(req.params.name)),
    },
    {
      method: 'DELETE',
      path: '/delete/{name}/{version}',
      scope: 'admin',
      handle: async (req) => ok(await service.deleteModel(req.params.name, req.params.version)),
    },
    // predictions
    {
      method: 'POST',
      path: '/json',
      scope: 'predict',
      body: 'json',
      maxBodyBytes: 32 * MB,
      rateLimit: limits.predict,
      handle: async (req) => ok(await service.predictJson(req.body)),
    },
    {
      method: 'POST',
      path: '/v2/models/{name}/infer',
      scope: 'predict',
      body: 'json',
      maxBodyBytes: 32 * MB,
      rateLimit: limits.predict,
      handle: async (req) => ok(await service.infer(req.params.name, undefined, req.body)),
    },
    {
      method: 'POST',
      path: '/v2/models/{name}/versions/{version}/infer',
      scope: 'predict',
      body: 'json',
      maxBodyBytes: 32 * MB,
      rateLimit: limits.predict,
      handle: async (req) => ok(await service.infer(req.params.name, req.params.version, req.body)),
    },
    {
      method: 'GET',
      path: '/v2/models/{name}',
      scope: 'predict',
      handle: async (req) => ok(await service.modelMetadata(req.params.name)),
    },
    {
      method: 'GET',
      path: '/v2/models/{name}/ready',
      scope: 'predict',
      handle: async (req) => {
        const ready = await service.modelReady(req.params.name);
        return ok({ name: req.params.name, ready }, ready ? 200 : 503);
      },
    },
    { method: 'GET', path: '/v2/health/live', scope: null, handle: async () => ok({ live: true }) },
    { method: 'GET', path: '/v2/health/ready', scope: null, handle: async () => ok({ ready: true }) },
    // upload triggers
    {
      method: 'PUT',
      path: '/triggers/{name}',
      scope: 'admin',
      body: 'json',
      handle: async (req) => ok(await service.putTrigger(caller(req), req.params.name, req.body)),
    },
    {
      method: 'GET',
      path: '/triggers/{name}',
      scope: 'admin',
      handle: async (req) => ok(await service.getTrigger(req.params.name)),
    },
    {
      method: 'DELETE',
      path: '/triggers/{name}',
      scope: 'admin',
      handle: async (req) => {
        await service.deleteTrigger(req.params.name);
        return { status: 204 };
      },
    },
  ];
}
