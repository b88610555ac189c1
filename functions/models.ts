import { apiFor } from './deps.js';

/** The TFaaS registry: GET /models, GET /models/{name}, plots, POST /upload, DELETE /delete/{name}; triggers */
export const handler = apiFor(
  (p) => p.startsWith('/models') || p === '/upload' || p.startsWith('/delete') || p.startsWith('/triggers'),
);
