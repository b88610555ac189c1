import { caller, type Handlers, ok } from './bind-routes.js';
import type { JobService, SubmitService } from './job-service.js';

/** POST /submit. */
export function submitHandlers(s: SubmitService): Handlers<'submit'> {
  return {
    'POST /submit': async (req) =>
      ok(await s.submit(caller(req), req.body, req.headers['idempotency-key']), 202),
  };
}

/** One's jobs: list, state, logs, cancel. */
export function jobsHandlers(s: JobService): Handlers<'jobs'> {
  return {
    'GET /jobs': async (req) => ok(await s.listJobs(caller(req))),
    'GET /jobs/{id}': async (req) => ok(await s.getJob(caller(req), req.params.id)),
    'GET /jobs/{id}/logs': async (req) => ({
      raw: await s.jobLogs(caller(req), req.params.id),
      contentType: 'text/plain; charset=utf-8',
    }),
    'DELETE /jobs/{id}': async (req) => ok(await s.cancelJob(caller(req), req.params.id)),
  };
}
