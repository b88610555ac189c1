import { InvalidInputError } from '../errors.js';
import type { Route } from '../http/api.js';
import { isMultipart, parseMultipart } from '../http/multipart.js';
import type { RateLimits } from '../http/rate-limit.js';
import type { HttpRequest, HttpResult } from '../http/types.js';
import { type FunctionName, ROUTES, type RouteKey, routeKey } from './route-table.js';
import type { Caller, Service } from './service.js';

type Handle = (req: HttpRequest) => Promise<HttpResult>;

const caller = (req: HttpRequest): Caller => req.user!;
const ok = (body: unknown, status = 200): HttpResult => ({ status, body });

function consoleFile(service: Service, name: string): HttpResult {
  const f = service.consoleFile(name);
  return { raw: f.raw, contentType: f.contentType, headers: f.headers };
}

/** What each route of the table does, as calls on the service. */
function handlers(service: Service): Record<RouteKey, Handle> {
  return {
    'POST /submit': async (req) =>
      ok(await service.submit(caller(req), req.body, req.headers['idempotency-key']), 202),
    'GET /jobs': async (req) => ok(await service.listJobs(caller(req))),
    'GET /jobs/{id}': async (req) => ok(await service.getJob(caller(req), req.params.id)),
    'GET /jobs/{id}/logs': async (req) => ({
      raw: await service.jobLogs(caller(req), req.params.id),
      contentType: 'text/plain; charset=utf-8',
    }),
    'DELETE /jobs/{id}': async (req) => ok(await service.cancelJob(caller(req), req.params.id)),
    'GET /models': async () => ok(await service.listModels()),
    'GET /models/{name}': async (req) => ok(await service.describeModel(req.params.name, req.query.version)),
    'GET /models/{name}/{version}/plots/{file}': async (req) => {
      const file = req.params.file.replace(/\.svg$/, '');
      const version = req.params.version === 'latest' ? undefined : req.params.version;
      return { raw: await service.plot(req.params.name, version, file), contentType: 'image/svg+xml' };
    },
    'GET /models/{name}/{version}/download': async (req) => {
      const d = await service.downloadModel(req.params.name, req.params.version, req.query.file);
      return {
        raw: d.bytes,
        contentType: req.query.file ? 'application/octet-stream' : 'application/gzip',
        headers: { 'content-disposition': `attachment; filename="${d.filename}"` },
      };
    },
    'POST /upload': async (req) => {
      const name = req.query.name ?? req.headers['x-model-name'];
      const type = req.headers['content-type'];
      if (!isMultipart(type)) return ok(await service.uploadModel(name, req.rawBody), 201);
      const parts = await parseMultipart(req.rawBody, type!, { maxPartBytes: req.rawBody.length });
      const base64 = req.headers['content-encoding']?.toLowerCase() === 'base64';
      return ok(await service.uploadForm(parts, base64, name), 201);
    },
    'DELETE /delete': async (req) => {
      const type = req.headers['content-type'];
      const form = isMultipart(type)
        ? await parseMultipart(req.rawBody, type!, { maxPartBytes: 1024, maxParts: 4 })
        : [];
      const name =
        form
          .find((p) => p.name === 'model')
          ?.data.toString('utf8')
          .trim() ?? req.query.model;
      if (!name)
        throw new InvalidInputError(
          'name the model to delete: a form field model=<name>, or DELETE /delete/<name>',
        );
      return ok(await service.deleteModel(name));
    },
    'DELETE /delete/{name}': async (req) => ok(await service.deleteModel(req.params.name)),
    'DELETE /delete/{name}/{version}': async (req) =>
      ok(await service.deleteModel(req.params.name, req.params.version)),
    'PUT /triggers/{name}': async (req) =>
      ok(await service.putTrigger(caller(req), req.params.name, req.body)),
    'GET /triggers': async () => ok(await service.listTriggers()),
    'GET /triggers/{name}': async (req) => ok(await service.getTrigger(req.params.name)),
    'DELETE /triggers/{name}': async (req) => {
      await service.deleteTrigger(req.params.name);
      return { status: 204 };
    },
    'POST /json': async (req) => ok(await service.predictJson(req.body)),
    'POST /v2/models/{name}/infer': async (req) =>
      ok(await service.infer(req.params.name, undefined, req.body)),
    'POST /v2/models/{name}/versions/{version}/infer': async (req) =>
      ok(await service.infer(req.params.name, req.params.version, req.body)),
    'GET /v2/models/{name}': async (req) => ok(await service.modelMetadata(req.params.name)),
    'GET /v2/models/{name}/ready': async (req) => {
      const ready = await service.modelReady(req.params.name);
      return ok({ name: req.params.name, ready }, ready ? 200 : 503);
    },
    'GET /v2/health/live': async () => ok({ live: true }),
    'GET /v2/health/ready': async () => ok({ ready: true }),
    'GET /data/files': async () => ok(await service.listDataFiles()),
    'GET /data/branches': async (req) => ok(await service.inspectData(req.query.source)),
    'POST /data/uploads': async (req) => ok(await service.uploadTicket(caller(req), req.body), 201),
    'GET /workflow/schema': async () => ok(service.workflowSchema()),
    'POST /workflow/expression': async (req) => ok(service.checkExpression(req.body)),
    'GET /console': async () => consoleFile(service, ''),
    'GET /console/config.json': async () => ok(service.consoleConfig()),
    'GET /console/{file}': async (req) => consoleFile(service, req.params.file),
  };
}

/**
 * The HTTP API of mlaas4hep (TFaaS-compatible routes, jobs, triggers, Open Inference Protocol v2):
 * the route table's rows, every one or only those of one Lambda function, bound to the service.
 * `limits` caps each user's submissions and predictions (429 with Retry-After beyond them).
 */
export function routes(service: Service, limits: RateLimits = {}, fn?: FunctionName): Route[] {
  const handle = handlers(service);
  return ROUTES.filter((r) => fn === undefined || r.fn === fn).map((r) => ({
    method: r.method,
    path: r.path,
    scope: r.scope,
    body: 'body' in r ? r.body : undefined,
    maxBodyBytes: 'maxBodyBytes' in r ? r.maxBodyBytes : undefined,
    rateLimit: 'limit' in r ? limits[r.limit] : undefined,
    handle: handle[routeKey(r) as RouteKey],
  }));
}
