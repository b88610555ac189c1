import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { accessSync, constants, readdirSync, readFileSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, delimiter, join, resolve } from 'node:path';

/** The path of a Debian xrootd tool (xrootd, cmsd, xrdcp), or undefined when it is not installed. */
export function xrootdTool(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {}
  }
  return undefined;
}

/**
 * Why XRootD tests cannot run here, or undefined when they can. In CI the server must be installed
 * (.ci/run installs it): a missing binary there is a failure, not a reason to skip.
 */
export function xrootdMissing(): string | undefined {
  if (xrootdTool('xrootd') && xrootdTool('cmsd') && xrootdTool('xrdcp')) return undefined;
  const why = 'xrootd, cmsd or xrdcp is not installed (Debian: apt-get install xrootd-server xrootd-client)';
  if (process.env.CI === 'true') throw new Error(`${why}; CI must install them`);
  return why;
}

export interface XRootDServerOptions {
  /** files served under /store/<name>, as symlinks to these paths */
  files: string[];
  /** extra configuration lines */
  config?: string[];
}

export interface XRootDProcess {
  /** root://127.0.0.1:<port> */
  url: string;
  port: number;
  /** SIGSTOP / SIGCONT: a server that stops answering without closing its connections */
  pause(): void;
  resume(): void;
  /** stops it (SIGKILL: as abrupt as a crash) */
  kill(): Promise<void>;
}

/** Whether every thread of the process is stopped (state T in /proc), as after SIGSTOP. */
function stopped(pid: number): boolean {
  try {
    const tasks = readdirSync(`/proc/${pid}/task`);
    return tasks.every((t) =>
      / T /.test(readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8').replace(/^.*\)/, ')')),
    );
  } catch {
    return true;
  }
}

/** A free TCP port on 127.0.0.1 (the server is started on it right after). */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((ok) => s.listen(0, '127.0.0.1', ok));
  const { port } = s.address() as { port: number };
  await new Promise<void>((ok) => s.close(() => ok()));
  return port;
}

function readableByServer(path: string): boolean {
  if (process.getuid?.() !== 0) return true;
  try {
    execFileSync('runuser', ['-u', 'nobody', '--', 'test', '-r', path], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A temporary folder the server's user can read and write, removed by `cleanup`. */
export async function serverDir(): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'xrootd-'));
  await chmod(dir, 0o777);
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * A data folder with /store/<file> for each file: a symlink to it, or a copy in this temporary folder
 * when the server's user ("nobody" under root) cannot reach the original (a checkout in a private
 * folder, as CI may have).
 */
export async function dataDir(dir: string, files: string[]): Promise<string> {
  const data = join(dir, 'data');
  await mkdir(join(data, 'store'), { recursive: true, mode: 0o777 });
  for (const f of files) {
    const target = join(data, 'store', basename(f));
    if (readableByServer(resolve(f))) await symlink(resolve(f), target);
    else await copyFile(f, target);
  }
  await chmod(data, 0o777);
  await chmod(join(data, 'store'), 0o777);
  return data;
}

/**
 * Runs `program` (xrootd or cmsd) with a config file in `dir` until `ready` appears in its output.
 * xrootd refuses to run as root, so as root it runs as "nobody". The process is signalled by the pid
 * it writes into its admin folder, never by name.
 */
export async function runDaemon(
  program: 'xrootd' | 'cmsd',
  dir: string,
  name: string,
  lines: string[],
  ready: RegExp,
): Promise<XRootDProcess & { child: ChildProcess }> {
  // an xrootd and its cmsd share the admin folder: they talk through a socket there
  const admin = join(dir, `admin-${name}`);
  await mkdir(admin, { mode: 0o777, recursive: true });
  await chmod(admin, 0o777);
  const cfg = join(dir, `${name}-${program}.cfg`);
  await writeFile(cfg, [...lines, `all.adminpath ${admin}`, `all.pidpath ${admin}`, ''].join('\n'));
  const tool = xrootdTool(program) ?? program;
  const asRoot = process.getuid?.() === 0;
  const child = asRoot
    ? spawn('runuser', ['-u', 'nobody', '--', tool, '-c', cfg], { stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(tool, ['-c', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  await new Promise<void>((ok, fail) => {
    const timer = setTimeout(
      () => fail(new Error(`${program} did not start in 20 s:\n${output.slice(-2000)}`)),
      20_000,
    );
    const watch = (chunk: Buffer) => {
      output += chunk.toString();
      if (ready.test(output)) {
        clearTimeout(timer);
        ok();
      }
    };
    child.stdout?.on('data', watch);
    child.stderr?.on('data', watch);
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`${program} exited (${code}) while starting:\n${output.slice(-2000)}`));
    });
  });
  child.removeAllListeners('exit');
  const pid = Number((await readFile(join(admin, `${program}.pid`), 'utf8')).trim());
  const port = Number(/^xrd\.port (\d+)/m.exec(lines.join('\n'))?.[1] ?? 0);
  const signal = (s: NodeJS.Signals, target = pid) => {
    try {
      process.kill(target, s);
    } catch {}
  };
  // runuser stops itself when its child stops (job control): wake both, by their ids
  const wake = () => {
    signal('SIGCONT');
    if (child.pid) signal('SIGCONT', child.pid);
  };
  return {
    child,
    url: `root://127.0.0.1:${port}`,
    port,
    pause: () => {
      signal('SIGSTOP');
      // a signal is delivered asynchronously: return once the kernel shows every thread stopped,
      // or a request sent right after could still be answered
      const until = Date.now() + 2_000;
      while (Date.now() < until && !stopped(pid)) {}
    },
    resume: wake,
    kill: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((ok) => child.once('exit', ok));
      wake();
      signal('SIGKILL');
      await exited;
    },
  };
}

export interface XRootDServer extends XRootDProcess {
  close(): Promise<void>;
}

/** One data server on a free port of 127.0.0.1 exporting /store. */
export async function startXRootD(options: XRootDServerOptions): Promise<XRootDServer> {
  const { dir, cleanup } = await serverDir();
  const data = await dataDir(dir, options.files);
  const port = await freePort();
  const lines = [`xrd.port ${port}`, 'all.export /store', `oss.localroot ${data}`, ...(options.config ?? [])];
  const server = await runDaemon('xrootd', dir, 'server', lines, /xrootd \S+ initialization completed/);
  return {
    ...server,
    close: async () => {
      await server.kill();
      await cleanup();
    },
  };
}

export interface XRootDCluster {
  /** the manager (redirector): root://127.0.0.1:<port> */
  url: string;
  /** the data server behind it */
  server: XRootDProcess;
  close(): Promise<void>;
}

/**
 * A manager (redirector: xrootd + cmsd) in front of one data server (xrootd + cmsd), as a site or the
 * AAA federation is built: an open at the manager is redirected to the server holding the file.
 */
export async function startXRootDCluster(options: XRootDServerOptions): Promise<XRootDCluster> {
  const { dir, cleanup } = await serverDir();
  const data = await dataDir(dir, options.files);
  const [mgr, cms, srv] = [await freePort(), await freePort(), await freePort()];
  const common = ['all.export /store', `all.manager 127.0.0.1:${cms}`, ...(options.config ?? [])];
  const manager = [
    'all.role manager',
    `xrd.port ${mgr} if exec xrootd`,
    `xrd.port ${cms} if exec cmsd`,
    // serve as soon as one server subscribes (the default waits 90 s after start-up), look files up fast
    'cms.delay startup 1 servers 1 service 1 lookup 1',
    ...common,
  ];
  const server = ['all.role server', `xrd.port ${srv} if exec xrootd`, `oss.localroot ${data}`, ...common];
  const started: XRootDProcess[] = [];
  const close = async () => {
    for (const p of started.reverse()) await p.kill();
    await cleanup();
  };
  try {
    started.push(await runDaemon('cmsd', dir, 'manager', manager, /initialization completed/));
    const front = await runDaemon('xrootd', dir, 'manager', manager, /xrootd \S+ initialization completed/);
    started.push(front);
    const back = await runDaemon('xrootd', dir, 'server', server, /xrootd \S+ initialization completed/);
    started.push(back);
    started.push(await runDaemon('cmsd', dir, 'server', server, /Logged into/));
    return {
      url: `root://127.0.0.1:${mgr}`,
      server: { ...back, url: `root://127.0.0.1:${srv}`, port: srv },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

export interface TestPki {
  /** the CA certificate (PEM) clients must trust */
  ca: string;
  /** a folder with the CA under its hash name, as xrd.tlsca certdir and gsi's -certdir want */
  caDir: string;
  /** the server's certificate and key (an end-entity certificate for 127.0.0.1, signed by the CA) */
  cert: string;
  key: string;
}

/** A throw-away CA and a server certificate for 127.0.0.1 (Debian's openssl), for roots:// and gsi. */
export async function testPki(dir: string): Promise<TestPki> {
  const pki = join(dir, 'pki');
  const caDir = join(dir, 'ca');
  await mkdir(pki, { mode: 0o755 });
  await mkdir(caDir, { mode: 0o755 });
  const run = (...args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
  const f = (n: string) => join(pki, n);
  run(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.pem'),
    '-days',
    '2',
    '-subj',
    '/CN=mlaas4hep test CA',
  );
  run(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    f('key.pem'),
    '-out',
    f('server.csr'),
    '-subj',
    '/CN=127.0.0.1',
  );
  await writeFile(
    f('ext'),
    'basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1,DNS:localhost\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\n',
  );
  run(
    'x509',
    '-req',
    '-in',
    f('server.csr'),
    '-CA',
    f('ca.pem'),
    '-CAkey',
    f('ca.key'),
    '-CAcreateserial',
    '-out',
    f('cert.pem'),
    '-days',
    '2',
    '-extfile',
    f('ext'),
  );
  const hash = execFileSync('openssl', ['x509', '-hash', '-noout', '-in', f('ca.pem')])
    .toString()
    .trim();
  const ca = await readFile(f('ca.pem'), 'utf8');
  await writeFile(join(caDir, `${hash}.0`), ca, { mode: 0o644 });
  await chmod(f('cert.pem'), 0o644);
  // the server reads its key as "nobody" and refuses keys others can read
  if (process.getuid?.() === 0) execFileSync('chown', ['nobody', f('key.pem')]);
  await chmod(f('key.pem'), 0o400);
  return { ca, caDir, cert: f('cert.pem'), key: f('key.pem') };
}

/**
 * A macaroon (libmacaroons' version 1 format), the token XRootD's macaroons plugin validates for ztn:
 * HMAC-SHA256 chained from a key derived from `secret` over the identifier and each caveat.
 */
export function macaroon(secret: Buffer, location: string, caveats: string[]): string {
  const packet = (key: string, value: Buffer | string) => {
    const body = Buffer.concat([Buffer.from(`${key} `), Buffer.from(value), Buffer.from('\n')]);
    return Buffer.concat([Buffer.from((body.length + 4).toString(16).padStart(4, '0')), body]);
  };
  const generator = Buffer.alloc(32);
  generator.write('macaroons-key-generator');
  const id = randomBytes(8).toString('hex');
  let sig = createHmac('sha256', createHmac('sha256', generator).update(secret).digest()).update(id).digest();
  for (const c of caveats) sig = createHmac('sha256', sig).update(c).digest();
  return Buffer.concat([
    packet('location', location),
    packet('identifier', id),
    ...caveats.map((c) => packet('cid', c)),
    packet('signature', sig),
  ]).toString('base64url');
}
