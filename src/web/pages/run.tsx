/**
 * Run: its plots over the last hour, replicas (status, ready, probes, placement), the events seen since the page
 * opened, and live logs.
 */
import { useState } from 'preact/hooks';
import type { RunView } from '../../core/api.js';
import { isRunFinished } from '../../core/reconcile/run-status.js';
import type { Api } from '../api.js';
import { ErrorNote, RestartButton, Status, StopButton } from '../components.js';
import { currentReplicas, formatClock, formatProbes, formatReplicas, formatRps, formatTime, isRunActive, replicaStatus } from '../format.js';
import { useViews } from '../hooks.js';
import { changedEvents, initialEvents, type RunEvent } from '../run-events.js';
import { LogsPanel } from './logs.js';
import { PlotsPanel } from './plots.js';
import { runPath } from '../paths.js';
import { formatResources } from '../../ui/offers-table.js';

const MAX_EVENTS = 300;

export function RunPage({ api, name }: { api: Api; name: string }) {
  const [events, setEvents] = useState<RunEvent[]>([]);
  const [generation, setGeneration] = useState(0);
  const live = useViews<RunView>(
    api,
    runPath(name, '/events'),
    (view, prev) => setEvents((old) => [...old, ...(prev ? changedEvents(prev, view, Date.now()) : old.length === 0 ? initialEvents(view) : [])].slice(-MAX_EVENTS)),
    isRunFinished,
    generation,
  );
  const run = live.data;
  if (!run) {
    return (
      <section>
        <h1>{name}</h1>
        <ErrorNote error={live.error} />
        {!live.error && <p class="empty">Loading…</p>}
      </section>
    );
  }
  const replicas = currentReplicas(run);
  return (
    <section aria-labelledby="run-title">
      <header class="page-head">
        <h1 id="run-title">{run.name}</h1>
        <Status status={run.status} />
        {run.status === 'terminating' ? null : (
          <RestartButton api={api} run={run.name} active={isRunActive(run)} onDone={() => isRunFinished(run) && setGeneration((g) => g + 1)} />
        )}
        {isRunActive(run) ? <StopButton api={api} run={run.name} /> : null}
      </header>
      <ErrorNote error={run.error ?? live.error} />
      <dl class="facts">
        <dt>Replicas ready</dt>
        <dd class="replicas">{formatReplicas(run)}</dd>
        <dt>RPS</dt>
        <dd>{formatRps(run.rps)}</dd>
        <dt>URL</dt>
        <dd>
          <a href={run.url}>{run.url}</a>
        </dd>
        <dt>Model</dt>
        <dd>{run.model ? `${run.model.name} (${run.model.format}) at ${run.model.url}` : '-'}</dd>
        <dt>Submitted</dt>
        <dd>{formatTime(run.submittedAt)}</dd>
        {run.statusMessage && run.statusMessage !== run.status ? (
          <>
            <dt>Message</dt>
            <dd>{run.statusMessage}</dd>
          </>
        ) : null}
      </dl>
      <PlotsPanel api={api} run={run.name} active={isRunActive(run)} />
      <h2>Replicas</h2>
      <table>
        <thead>
          <tr>
            <th scope="col">#</th>
            <th scope="col">Status</th>
            <th scope="col">Ready</th>
            <th scope="col">Probes</th>
            <th scope="col">Instance</th>
            <th scope="col">Resources</th>
            <th scope="col">Submitted</th>
            <th scope="col">Message</th>
          </tr>
        </thead>
        <tbody>
          {replicas.map((r) => (
            <tr key={`${r.num}/${r.submission}`} data-replica={r.num}>
              <td>{r.group ? `${r.group}/${r.num}` : r.num}</td>
              <td>
                <Status status={replicaStatus(r)} />
              </td>
              <td class="ready">{r.ready ? 'yes' : 'no'}</td>
              <td>{formatProbes(r)}</td>
              <td>{[...new Set([r.backend, r.cloud ? `${r.cloud.instanceType} (${r.cloud.region})` : r.instance])].filter(Boolean).join(' · ') || '-'}</td>
              <td>{r.resources ? formatResources(r.resources) : '-'}</td>
              <td>{formatTime(r.submittedAt)}</td>
              <td>{r.error ?? r.statusMessage ?? r.unhealthy?.reason ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <section aria-labelledby="events-title" class="panel">
        <h2 id="events-title">Events</h2>
        <ol class="events">
          {[...events].reverse().map((e, i) => (
            <li key={`${events.length - i}`}>
              <time dateTime={new Date(e.at).toISOString()}>{formatClock(e.at)}</time> <span class={`tone-${e.tone}`}>{e.text}</span>
            </li>
          ))}
        </ol>
      </section>
      <LogsPanel api={api} run={run.name} replicas={replicas.map((r) => r.num)} active={isRunActive(run)} />
    </section>
  );
}
