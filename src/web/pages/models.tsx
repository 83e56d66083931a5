/**
 * Models: every model the model endpoint publishes (its own `GET …/v1/models`, per project that has model runs;
 * `main` when none does yet), with the run behind it, its endpoint URL and copyable `openai` snippets, and the
 * playground for the one chosen (`#/models/<model>`, so a playground is a bookmark).
 */
import { useState } from 'preact/hooks';
import type { RunView } from '../../core/api.js';
import type { Api } from '../api.js';
import { modelsPath, describeFailure } from '../chat.js';
import { ErrorNote, Status } from '../components.js';
import { usePoll } from '../hooks.js';
import { hrefOf, withProject } from '../router.js';
import { openaiSnippets } from '../snippets.js';
import { Playground } from './playground.js';

export interface PublishedModel {
  id: string;
  project: string;
  endpoint: string;
  run?: RunView;
}

const DEFAULT_PROJECT = 'main';

/** `project`: the picked one (only its models); none = the default project's runs, and `main`. */
async function loadModels(api: Api, signal: AbortSignal, project: string | undefined): Promise<PublishedModel[]> {
  const { runs } = await api.get<{ runs: RunView[] }>('/api/runs', signal);
  const withModel = runs.filter((r) => r.model);
  const projects = project !== undefined ? [project] : [...new Set([DEFAULT_PROJECT, ...withModel.map((r) => r.project)])];
  const lists = await Promise.all(
    projects.map(async (project) => {
      const res = await api.raw(modelsPath(project), { signal });
      if (!res.ok) throw new Error(describeFailure(res.status, await res.text()));
      return { project, ids: ((await res.json()) as { data: { id: string }[] }).data.map((m) => m.id) };
    }),
  );
  return lists.flatMap(({ project, ids }) =>
    ids.map((id) => {
      const run = withModel.find((r) => r.project === project && r.model?.name === id);
      const endpoint = run?.model?.url ?? `${location.origin}/proxy/models/${encodeURIComponent(project)}/v1/`;
      return { id, project, endpoint, ...(run ? { run } : {}) };
    }),
  );
}

function CopyButton({ text, what }: { text: string; what: string }) {
  const [done, setDone] = useState<string>();
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setDone('Copied');
    } catch {
      setDone('Copy failed: select the text instead');
    }
    setTimeout(() => setDone(undefined), 2000);
  };
  return (
    <span class="copy">
      <button type="button" onClick={() => void copy()} aria-label={`Copy ${what}`}>
        Copy
      </button>
      <span role="status" class="muted">
        {done ?? ''}
      </span>
    </span>
  );
}

export function ModelsPage({ api, model, project }: { api: Api; model?: string | undefined; project?: string | undefined }) {
  const live = usePoll((signal) => loadModels(api, signal, project), 5000, `models/${project ?? ''}`);
  const models = live.data ?? [];
  const chosen = models.find((m) => m.id === model) ?? (model === undefined ? models[0] : undefined);
  return (
    <section aria-labelledby="models-title">
      <header class="page-head">
        <h1 id="models-title">Models</h1>
      </header>
      <ErrorNote error={live.error} />
      {live.data && models.length === 0 ? (
        <p class="empty">
          No model is published yet. A service with <code>model: &lt;name&gt;</code> in its configuration publishes one once a replica is ready.
        </p>
      ) : null}
      {models.length > 0 ? (
        <table>
          <thead>
            <tr>
              <th scope="col">Model</th>
              <th scope="col">Project</th>
              <th scope="col">Run</th>
              <th scope="col">Endpoint</th>
            </tr>
          </thead>
          <tbody>
            {models.map((m) => (
              <tr key={`${m.project}/${m.id}`} data-model={m.id} aria-current={m === chosen ? 'true' : undefined}>
                <td>
                  <a href={hrefOf(withProject({ page: 'models', model: m.id }, project))}>{m.id}</a>
                </td>
                <td>{m.project}</td>
                <td>
                  {m.run ? (
                    <>
                      <a href={hrefOf(withProject({ page: 'run', name: m.run.name }, project))}>{m.run.name}</a> <Status status={m.run.status} />
                    </>
                  ) : (
                    '-'
                  )}
                </td>
                <td>
                  <code class="url">{m.endpoint}</code> <CopyButton text={m.endpoint} what={`the endpoint of ${m.id}`} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {model !== undefined && live.data && !chosen ? <p class="error">No published model is called {model}.</p> : null}
      {chosen ? (
        <div class="model-detail">
          <section aria-labelledby="snippets-title" class="panel">
            <h2 id="snippets-title">Use {chosen.id} from code</h2>
            <p class="muted">
              The API key is a dstack token of a member of project {chosen.project} (<code>DSTACK_TOKEN</code> here).
            </p>
            {openaiSnippets(chosen.endpoint, chosen.id).map((s) => (
              <div class="snippet" key={s.language}>
                <div class="snippet-head">
                  <span>{s.language}</span> <CopyButton text={s.code} what={`the ${s.language} snippet`} />
                </div>
                <pre>
                  <code>{s.code}</code>
                </pre>
              </div>
            ))}
          </section>
          <Playground key={`${chosen.project}/${chosen.id}`} api={api} project={chosen.project} model={chosen.id} />
        </div>
      ) : null}
    </section>
  );
}
