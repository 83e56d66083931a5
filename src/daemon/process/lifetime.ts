/**
 * What the daemon started, stopped in reverse order exactly once (STYLE.md: every effect returns its cleanup). A
 * cleanup that fails is logged and the others still run, so a closing daemon never leaves its lock or listener.
 */
export class Lifetime {
  private readonly cleanups: (() => unknown)[] = [];
  private closing: Promise<void> | undefined;

  constructor(private readonly log: (line: string) => void) {}

  add(cleanup: () => unknown): void {
    this.cleanups.push(cleanup);
  }

  close(): Promise<void> {
    return (this.closing ??= (async () => {
      for (const cleanup of this.cleanups.splice(0).reverse()) {
        await Promise.resolve()
          .then(cleanup)
          .catch((e: unknown) => this.log(`close: ${e instanceof Error ? e.message : String(e)}`));
      }
    })());
  }
}
