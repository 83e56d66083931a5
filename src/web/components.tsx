/** Small pieces every page uses: a status badge, an error line, and the stop and restart actions with their confirmation. */
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

interface Action {
  /** The button's word, the dialog's title verb and its confirm button. */
  verb: string;
  busyText: string;
  confirmText: string;
  danger: boolean;
  path: string;
  body: unknown;
  explain: string;
}

/**
 * A run action with confirmation: a modal <dialog> (focus stays inside it, Escape cancels, Cancel has the focus first
 * so Enter alone never acts on a run).
 */
function ConfirmedAction({ api, run, action, onDone }: { api: Api; run: string; action: Action; onDone?: (() => void) | undefined }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const id = `${action.verb.toLowerCase()}-${run}-title`;
  const act = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await api.post(action.path, action.body);
      dialog.current?.close();
      onDone?.();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };
  const style = action.danger ? 'danger' : undefined;
  return (
    <>
      <button type="button" class={style} onClick={() => (setError(undefined), dialog.current?.showModal())} aria-label={`${action.verb} ${run}`}>
        {action.verb}
      </button>
      <dialog ref={dialog} aria-labelledby={id}>
        <h2 id={id}>
          {action.verb} {run}?
        </h2>
        <p>{action.explain}</p>
        <ErrorNote error={error} />
        <div class="actions">
          <button type="button" autofocus onClick={() => dialog.current?.close()}>
            Cancel
          </button>
          <button type="button" class={style} disabled={busy} onClick={() => void act()}>
            {busy ? action.busyText : action.confirmText}
          </button>
        </div>
      </dialog>
    </>
  );
}

export function StopButton({ api, run }: { api: Api; run: string }) {
  const action: Action = {
    verb: 'Stop',
    busyText: 'Stopping…',
    confirmText: 'Stop run',
    danger: true,
    path: runPath(run, '/stop'),
    body: { abort: false },
    explain: 'Its replicas are terminated and the service stops answering. Apply the configuration again to start it anew.',
  };
  return <ConfirmedAction api={api} run={run} action={action} />;
}

/**
 * Restart (POST /api/runs/<name>/restart): an active run's replicas are replaced one at a time, each new one ready
 * before an old one stops; a finished run is submitted again from the configuration it was applied with.
 */
export function RestartButton({ api, run, active, onDone }: { api: Api; run: string; active: boolean; onDone?: () => void }) {
  const action: Action = {
    verb: 'Restart',
    busyText: 'Restarting…',
    confirmText: 'Restart run',
    danger: false,
    path: runPath(run, '/restart'),
    body: {},
    explain: active
      ? 'Every replica is replaced by a fresh one, one at a time: each new replica is ready before an old one stops, so the service keeps answering.'
      : 'The run is submitted again with the configuration it was last applied with, as dstack apply of the same file would.',
  };
  return <ConfirmedAction api={api} run={run} action={action} onDone={onDone} />;
}
