/**
 * A replica's logs, streaming (`GET /api/runs/<name>/logs?follow=1`). A stream that ends while the run is still
 * active (the replica was not running yet, or a replacement took its number) is opened again from the start, so
 * the panel always shows one replica's whole output, never a splice of two.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Api } from '../api.js';
import { ErrorNote } from '../components.js';
import { logsPath } from '../paths.js';

const KEEP_CHARS = 256 * 1024;
const RETRY_MS = 2000;

export function LogsPanel({ api, run, replicas, active }: { api: Api; run: string; replicas: number[]; active: boolean }) {
  const [replica, setReplica] = useState(replicas[0] ?? 0);
  const [text, setText] = useState('');
  const [error, setError] = useState<string>();
  const [follow, setFollow] = useState(true);
  const pre = useRef<HTMLPreElement>(null);
  const stillActive = useRef(active);
  stillActive.current = active;

  useEffect(() => {
    const abort = new AbortController();
    void (async () => {
      while (!abort.signal.aborted) {
        let got = '';
        try {
          for await (const chunk of api.text(logsPath(run, replica), abort.signal)) {
            got = (got + chunk).slice(-KEEP_CHARS);
            setText(got);
            setError(undefined);
          }
        } catch (e) {
          if (abort.signal.aborted) return;
          setError(e instanceof Error ? e.message : String(e));
        }
        if (!stillActive.current) return;
        await new Promise((r) => setTimeout(r, RETRY_MS));
      }
    })();
    return () => abort.abort();
  }, [api, run, replica]);

  useEffect(() => {
    if (follow && pre.current) pre.current.scrollTop = pre.current.scrollHeight;
  }, [text, follow]);

  return (
    <section aria-labelledby="logs-title" class="panel">
      <header class="page-head">
        <h2 id="logs-title">Logs</h2>
        <label>
          Replica{' '}
          <select value={replica} onChange={(e) => setReplica(Number(e.currentTarget.value))}>
            {(replicas.length > 0 ? replicas : [replica]).map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </label>
        <label class="toggle">
          <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.currentTarget.checked)} /> Follow
        </label>
      </header>
      <ErrorNote error={error} />
      <pre ref={pre} class="logs" role="log" aria-label={`Logs of replica ${replica}`} tabIndex={0}>
        {text || 'Waiting for output…'}
      </pre>
    </section>
  );
}
