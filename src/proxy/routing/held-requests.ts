/**
 * Requests held per service (`project/run`) while it scales up from zero. One counter for every entry point (the
 * service proxy, WebSockets, the model endpoint), so the bound on held requests and the "first held request"
 * that wakes the autoscaler are per service, whichever way requests come in.
 */
export class HeldRequests {
  private readonly counts = new Map<string, number>();

  /** Counts one more held request; undefined (nothing counted) when `max` are held already, else how many were. */
  enter(service: string, max: number): number | undefined {
    const held = this.counts.get(service) ?? 0;
    if (held >= max) return undefined;
    this.counts.set(service, held + 1);
    return held;
  }

  leave(service: string): void {
    const left = (this.counts.get(service) ?? 1) - 1;
    if (left > 0) this.counts.set(service, left);
    else this.counts.delete(service);
  }

  count(service: string): number {
    return this.counts.get(service) ?? 0;
  }
}
