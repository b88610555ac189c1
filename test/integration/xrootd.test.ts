import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UnavailableError, UnprocessableError } from '../../lib/errors.js';
import { RootFileNotFoundError } from '../../lib/root/errors.js';
import { openRoot } from '../../lib/root/index.js';
import { readColumns } from '../../lib/root/iterate.js';
import { XRootDPool } from '../../lib/root/source/xrootd/pool.js';
import { XRootDSource } from '../../lib/root/source/xrootd.js';
import { type TreeStats, treeStats } from '../../lib/root/stats.js';
import {
  expectMatchesReference,
  hasShared,
  loadReference,
  ROOT_DIR,
  rootFiles,
  SYNTH_DIR,
} from '../helpers/reference.js';
import {
  macaroon,
  serverDir,
  startXRootD,
  startXRootDCluster,
  testPki,
  type XRootDCluster,
  type XRootDServer,
  xrootdMissing,
  xrootdTool,
} from '../helpers/xrootd-server.js';

const missing = xrootdMissing();
const FILES = hasShared
  ? [
      ...rootFiles(ROOT_DIR).map((f) => join(ROOT_DIR, f)),
      ...rootFiles(SYNTH_DIR).map((f) => join(SYNTH_DIR, f)),
    ]
  : [];
const SIGNAL = join(SYNTH_DIR, 'signal.root');

async function statsOf(spec: string | XRootDSource, tree: string): Promise<TreeStats> {
  const f = await openRoot(spec);
  try {
    return await treeStats(await f.tree(tree));
  } finally {
    await f.close();
  }
}

describe.skipIf(!!missing || !hasShared)(
  `XRootD against real servers${missing ? ` (skipped: ${missing})` : ''}`,
  () => {
    let server: XRootDServer;
    const pools: XRootDPool[] = [];
    const pool = (options: ConstructorParameters<typeof XRootDPool>[0] = {}) => {
      const p = new XRootDPool(options);
      pools.push(p);
      return p;
    };
    beforeAll(async () => {
      server = await startXRootD({ files: FILES });
    });
    afterAll(async () => {
      await Promise.all(pools.map((p) => p.close()));
      await server?.close();
    });

    describe('every shared ROOT file through root:// reads as it does from disk', () => {
      for (const dir of hasShared ? [ROOT_DIR, SYNTH_DIR] : []) {
        for (const [file, trees] of Object.entries(loadReference(dir))) {
          for (const [tree, expected] of Object.entries(trees)) {
            it(`${file} tree "${tree}": the same figures as the local file, and as reference.json`, async () => {
              const remote = await statsOf(`${server.url}//store/${file}`, tree);
              expect(remote).toEqual(await statsOf(join(dir, file), tree));
              expectMatchesReference(remote, expected, `root:// ${file}:${tree}`);
            });
          }
        }
      }

      it('uproot-HZZ.root: flat and jagged columns are identical to the local read', async () => {
        const branches = ['NJet', 'Jet_Px', 'Jet_Py', 'MET_px', 'Muon_Px', 'EventWeight'];
        const read = async (spec: string) => {
          const f = await openRoot(spec);
          try {
            return (await readColumns(await f.tree('events'), { branches })).columns;
          } finally {
            await f.close();
          }
        };
        const [remote, local] = [
          await read(`${server.url}//store/uproot-HZZ.root`),
          await read(join(ROOT_DIR, 'uproot-HZZ.root')),
        ];
        expect(Object.keys(remote).sort()).toEqual([...branches].sort());
        expect(remote).toEqual(local);
      });
    });

    it('reads the same bytes xrdcp copies', async () => {
      const { dir, cleanup } = await serverDir();
      try {
        const copy = join(dir, 'signal.root');
        await promisify(execFile)(xrootdTool('xrdcp') ?? 'xrdcp', [
          '-s',
          '-f',
          `${server.url}//store/signal.root`,
          copy,
        ]);
        const theirs = await readFile(copy);
        const src = new XRootDSource(`${server.url}//store/signal.root`, { pool: pool() });
        const size = await src.size();
        expect(size).toBe(theirs.length);
        // the whole file in 3 MB ranges: vector reads cut into elements, several in flight
        const ranges = Array.from(
          { length: Math.ceil(size / 3e6) },
          (_, i) => [i * 3e6, Math.min(3e6, size - i * 3e6)] as const,
        );
        const ours = Buffer.concat(await src.read(ranges));
        expect(ours.equals(theirs)).toBe(true);
        expect(ours.equals(await readFile(SIGNAL))).toBe(true);
        await src.close();
      } finally {
        await cleanup();
      }
    });

    it('a file that is not there is a 404 naming it and quoting the server', async () => {
      const err = await new XRootDSource(`${server.url}//store/nothere.root`, { pool: pool() })
        .size()
        .catch((e) => e);
      expect(err).toBeInstanceOf(RootFileNotFoundError);
      expect(err.message).toMatch(
        /ROOT file not found: root:\/\/127\.0\.0\.1:\d+\/\/store\/nothere\.root .*\[3011\]/,
      );
    });

    it('a path outside the export is refused (access denied), not read', async () => {
      const err = await new XRootDSource(`${server.url}//etc/passwd`, { pool: pool() })
        .size()
        .catch((e) => e);
      expect(err).toBeInstanceOf(RootFileNotFoundError);
      expect(err.message).toMatch(/access denied: \[3010\] .*disallowed/);
    });

    describe('behind a redirector (manager xrootd + cmsd, a data server subscribed to it)', () => {
      let cluster: XRootDCluster;
      beforeAll(async () => {
        cluster = await startXRootDCluster({ files: [SIGNAL, join(ROOT_DIR, 'uproot-Zmumu.root')] });
      });
      afterAll(async () => {
        await cluster?.close();
      });

      it('opens at the manager, is redirected to the data server, and reads the same figures', async () => {
        const hops: number[] = [];
        const src = new XRootDSource(`${cluster.url}//store/uproot-Zmumu.root`, {
          pool: pool(),
          checkHost: (t) => void hops.push(t.port),
        });
        expect(await statsOf(src, 'events')).toEqual(
          await statsOf(join(ROOT_DIR, 'uproot-Zmumu.root'), 'events'),
        );
        expect(hops).toEqual([Number(cluster.url.split(':').at(-1)), cluster.server.port]);
      });

      it('a file no data server holds is a 404 (after the manager asks its servers)', async () => {
        const err = await new XRootDSource(`${cluster.url}//store/none.root`, { pool: pool() })
          .size()
          .catch((e) => e);
        expect(err).toBeInstanceOf(RootFileNotFoundError);
      });
    });

    describe('faults', () => {
      it('a server killed in the middle of a read: a typed 503 after the retries, never a hang', async () => {
        const own = await startXRootD({ files: [SIGNAL] });
        try {
          const src = new XRootDSource(`${own.url}//store/signal.root`, {
            pool: pool(),
            retries: 1,
            retryDelayMs: 50,
          });
          const f = await openRoot(src);
          const tree = await f.tree('Events');
          // The kill is tied to the third basket read (of 18), not to a timer: on a quiet
          // machine the whole read can finish within any fixed delay.
          const read = src.read.bind(src);
          let reads = 0;
          let killed: Promise<void> | undefined;
          let t0 = 0;
          src.read = (ranges) => {
            const pending = read(ranges);
            if (++reads === 3) {
              t0 = Date.now();
              killed = own.kill();
            }
            return pending;
          };
          const err = await treeStats(tree).then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(reads).toBeGreaterThanOrEqual(3);
          await killed;
          expect(err).toBeInstanceOf(UnavailableError);
          expect((err as Error).message).toMatch(/closed the connection|cannot be reached|connection failed/);
          expect(Date.now() - t0).toBeLessThan(10_000);
        } finally {
          await own.close();
        }
      });

      it('a server that stops answering (SIGSTOP): the request times out with a 503 naming what was asked', async () => {
        const own = await startXRootD({ files: [SIGNAL] });
        try {
          const src = new XRootDSource(`${own.url}//store/signal.root`, {
            pool: pool({ timeoutMs: 500 }),
            retries: 1,
            retryDelayMs: 50,
          });
          await src.size();
          own.pause();
          const err = await src.read([[0, 1000]]).catch((e) => e);
          expect(err).toBeInstanceOf(UnavailableError);
          expect(err.message).toMatch(
            /no answer to kXR_read within 500 ms|no answer to the handshake within 500 ms/,
          );
        } finally {
          own.resume();
          await own.close();
        }
      });

      it('a server that only accepts GSI: a 422 naming the protocol it offered', async () => {
        const { dir, cleanup } = await serverDir();
        const pki = await testPki(dir);
        const gsi = await startXRootD({
          files: [SIGNAL],
          config: [
            'xrootd.seclib libXrdSec.so',
            `sec.protocol gsi -cert:${pki.cert} -key:${pki.key} -certdir:${pki.caDir} -crl:0 -ca:0`,
            'sec.protbind * only gsi',
          ],
        });
        try {
          const err = await new XRootDSource(`${gsi.url}//store/signal.root`, { pool: pool() })
            .size()
            .catch((e) => e);
          expect(err).toBeInstanceOf(UnprocessableError);
          expect(err).toMatchObject({ code: 'AuthenticationUnsupported' });
          expect(err.message).toMatch(/asks for authentication by gsi; .*X\.509/);
        } finally {
          await gsi.close();
          await cleanup();
        }
      });
    });

    describe('roots:// (TLS) and bearer tokens (ztn, validated by the macaroons plugin)', () => {
      let tls: XRootDServer;
      let ca: string;
      let token: string;
      let cleanup: () => Promise<void>;
      beforeAll(async () => {
        const d = await serverDir();
        cleanup = d.cleanup;
        const pki = await testPki(d.dir);
        ca = pki.ca;
        const secret = randomBytes(48);
        await writeFile(join(d.dir, 'secret'), `${secret.toString('base64')}\n`, { mode: 0o644 });
        await writeFile(join(d.dir, 'authdb'), 'u * /store lr\n', { mode: 0o644 });
        const before = new Date(Date.now() + 3600_000).toISOString().replace(/\.\d+Z$/, 'Z');
        token = macaroon(secret, 'mlaas4hep-test', [
          `before:${before}`,
          'activity:DOWNLOAD,READ_METADATA',
          'path:/store',
        ]);
        tls = await startXRootD({
          files: [SIGNAL, join(ROOT_DIR, 'uproot-Zmumu.root')],
          config: [
            `xrd.tls ${pki.cert} ${pki.key}`,
            `xrd.tlsca certdir ${pki.caDir}`,
            'all.sitename mlaas4hep-test',
            'xrootd.seclib libXrdSec.so',
            // "-expiry optional" is what turns the expiry check off in xrootd 5.5 (its option parsing is inverted)
            'sec.protocol ztn -tokenlib libXrdMacaroons.so -expiry optional',
            'sec.protbind * only ztn',
            'ofs.authorize 1',
            'ofs.authlib libXrdMacaroons.so',
            `acc.authdb ${join(d.dir, 'authdb')}`,
            `macaroons.secretkey ${join(d.dir, 'secret')}`,
          ],
        });
      });
      afterAll(async () => {
        await tls?.close();
        await cleanup?.();
      });
      const roots = () => tls.url.replace('root://', 'roots://');

      it('reads over TLS with a token the server validates, the same figures as from disk', async () => {
        const src = new XRootDSource(`${roots()}//store/uproot-Zmumu.root`, {
          pool: pool({ ca, token: async () => token }),
        });
        expect(await statsOf(src, 'events')).toEqual(
          await statsOf(join(ROOT_DIR, 'uproot-Zmumu.root'), 'events'),
        );
      });

      it('without a token: a 422 that says where tokens are looked for', async () => {
        const err = await new XRootDSource(`${roots()}//store/signal.root`, {
          pool: pool({ ca, token: async () => undefined }),
        })
          .size()
          .catch((e) => e);
        expect(err).toBeInstanceOf(UnprocessableError);
        expect(err.message).toMatch(/no token was found \(set BEARER_TOKEN, or BEARER_TOKEN_FILE/);
      });

      it('a token the server cannot validate is refused with its reason', async () => {
        const forged = macaroon(randomBytes(48), 'mlaas4hep-test', ['path:/store']);
        const err = await new XRootDSource(`${roots()}//store/signal.root`, {
          pool: pool({ ca, token: async () => forged }),
        })
          .size()
          .catch((e) => e);
        expect(err).toBeInstanceOf(UnprocessableError);
        expect(err.message).toMatch(/ztn was refused/);
      });

      it('an untrusted certificate is a 422 naming NODE_EXTRA_CA_CERTS, not retried', async () => {
        const err = await new XRootDSource(`${roots()}//store/signal.root`, {
          pool: pool({ token: async () => token }),
        })
          .size()
          .catch((e) => e);
        expect(err).toMatchObject({ status: 422, code: 'TLSCertificate' });
        expect(err.message).toMatch(/NODE_EXTRA_CA_CERTS/);
      });

      it('root:// to a server that wants TLS for tokens: switched to TLS when the server asks, then the token is sent', async () => {
        const src = new XRootDSource(`${tls.url}//store/uproot-Zmumu.root`, {
          pool: pool({ ca, token: async () => token }),
        });
        expect(await src.size()).toBe((await readFile(join(ROOT_DIR, 'uproot-Zmumu.root'))).length);
      });

      it('roots:// to a server without TLS is refused, not downgraded', async () => {
        const err = await new XRootDSource(
          `${server.url.replace('root://', 'roots://')}//store/signal.root`,
          { pool: pool() },
        )
          .size()
          .catch((e) => e);
        expect(err).toMatchObject({ status: 422, code: 'TLSUnavailable' });
      });
    });
  },
);
