/**
 * Change notifications inside the daemon: every state change of a run notifies its subscribers (the SSE of
 * `GET /api/runs/:name/events`, the route sync). Subscriptions return their cleanup.
 */
export type RunListener = (runId: string) => void;

export class RunEvents {
  private readonly listeners = new Set<RunListener>();

  subscribe(listener: RunListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  notify(runId: string): void {
    for (const l of [...this.listeners]) {
      try {
        l(runId);
      } catch {
        // A failing subscriber (a closed SSE response) must not stop the others.
      }
    }
  }
}
