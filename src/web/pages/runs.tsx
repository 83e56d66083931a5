/** Runs: every run with its status, ready/desired replicas, request rate, URL and model; refreshed every second. */
import { useState } from 'preact/hooks';
import type { RunView } from '../../core/api.js';
import type { Api } from '../api.js';
import { ErrorNote, RestartButton, Status, StopButton } from '../components.js';
import { formatReplicas, formatRps, formatTime, isRunActive } from '../format.js';
import { usePoll } from '../hooks.js';
import { hrefOf, withProject } from '../router.js';

export function RunsPage({ api, project }: { api: Api; project?: string | undefined }) {
  const [all, setAll] = useState(false);
  const runs = usePoll((signal) => api.get<{ runs: RunView[] }>(`/api/runs${all ? '?all=1' : ''}`, signal), 1000, String(all));
  const list = runs.data?.runs ?? [];
  return (
    <section aria-labelledby="runs-title">
      <header class="page-head">
        <h1 id="runs-title">Runs</h1>
        <label class="toggle">
          <input type="checkbox" checked={all} onChange={(e) => setAll(e.currentTarget.checked)} /> Show finished
        </label>
      </header>
      <ErrorNote error={runs.error} />
      {runs.data && list.length === 0 ? (
        <p class="empty">
          No runs yet. Start one with <code>dstack apply -f service.dstack.yml</code>.
        </p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Status</th>
              <th scope="col">Replicas</th>
              <th scope="col" class="num">RPS</th>
              <th scope="col">URL</th>
              <th scope="col">Model</th>
              <th scope="col">Submitted</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.map((run) => (
              <tr key={run.name} data-run={run.name}>
                <td>
                  <a href={hrefOf(withProject({ page: 'run', name: run.name }, project))}>{run.name}</a>
                </td>
                <td>
                  <Status status={run.status} />
                </td>
                <td class="replicas" title="ready / desired">
                  {formatReplicas(run)}
                </td>
                <td class="num">{formatRps(run.rps)}</td>
                <td>
                  <a href={run.url} class="url">
                    {run.url}
                  </a>
                </td>
                <td>{run.model?.name ?? '-'}</td>
                <td>{formatTime(run.submittedAt)}</td>
                <td>
                  <div class="row-actions">
                    {run.status === 'terminating' ? null : <RestartButton api={api} run={run.name} active={isRunActive(run)} />}
                    {isRunActive(run) ? <StopButton api={api} run={run.name} /> : null}
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
