import { useState } from 'preact/hooks';
import { errorText, get, send } from '../api';
import { ErrorBox, Page, useLoad } from '../ui';

interface Trigger {
  prefix: string;
  workflow: Record<string, unknown>;
  label?: number | string;
  owner?: string;
}

const TEMPLATE = JSON.stringify(
  {
    files: ['s3://BUCKET/data/background.root', '{object}'],
    labels: [0, 1],
    params: { branch: 'Events', epochs: 3 },
  },
  null,
  2,
);

export function TriggersPage() {
  const list = useLoad(() => get<Array<{ name: string; trigger: Trigger }>>('/triggers'), []);
  const [name, setName] = useState('');
  const [prefix, setPrefix] = useState('incoming/');
  const [workflow, setWorkflow] = useState(TEMPLATE);
  const [error, setError] = useState<string>();
  const create = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    try {
      const doc = { prefix, workflow: JSON.parse(workflow) as unknown };
      await send('PUT', `/triggers/${encodeURIComponent(name)}`, doc);
      setName('');
      await list.reload();
    } catch (err) {
      setError(errorText(err));
    }
  };
  const remove = async (n: string) => {
    if (!confirm(`Delete trigger ${n}?`)) return;
    try {
      await send('DELETE', `/triggers/${encodeURIComponent(n)}`);
      await list.reload();
    } catch (err) {
      setError(errorText(err));
    }
  };
  return (
    <Page title="Upload triggers">
      <p>
        A trigger trains its workflow template whenever a .root file lands under its prefix of{' '}
        <code>incoming/</code>; <code>{'{object}'}</code> in the files names the new file.
      </p>
      <ErrorBox error={list.error} />
      {list.value && list.value.length === 0 && <p>No triggers.</p>}
      {list.value && list.value.length > 0 && (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Prefix</th>
                <th scope="col">Files</th>
                <th scope="col">Owner</th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.value.map(({ name: n, trigger: t }) => (
                <tr key={n}>
                  <td>{n}</td>
                  <td>
                    <code>{t.prefix}</code>
                  </td>
                  <td>{((t.workflow.files as string[] | undefined) ?? []).join(', ')}</td>
                  <td>{t.owner ?? '—'}</td>
                  <td>
                    <button type="button" class="danger" onClick={() => remove(n)}>
                      Delete {n}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <h2>New trigger</h2>
      <form onSubmit={create}>
        <div class="field">
          <label for="t-name">Name</label>
          <input
            id="t-name"
            type="text"
            required
            value={name}
            onInput={(e) => setName(e.currentTarget.value)}
          />
        </div>
        <div class="field">
          <label for="t-prefix">Prefix (incoming/ or a folder below it, ending in /)</label>
          <input id="t-prefix" type="text" value={prefix} onInput={(e) => setPrefix(e.currentTarget.value)} />
        </div>
        <div class="field">
          <label for="t-wf">Workflow template (JSON)</label>
          <textarea
            id="t-wf"
            rows={10}
            spellcheck={false}
            value={workflow}
            onInput={(e) => setWorkflow(e.currentTarget.value)}
          />
        </div>
        <ErrorBox error={error} />
        <button type="submit" class="primary">
          Create trigger
        </button>
      </form>
    </Page>
  );
}
