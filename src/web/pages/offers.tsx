/** Offers: what `dstack offer` lists (GET /api/offers), filtered by GPU, backend and spot, cheapest first. */
import { useEffect, useState } from 'preact/hooks';
import type { OffersResponse } from '../../core/api.js';
import { formatBackend, formatPrice, formatResources } from '../../ui/offers-table.js';
import type { Api } from '../api.js';
import { ErrorNote } from '../components.js';
import { offersQuery, type OfferFilters as Filters } from '../paths.js';

export function OffersPage({ api }: { api: Api }) {
  const [filters, setFilters] = useState<Filters>({ gpu: '', backend: '', spot: '' });
  const [result, setResult] = useState<OffersResponse>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const search = async (f: Filters) => {
    setBusy(true);
    setError(undefined);
    try {
      setResult(await api.get<OffersResponse>(offersQuery(f)));
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };
  const field = (key: keyof Filters) => (e: Event) => setFilters({ ...filters, [key]: (e.currentTarget as HTMLInputElement).value });
  useEffect(() => void search(filters), []);
  return (
    <section aria-labelledby="offers-title">
      <header class="page-head">
        <h1 id="offers-title">Offers</h1>
      </header>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          void search(filters);
        }}
      >
        <label>
          GPU <input name="gpu" value={filters.gpu} placeholder="A100:80GB:2" onInput={field('gpu')} />
        </label>
        <label>
          Backend <input name="backend" value={filters.backend} placeholder="aws" onInput={field('backend')} />
        </label>
        <label>
          Spot{' '}
          <select name="spot" value={filters.spot} onChange={field('spot')}>
            <option value="">any</option>
            <option value="spot">spot</option>
            <option value="on-demand">on-demand</option>
          </select>
        </label>
        <button type="submit" disabled={busy}>
          {busy ? 'Searching…' : 'Search'}
        </button>
      </form>
      <ErrorNote error={error} />
      {result?.notes.map((n) => (
        <p class="note" key={n}>
          {n}
        </p>
      ))}
      {result ? (
        <>
          <p class="muted">
            Showing {result.offers.length} of {result.total ?? result.offers.length} offers
            {result.catalogs.length > 0 ? `; prices of ${result.catalogs.map((c) => `${c.provider} ${c.date}`).join(', ')}` : ''}
          </p>
          <table>
            <thead>
              <tr>
                {['#', 'Backend', 'Resources', 'Instance type', 'Price/h', 'Availability'].map((h) => (
                  <th scope="col" key={h}>
                    {h}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {result.offers.map((o, i) => (
                <tr key={`${o.backend}/${o.region}/${o.instanceType}/${o.spot}/${o.instance ?? ''}/${i}`}>
                  <td>{i + 1}</td>
                  <td>{formatBackend(o.backend, o.region, o.runtime)}</td>
                  <td>{formatResources(o.resources, o.spot)}</td>
                  <td>{o.instance ?? o.instanceType}</td>
                  <td class="num">{formatPrice(o.price)}</td>
                  <td>{o.availability}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : null}
    </section>
  );
}
