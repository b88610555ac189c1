import { InvalidInputError } from '../errors.js';
import { isMultipart, parseMultipart } from '../http/multipart.js';
import { caller, type Handlers, ok } from './bind-routes.js';
import type { ModelService } from './model-service.js';

/** The TFaaS registry (list, describe, plots, uploads, deletes) and the upload triggers. */
export function modelsHandlers(s: ModelService): Handlers<'models'> {
  return {
    'GET /models': async () => ok(await s.listModels()),
    'GET /models/{name}': async (req) =>
      ok(await s.describeModel(caller(req), req.params.name, req.query.version)),
    'GET /models/{name}/{version}/download': async (req) => {
      const d = await s.downloadModel(req.params.name, req.params.version, req.query.file);
      return {
        raw: d.bytes,
        contentType: req.query.file ? 'application/octet-stream' : 'application/gzip',
        headers: { 'content-disposition': `attachment; filename="${d.filename}"` },
      };
    },
    'GET /models/{name}/{version}/plots/{file}': async (req) => {
      const file = req.params.file.replace(/\.svg$/, '');
      const version = req.params.version === 'latest' ? undefined : req.params.version;
      return { raw: await s.plot(req.params.name, version, file), contentType: 'image/svg+xml' };
    },
    'POST /upload': async (req) => {
      const name = req.query.name ?? req.headers['x-model-name'];
      // the group that owns the model, when this upload is the first under its name
      const group = req.query.group ?? req.headers['x-model-group'];
      const type = req.headers['content-type'];
      if (!isMultipart(type)) return ok(await s.uploadModel(caller(req), name, req.rawBody, group), 201);
      const parts = await parseMultipart(req.rawBody, type!, { maxPartBytes: req.rawBody.length });
      const base64 = req.headers['content-encoding']?.toLowerCase() === 'base64';
      return ok(await s.uploadForm(caller(req), parts, base64, name, group), 201);
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
      return ok(await s.deleteModel(name));
    },
    'DELETE /delete/{name}': async (req) => ok(await s.deleteModel(req.params.name)),
    'DELETE /delete/{name}/{version}': async (req) =>
      ok(await s.deleteModel(req.params.name, req.params.version)),
    'PUT /triggers/{name}': async (req) => ok(await s.putTrigger(caller(req), req.params.name, req.body)),
    'GET /triggers': async () => ok(await s.listTriggers()),
    'GET /triggers/{name}': async (req) => ok(await s.getTrigger(req.params.name)),
    'DELETE /triggers/{name}': async (req) => {
      await s.deleteTrigger(req.params.name);
      return { status: 204 };
    },
  };
}
