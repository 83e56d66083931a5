/**
 * Two byte streams joined both ways (an attach tunnel: local socket ↔ daemon, daemon ↔ replica port). An end is
 * passed on as an end (TCP half-close), so a client that finishes its request and waits still gets the answer; a
 * side that goes away without ending (reset, error, destroy) takes the other down at once, so nothing is left open.
 */
import type { Duplex } from 'node:stream';

export function splice(a: Duplex, b: Duplex): void {
  const kill = () => {
    a.destroy();
    b.destroy();
  };
  a.on('error', kill);
  b.on('error', kill);
  a.pipe(b);
  b.pipe(a);
  a.once('close', () => release(a, b));
  b.once('close', () => release(b, a));
}

function release(closed: Duplex, other: Duplex): void {
  if (other.destroyed) return;
  if (!closed.readableEnded) return void other.destroy();
  // `closed` ended cleanly: what it sent may still be draining into `other`; nothing can flow back any more.
  if (other.writableFinished) other.destroy();
  else other.once('finish', () => other.destroy());
}
