/**
 * The ceiling of bench:predict: a Node HTTP server that reads and parses the JSON body and answers
 * [0.5], nothing else, on as many processes as `mlaas4hep serve --workers` runs. Prints
 * "listening on <url>" when every process listens.
 *   node dist/bench/noop-server.js <processes>
 */
import cluster from 'node:cluster';
import { createServer } from 'node:http';

const processes = Number(process.argv[2] ?? 1);

if (cluster.isPrimary && processes > 1) {
  let listening = 0;
  cluster.on('listening', (_w, address) => {
    if (++listening === processes) console.log(`listening on http://127.0.0.1:${address.port}`);
  });
  // every process asks for port 0: the primary hands them all the same one
  for (let i = 0; i < processes; i++) cluster.fork();
  process.on('SIGTERM', () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.kill();
    process.exit(0);
  });
} else {
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      JSON.parse(Buffer.concat(parts).toString('utf8'));
      const body = '[0.5]';
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(body.length) });
      res.end(body);
    });
  });
  server.keepAliveTimeout = 65_000;
  server.listen(0, '127.0.0.1', () => {
    const a = server.address();
    if (processes === 1 && a && typeof a === 'object') console.log(`listening on http://127.0.0.1:${a.port}`);
  });
}
