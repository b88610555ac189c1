import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import {
  type ConsoleConfig,
  completeSignIn,
  currentSession,
  onSessionChange,
  type Session,
  signIn,
  signOut,
  useToken,
} from './auth';
import { ComparePage } from './pages/compare';
import { JobPage, JobsList } from './pages/jobs';
import { ModelPage, ModelsList } from './pages/models';
import { NewJob } from './pages/new-job';
import { TriggersPage } from './pages/triggers';
import { UploadPage } from './pages/upload';
import { ErrorBox } from './ui';

/** Hash routes: the console is one page served at /console, and the issuer returns there. */
function useRoute(): string {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const on = () => {
      setHash(location.hash);
      // keyboard and screen-reader users land on the new page's heading
      requestAnimationFrame(() => document.getElementById('page-title')?.focus());
    };
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return hash;
}

function Routed({ session }: { session: Session }) {
  const hash = useRoute();
  const [path, query] = hash.replace(/^#/, '').split('?');
  const q = new URLSearchParams(query ?? '');
  const seg = path.split('/').filter(Boolean).map(decodeURIComponent);
  const can = (s: string) => session.scopes.has(s);
  const home = can('submit') ? 'jobs' : 'models';
  const page = seg[0] ?? home;
  if (page === 'jobs' && can('submit')) return seg[1] ? <JobPage id={seg[1]} /> : <JobsList />;
  if (page === 'new' && can('submit')) return <NewJob />;
  if (page === 'upload' && can('submit')) return <UploadPage />;
  if (page === 'models' && can('predict'))
    return seg[1] ? <ModelPage name={seg[1]} version={q.get('v') ?? undefined} /> : <ModelsList />;
  if (page === 'compare' && can('predict') && seg[1]) return <ComparePage name={seg[1]} />;
  if (page === 'triggers' && can('admin')) return <TriggersPage />;
  return (
    <section>
      <h1 id="page-title" tabIndex={-1}>
        Not available
      </h1>
      <p>
        This page does not exist, or your token lacks the scope it needs (you have:{' '}
        {[...session.scopes].join(', ') || 'no scope'}).
      </p>
    </section>
  );
}

function Nav({ session, config }: { session: Session; config: ConsoleConfig }) {
  const hash = useRoute();
  const can = (s: string) => session.scopes.has(s);
  const links: Array<[string, string, boolean]> = [
    ['#/jobs', 'Jobs', can('submit')],
    ['#/new', 'New job', can('submit')],
    ['#/upload', 'Upload data', can('submit')],
    ['#/models', 'Models', can('predict')],
    ['#/triggers', 'Triggers', can('admin')],
  ];
  return (
    <header class="top">
      <a href="#main" class="skip">
        Skip to content
      </a>
      <span class="brand">mlaas4hep</span>
      <nav aria-label="main">
        <ul>
          {links
            .filter(([, , show]) => show)
            .map(([href, label]) => (
              <li key={href}>
                <a href={href} aria-current={hash.startsWith(href) ? 'page' : undefined}>
                  {label}
                </a>
              </li>
            ))}
        </ul>
      </nav>
      <span class="who">
        {session.sub} <span class="muted">({[...session.scopes].join(', ') || 'no scope'})</span>{' '}
        <button type="button" onClick={() => signOut(config.oidc)}>
          Sign out
        </button>
      </span>
    </header>
  );
}

function SignIn({ config, error }: { config: ConsoleConfig; error?: string }) {
  const [token, setToken] = useState('');
  return (
    <main id="main" class="signin">
      <h1 id="page-title">mlaas4hep</h1>
      <p>Train models on ROOT files, watch them learn, and use them: sign in first.</p>
      <ErrorBox error={error} />
      {config.oidc ? (
        <button type="button" class="primary" onClick={() => signIn(config.oidc!)}>
          Sign in
        </button>
      ) : (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            useToken(token);
          }}
        >
          <p>
            This deployment has no sign-in configured: paste a bearer token (it stays in this tab's memory).
          </p>
          <label for="token">Token</label>
          <textarea id="token" rows={4} value={token} onInput={(e) => setToken(e.currentTarget.value)} />
          <button type="submit" class="primary">
            Use token
          </button>
        </form>
      )}
    </main>
  );
}

function App({ config, error }: { config: ConsoleConfig; error?: string }) {
  const [session, setSession] = useState(currentSession());
  useEffect(() => onSessionChange(() => setSession(currentSession())), []);
  if (!session) return <SignIn config={config} error={error} />;
  return (
    <>
      <Nav session={session} config={config} />
      <main id="main">
        <Routed session={session} />
      </main>
    </>
  );
}

async function start() {
  const root = document.getElementById('app')!;
  let config: ConsoleConfig = { oidc: null, connect: [] };
  let error: string | undefined;
  try {
    config = (await (await fetch('/console/config.json')).json()) as ConsoleConfig;
    if (config.oidc) error = await completeSignIn(config.oidc);
  } catch (e) {
    error = e instanceof Error ? e.message : String(e);
  }
  root.textContent = '';
  render(<App config={config} error={error} />, root);
}

void start();
