import type { JSX } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, errorText, get, send } from '../api';
import type { DataFile, TreeBranches } from '../types';
import { ErrorBox, Page, useLoad } from '../ui';

interface JsonSchema {
  type?: string;
  properties?: Record<string, JsonSchema>;
  default?: unknown;
  minimum?: number;
  exclusiveMinimum?: number;
  maximum?: number;
  exclusiveMaximum?: number;
  enum?: unknown[];
  anyOf?: JsonSchema[];
}

/** The params and training options the form offers, straight from the schema: simple types only. */
const SIMPLE = new Set(['integer', 'number', 'boolean', 'string']);
/** Set by the form's own widgets (tree, branches) rather than as plain inputs. */
const OWN = new Set([
  'branch',
  'selected_branches',
  'exclude_branches',
  'identifier',
  'redirector',
  'hist',
  'verbose',
]);

type Check = { valid: true } | { valid: false; message: string } | undefined;

/** An expression input checked by the server's parser as you type (debounced). */
function ExpressionInput({
  id,
  label,
  value,
  onInput,
  branches,
  error,
}: {
  id: string;
  label: string;
  value: string;
  onInput: (v: string) => void;
  branches: string[] | undefined;
  error?: string;
}) {
  const [check, setCheck] = useState<Check>();
  useEffect(() => {
    if (!value.trim()) return setCheck(undefined);
    const t = setTimeout(() => {
      send<Check>('POST', '/workflow/expression', { expression: value, branches })
        .then(setCheck)
        .catch((e) => setCheck({ valid: false, message: errorText(e) }));
    }, 250);
    return () => clearTimeout(t);
  }, [value, branches?.join(',')]);
  const message = error ?? (check && !check.valid ? check.message : undefined);
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <input
        id={id}
        type="text"
        value={value}
        spellcheck={false}
        aria-invalid={message ? 'true' : 'false'}
        aria-describedby={`${id}-msg`}
        onInput={(e) => onInput(e.currentTarget.value)}
      />
      <span id={`${id}-msg`} class={message ? 'field-error' : 'field-ok'} aria-live="polite">
        {message ? `✗ ${message}` : check?.valid ? '✓ valid expression' : ''}
      </span>
    </div>
  );
}

const FieldError = ({ id, error }: { id: string; error?: string }) =>
  error ? (
    <span id={id} class="field-error" role="alert">
      ✗ {error}
    </span>
  ) : null;

export function NewJob() {
  const schema = useLoad(() => get<JsonSchema>('/workflow/schema'), []);
  const files = useLoad(() => get<DataFile[]>('/data/files'), []);
  const [name, setName] = useState('');
  const [picked, setPicked] = useState<Record<string, string>>({});
  const [params, setParams] = useState<Record<string, unknown>>({});
  const [training, setTraining] = useState<Record<string, unknown>>({});
  const [trees, setTrees] = useState<TreeBranches[]>();
  const [tree, setTree] = useState<string>();
  const [branches, setBranches] = useState<Set<string>>(new Set());
  const [inspectError, setInspectError] = useState<string>();
  const [cuts, setCuts] = useState<string[]>(['']);
  const [defines, setDefines] = useState<Array<{ name: string; def: string }>>([]);
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const inspected = useRef<string | undefined>(undefined);

  const sources = Object.keys(picked);
  // the branches and types of the first file picked: what the others are expected to share
  useEffect(() => {
    const first = sources[0];
    if (!first || inspected.current === first) return;
    inspected.current = first;
    setInspectError(undefined);
    get<TreeBranches[]>(`/data/branches?source=${encodeURIComponent(first)}`)
      .then((t) => {
        setTrees(t);
        const chosen = t.find((x) => x.name === 'Events') ?? t[0];
        setTree(chosen?.name);
        setBranches(new Set(chosen?.branches.filter((b) => b.readable).map((b) => b.name)));
      })
      .catch((e) => setInspectError(errorText(e)));
  }, [sources.join('|')]);

  const current = trees?.find((t) => t.name === tree);
  const allNames = current?.branches.map((b) => b.name);
  const available = useMemo(
    () => (allNames ? [...allNames, ...defines.map((d) => d.name).filter(Boolean)] : undefined),
    [allNames?.join(','), defines.map((d) => d.name).join(',')],
  );

  const workflow = useMemo(() => {
    const p: Record<string, unknown> = { ...params };
    if (tree) p.branch = tree;
    if (current && branches.size && branches.size < current.branches.filter((b) => b.readable).length)
      p.selected_branches = [...branches];
    const w: Record<string, unknown> = {
      ...(name ? { name } : {}),
      files: sources,
      labels: sources.map((s) => {
        const l = picked[s];
        return l !== '' && !Number.isNaN(Number(l)) ? Number(l) : l;
      }),
      params: p,
    };
    const c = cuts.map((x) => x.trim()).filter(Boolean);
    const d = defines.filter((x) => x.name.trim() && x.def.trim());
    if (c.length || d.length)
      w.preproc = {
        ...(c.length ? { cuts: c } : {}),
        ...(d.length ? { define: Object.fromEntries(d.map((x) => [x.name.trim(), x.def.trim()])) } : {}),
      };
    if (Object.keys(training).length) w.training = training;
    return w;
  }, [name, picked, params, training, tree, branches, cuts, defines]);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    setFieldErrors({});
    try {
      const r = await send<{ job_id: string }>('POST', '/submit', workflow);
      location.hash = `#/jobs/${r.job_id}`;
    } catch (err) {
      if (err instanceof ApiError) {
        const f = err.fields();
        setFieldErrors(f);
        if (!Object.keys(f).length) setError(err.message);
        else setError('the workflow has errors: see the fields marked ✗');
      } else setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  const paramSchema = schema.value?.properties?.params?.properties ?? {};
  const trainingSchema = schema.value?.properties?.training?.properties ?? {};
  const input = (
    group: 'params' | 'training',
    key: string,
    s: JsonSchema,
    values: Record<string, unknown>,
    set: (v: Record<string, unknown>) => void,
  ) => {
    const id = `${group}-${key}`;
    const err = fieldErrors[`${group}.${key}`];
    const v = values[key];
    const update = (x: unknown) => {
      const next = { ...values };
      if (x === undefined || x === '') delete next[key];
      else next[key] = x;
      set(next);
    };
    const common = { id, 'aria-invalid': err ? 'true' : 'false', 'aria-describedby': `${id}-err` } as const;
    let control: JSX.Element;
    if (s.enum)
      control = (
        <select
          {...common}
          value={String(v ?? s.default ?? '')}
          onChange={(e) => update(e.currentTarget.value)}
        >
          {s.enum.map((o) => (
            <option key={String(o)}>{String(o)}</option>
          ))}
        </select>
      );
    else if (s.type === 'boolean')
      control = (
        <select
          {...common}
          value={String(v ?? s.default ?? false)}
          onChange={(e) => update(e.currentTarget.value === 'true')}
        >
          <option value="true">yes</option>
          <option value="false">no</option>
        </select>
      );
    else if (s.type === 'string')
      control = (
        <input
          {...common}
          type="text"
          placeholder={s.default === undefined ? '' : String(s.default)}
          value={v === undefined ? '' : String(v)}
          onInput={(e) => update(e.currentTarget.value || undefined)}
        />
      );
    else
      control = (
        <input
          {...common}
          type="number"
          step={s.type === 'integer' ? 1 : 'any'}
          min={s.minimum ?? s.exclusiveMinimum}
          placeholder={s.default === undefined ? '' : String(s.default)}
          value={v === undefined ? '' : String(v)}
          onInput={(e) => {
            const t = e.currentTarget.value;
            update(t === '' ? undefined : Number(t));
          }}
        />
      );
    return (
      <div class="field" key={id}>
        <label for={id}>{key.replace(/_/g, ' ')}</label>
        {control}
        <FieldError id={`${id}-err`} error={err} />
      </div>
    );
  };

  return (
    <Page title="New training job">
      <ErrorBox error={schema.error ?? files.error} />
      <div class="split">
        <form onSubmit={submit} noValidate>
          <div class="field">
            <label for="wf-name">Model name</label>
            <input
              id="wf-name"
              type="text"
              value={name}
              aria-describedby="wf-name-err"
              aria-invalid={fieldErrors.name ? 'true' : 'false'}
              onInput={(e) => setName(e.currentTarget.value)}
            />
            <FieldError id="wf-name-err" error={fieldErrors.name} />
          </div>
          <fieldset aria-describedby="files-err">
            <legend>Files and their labels</legend>
            {files.value?.length === 0 && (
              <p>
                No readable files yet: <a href="#/upload">upload some</a>.
              </p>
            )}
            {files.value?.map((f, i) => (
              <div class="file-row" key={f.source}>
                <input
                  type="checkbox"
                  id={`file-${i}`}
                  checked={f.source in picked}
                  onChange={(e) => {
                    const next = { ...picked };
                    if (e.currentTarget.checked)
                      next[f.source] = String(Object.keys(next).length === 0 ? 1 : 0);
                    else delete next[f.source];
                    setPicked(next);
                  }}
                />
                <label for={`file-${i}`}>
                  {f.key} <span class="muted">({(f.size / 1e6).toFixed(1)} MB)</span>
                </label>
                {f.source in picked && (
                  <>
                    <label for={`label-${i}`} class="sr-only">
                      label of {f.key}
                    </label>
                    <input
                      id={`label-${i}`}
                      class="label-input"
                      type="text"
                      value={picked[f.source]}
                      title={`label of ${f.key}`}
                      onInput={(e) => setPicked({ ...picked, [f.source]: e.currentTarget.value })}
                    />
                  </>
                )}
              </div>
            ))}
            <FieldError id="files-err" error={fieldErrors.files ?? fieldErrors.labels} />
          </fieldset>
          <fieldset>
            <legend>Tree and branches</legend>
            <ErrorBox error={inspectError} />
            {!trees && <p class="muted">Pick a file to see its trees and branches.</p>}
            {trees && (
              <>
                <div class="field">
                  <label for="tree">Tree</label>
                  <select id="tree" value={tree} onChange={(e) => setTree(e.currentTarget.value)}>
                    {trees.map((t) => (
                      <option key={t.name} value={t.name}>
                        {t.name} ({t.kind}, {t.entries} entries)
                      </option>
                    ))}
                  </select>
                </div>
                <fieldset class="branches">
                  <legend class="sr-only">branches to train on</legend>
                  {current?.branches.map((b, i) => (
                    <div key={b.name}>
                      <input
                        type="checkbox"
                        id={`br-${i}`}
                        disabled={!b.readable}
                        checked={branches.has(b.name)}
                        onChange={(e) => {
                          const next = new Set(branches);
                          if (e.currentTarget.checked) next.add(b.name);
                          else next.delete(b.name);
                          setBranches(next);
                        }}
                      />
                      <label for={`br-${i}`}>
                        {b.name}{' '}
                        <span class="muted">
                          {b.type}
                          {b.shape === 'jagged' ? ', jagged' : ''}
                          {b.readable ? '' : `, not readable: ${b.why}`}
                        </span>
                      </label>
                    </div>
                  ))}
                </fieldset>
              </>
            )}
            <FieldError id="branches-err" error={fieldErrors['params.selected_branches']} />
          </fieldset>
          <fieldset>
            <legend>Cuts and new branches</legend>
            {cuts.map((c, i) => (
              <ExpressionInput
                key={`cut-${i}`}
                id={`cut-${i}`}
                label={`cut ${i + 1} (events kept where true)`}
                value={c}
                branches={available}
                error={fieldErrors[`preproc.cuts.${i}`]}
                onInput={(v) => setCuts(cuts.map((x, j) => (j === i ? v : x)))}
              />
            ))}
            <button type="button" onClick={() => setCuts([...cuts, ''])}>
              Add a cut
            </button>
            {defines.map((d, i) => (
              <div class="define" key={`def-${i}`}>
                <div class="field">
                  <label for={`def-name-${i}`}>new branch name</label>
                  <input
                    id={`def-name-${i}`}
                    type="text"
                    value={d.name}
                    onInput={(e) =>
                      setDefines(defines.map((x, j) => (j === i ? { ...x, name: e.currentTarget.value } : x)))
                    }
                  />
                </div>
                <ExpressionInput
                  id={`def-${i}`}
                  label="defined as"
                  value={d.def}
                  branches={allNames}
                  error={fieldErrors[`preproc.define.${d.name}`]}
                  onInput={(v) => setDefines(defines.map((x, j) => (j === i ? { ...x, def: v } : x)))}
                />
              </div>
            ))}
            <button type="button" onClick={() => setDefines([...defines, { name: '', def: '' }])}>
              Add a new branch
            </button>
          </fieldset>
          <fieldset>
            <legend>Parameters</legend>
            <div class="grid">
              {Object.entries(paramSchema)
                .filter(([k, s]) => !OWN.has(k) && SIMPLE.has(s.type ?? ''))
                .map(([k, s]) => input('params', k, s, params, setParams))}
            </div>
          </fieldset>
          <fieldset>
            <legend>Training</legend>
            <div class="grid">
              {Object.entries(trainingSchema)
                .filter(([, s]) => SIMPLE.has(s.type ?? '') || s.enum)
                .map(([k, s]) => input('training', k, s, training, setTraining))}
            </div>
          </fieldset>
          <ErrorBox error={error} />
          <button type="submit" class="primary" disabled={busy}>
            {busy ? 'Submitting…' : 'Submit job'}
          </button>
        </form>
        <aside aria-labelledby="json-h">
          <h2 id="json-h">Workflow JSON</h2>
          <p class="muted">The same document works with curl (POST /submit) and the CLI.</p>
          <button
            type="button"
            onClick={() => navigator.clipboard?.writeText(JSON.stringify(workflow, null, 2))}
          >
            Copy JSON
          </button>
          {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be reachable by keyboard (axe: scrollable-region-focusable) */}
          <pre class="json" tabIndex={0} data-testid="workflow-json">
            {JSON.stringify(workflow, null, 2)}
          </pre>
        </aside>
      </div>
    </Page>
  );
}
