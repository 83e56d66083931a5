/** Fleets: each fleet's instances with their resources and GPUs, and which run's replicas are placed where. */
import type { FleetView, InstanceView, RunView } from '../../core/api.js';
import { formatBackend, formatGpus, formatPrice, formatResources } from '../../ui/offers-table.js';
import { ApiError, type Api } from '../api.js';
import { ErrorNote, Status } from '../components.js';
import { formatTime } from '../format.js';
import { placements, type Placement } from '../placements.js';
import { usePoll } from '../hooks.js';
import { hrefOf, withProject } from '../router.js';

function Placed({ items, project }: { items: Placement[] | undefined; project: string | undefined }) {
  if (!items || items.length === 0) return <>-</>;
  return (
    <>
      {items.map((p, i) => (
        <span key={`${p.run}/${p.replica}`}>
          {i > 0 ? ', ' : ''}
          <a href={hrefOf(withProject({ page: 'run', name: p.run }, project))}>
            {p.run}/{p.replica}
          </a>
        </span>
      ))}
    </>
  );
}

function InstanceRow({ i, placed, project }: { i: InstanceView; placed: Map<string, Placement[]>; project: string | undefined }) {
  return (
    <tr data-instance={i.name}>
      <td>{i.name}</td>
      <td>{i.host}</td>
      <td>{i.cloud ? `${formatBackend(i.backend, i.cloud.region)} ${i.cloud.instanceType}${i.cloud.spot ? ' (spot)' : ''}` : formatBackend(i.backend, undefined)}</td>
      <td>
        <Status status={i.unreachable ? 'unreachable' : i.status} /> {i.progress ?? i.error ?? ''}
      </td>
      <td>{i.resources ? formatResources(i.resources) : '-'}</td>
      <td>{formatGpus(i.resources)}</td>
      <td>{i.blocks ? `${i.busyBlocks ?? 0}/${i.blocks}` : '-'}</td>
      <td>{i.cloud ? formatPrice(i.cloud.price) : '-'}</td>
      <td>
        <Placed items={placed.get(i.name)} project={project} />
      </td>
    </tr>
  );
}

export function FleetsPage({ api, project }: { api: Api; project?: string | undefined }) {
  const live = usePoll(
    async (signal) => {
      const [fleets, runs] = await Promise.all([
        // A daemon without fleet support answers 501: the page then shows this machine only.
        api.get<{ fleets: FleetView[] }>('/api/fleets', signal).then(
          (r) => r.fleets,
          (e: unknown) => {
            if (e instanceof ApiError && e.status === 501) return [];
            throw e;
          },
        ),
        api.get<{ runs: RunView[] }>('/api/runs', signal),
      ]);
      return { fleets, runs: runs.runs };
    },
    2000,
    'fleets',
  );
  const fleets = live.data?.fleets ?? [];
  const placed = placements(live.data?.runs ?? []);
  const local = placed.get('local');
  return (
    <section aria-labelledby="fleets-title">
      <header class="page-head">
        <h1 id="fleets-title">Fleets</h1>
      </header>
      <ErrorNote error={live.error} />
      {live.data && fleets.length === 0 ? (
        <p class="empty">
          No fleets. Runs without a fleet use this machine; add hosts with <code>dstack fleet apply -f fleet.dstack.yml</code>.
        </p>
      ) : null}
      {fleets.map((f) => (
        <section key={f.name} class="panel" aria-label={`Fleet ${f.name}`}>
          <header class="page-head">
            <h2>{f.name}</h2>
            <Status status={f.status} />
            <span class="muted">created {formatTime(f.createdAt)}</span>
          </header>
          <table>
            <thead>
              <tr>
                {['Instance', 'Host', 'Backend', 'Status', 'Resources', 'GPU', 'Blocks busy', 'Price/h', 'Running here'].map((h) => (
                  <th scope="col" key={h}>
                    {h}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {f.instances.map((i) => (
                <InstanceRow key={i.name} i={i} placed={placed} project={project} />
              ))}
            </tbody>
          </table>
        </section>
      ))}
      {local ? (
        <section class="panel" aria-label="This machine">
          <h2>This machine (local backend)</h2>
          <p>
            <Placed items={local} project={project} />
          </p>
        </section>
      ) : null}
    </section>
  );
}
