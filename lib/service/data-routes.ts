import type { ConsoleSite } from '../console/site.js';
import type { HttpResult } from '../http/types.js';
import { caller, type Handlers, ok } from './bind-routes.js';
import type { DataService } from './data-service.js';

/** Training data (files, branches, upload URLs) and workflow help (schema, expression check). */
export function dataHandlers(s: DataService): Handlers<'data'> {
  return {
    'GET /data/files': async () => ok(await s.listDataFiles()),
    'GET /data/branches': async (req) => ok(await s.inspectData(req.query.source)),
    'POST /data/uploads': async (req) => ok(await s.uploadTicket(caller(req), req.body), 201),
    'GET /workflow/schema': async () => ok(s.workflowSchema()),
    'POST /workflow/expression': async (req) => ok(s.checkExpression(req.body)),
  };
}

/** The web console's files and sign-in settings. */
export function consoleHandlers(site: ConsoleSite): Handlers<'console'> {
  const file = (name: string): HttpResult => {
    const f = site.file(name);
    return { raw: f.raw, contentType: f.contentType, headers: f.headers };
  };
  return {
    'GET /console': async () => file(''),
    'GET /console/config.json': async () => ok(site.config),
    'GET /console/{file}': async (req) => file(req.params.file),
  };
}
