import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, delimiter, join } from 'node:path';

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

/** A free TCP port on 127.0.0.1 (the server is started on it right after). */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((ok) => s.listen(0, '127.0.0.1', ok));
  const { port } = s.address() as { port: number };
  await new Promise<void>((ok) => s.close(() => ok()));
  return port;
}

/** A temporary folder the server's user can read and write, removed by `cleanup`. */
export async function serverDir(): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'xrootd-'));
  await chmod(dir, 0o777);
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** A data folder with /store/<file> symlinks to the shared files (world-readable, never copied). */
export async function dataDir(dir: string, files: string[]): Promise<string> {
  const data = join(dir, 'data');
  await mkdir(join(data, 'store'), { recursive: true, mode: 0o777 });
  for (const f of files) await symlink(f, join(data, 'store', basename(f)));
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
  const admin = join(dir, `admin-${name}`);
  await mkdir(admin, { mode: 0o777 });
  await chmod(admin, 0o777);
  const cfg = join(dir, `${name}.cfg`);
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
  const signal = (s: NodeJS.Signals) => {
    try {
      process.kill(pid, s);
    } catch {}
  };
  return {
    child,
    url: `root://127.0.0.1:${port}`,
    port,
    pause: () => signal('SIGSTOP'),
    resume: () => signal('SIGCONT'),
    kill: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((ok) => child.once('exit', ok));
      signal('SIGCONT');
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
    ...common,
  ];
  const server = ['all.role server', `xrd.port ${srv} if exec xrootd`, `oss.localroot ${data}`, ...common];
  const started: XRootDProcess[] = [];
  const close = async () => {
    for (const p of started.reverse()) await p.kill();
    await cleanup();
  };
  try {
    started.push(await runDaemon('cmsd', dir, 'mcms', manager, /initialization completed/));
    const front = await runDaemon('xrootd', dir, 'manager', manager, /xrootd \S+ initialization completed/);
    started.push(front);
    const back = await runDaemon('xrootd', dir, 'server', server, /xrootd \S+ initialization completed/);
    started.push(back);
    started.push(await runDaemon('cmsd', dir, 'scms', server, /Logged into/));
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

/** A self-signed certificate for 127.0.0.1 (Debian's openssl), for roots:// tests. */
export async function selfSignedCert(dir: string): Promise<{ cert: string; key: string; pem: string }> {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ],
    { stdio: 'ignore' },
  );
  await chmod(key, 0o644);
  return { cert, key, pem: await readFile(cert, 'utf8') };
}
