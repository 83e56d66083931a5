/** Small pieces every page uses: a status badge, an error line, and the stop action with its confirmation. */
import { useRef, useState } from 'preact/hooks';
import type { Api } from './api.js';
import { toneOf } from './format.js';
import { runPath } from './paths.js';

export function Status({ status }: { status: string }) {
  return <span class={`badge tone-${toneOf(status)}`}>{status}</span>;
}

export function ErrorNote({ error }: { error?: string | undefined }) {
  if (!error) return null;
  return (
    <p class="error" role="alert">
      {error}
    </p>
  );
}

/**
 * Stop with confirmation: a modal <dialog> (focus stays inside it, Escape cancels, Cancel has the focus first so
 * Enter alone never stops a run).
 */
export function StopButton({ api, run }: { api: Api; run: string }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const stop = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await api.post(runPath(run, '/stop'), { abort: false });
      dialog.current?.close();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <button type="button" class="danger" onClick={() => dialog.current?.showModal()} aria-label={`Stop ${run}`}>
        Stop
      </button>
      <dialog ref={dialog} aria-labelledby={`stop-${run}-title`}>
        <h2 id={`stop-${run}-title`}>Stop {run}?</h2>
        <p>Its replicas are terminated and the service stops answering. Apply the configuration again to start it anew.</p>
        <ErrorNote error={error} />
        <div class="actions">
          <button type="button" autofocus onClick={() => dialog.current?.close()}>
            Cancel
          </button>
          <button type="button" class="danger" disabled={busy} onClick={() => void stop()}>
            {busy ? 'Stopping…' : 'Stop run'}
          </button>
        </div>
      </dialog>
    </>
  );
}
