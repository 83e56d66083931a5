import { describe, expect, it } from 'vitest';
import type { Offer } from '../core/api.js';
import type { AgentConnection, Backend } from './backend.js';
import { CompositeBackend, type CreatesInstances } from './composite.js';

/** A member backend of our own interface: its instances, offers (or a failure), and the agents asked for. */
class FakeBackend implements Backend {
  readonly asked: string[] = [];
  constructor(
    readonly kind: string,
    private names: string[],
    private readonly failOffers = false,
  ) {}
  instances(): string[] {
    return this.names;
  }
  set(names: string[]): void {
    this.names = names;
  }
  async offers(): Promise<Offer[]> {
    if (this.failOffers) throw new Error(`${this.kind} agent cannot start`);
    return this.names.map((instance) => ({ backend: this.kind, instance }) as unknown as Offer);
  }
  async ensureAgent(instance: string): Promise<AgentConnection> {
    this.asked.push(instance);
    return { instance } as AgentConnection;
  }
  async close(): Promise<void> {}
}

/** A cloud member: its offers are catalog offers (here one per kind), whether it has instances or not. */
class FakeCloud extends FakeBackend implements CreatesInstances {
  readonly createsInstances = true;
  override async offers(): Promise<Offer[]> {
    return [{ backend: this.kind, instanceType: 'catalog' } as unknown as Offer];
  }
}

const ANY = { cpu: { min: 1 } } as never;

describe('CompositeBackend', () => {
  it('routes an instance to the member its record names, else to the member listing it', async () => {
    const local = new FakeBackend('local', ['local']);
    const ssh = new FakeBackend('ssh', ['gpus-0', 'shared']);
    const aws = new FakeBackend('aws', ['shared', 'aws-0']);
    const records: Record<string, string> = { shared: 'aws' };
    const backend = new CompositeBackend([local, ssh, aws], (i) => records[i]);
    await backend.ensureAgent('local');
    await backend.ensureAgent('gpus-0');
    await backend.ensureAgent('shared');
    expect([local.asked, ssh.asked, aws.asked]).toEqual([['local'], ['gpus-0'], ['shared']]);
    expect(() => backend.ensureAgent('nope')).toThrow(expect.objectContaining({ code: 'UNKNOWN_INSTANCE' }));
  });

  it('places runs on fleets while any non-local member has instances, unless the run says backends: [local]', () => {
    const ssh = new FakeBackend('ssh', []);
    const backend = new CompositeBackend([new FakeBackend('local', ['local']), ssh]);
    expect(backend.usesFleets(undefined)).toBe(false);
    ssh.set(['gpus-0']);
    expect([backend.usesFleets(undefined), backend.usesFleets([]), backend.usesFleets(['local']), backend.usesFleets(['local', 'ssh'])]).toEqual([
      true,
      true,
      false,
      true,
    ]);
  });

  it('lists fleet offers first and keeps them when the local agent cannot start', async () => {
    const backend = new CompositeBackend([new FakeBackend('local', ['local'], true), new FakeBackend('ssh', ['gpus-0']), new FakeBackend('aws', ['aws-0'])]);
    expect((await backend.offers(ANY)).map((o) => o.backend)).toEqual(['ssh', 'aws']);
  });

  it('without fleets answers with the local offers, and their failure', async () => {
    expect((await new CompositeBackend([new FakeBackend('local', ['local']), new FakeBackend('ssh', [])]).offers(ANY)).map((o) => o.backend)).toEqual(['local']);
    await expect(new CompositeBackend([new FakeBackend('local', ['local'], true)]).offers(ANY)).rejects.toThrow('local agent cannot start');
  });

  it('lists the catalog offers of cloud members without instances, before the local ones, and survives a local failure', async () => {
    const backend = new CompositeBackend([new FakeBackend('local', ['local'], true), new FakeBackend('ssh', []), new FakeCloud('aws', []), new FakeCloud('gcp', [])]);
    expect((await backend.offers(ANY)).map((o) => `${o.backend}/${o.instanceType}`)).toEqual(['aws/catalog', 'gcp/catalog']);
    expect(backend.usesFleets(undefined)).toBe(false);
  });

  it('routes two cloud kinds by the record, asks each cloud once for offers, and uses fleets once either has an instance', async () => {
    const aws = new FakeCloud('aws', []);
    const gcp = new FakeCloud('gcp', []);
    const records: Record<string, string> = { 'gpu-0': 'aws', 'gpu-1': 'gcp' };
    const backend = new CompositeBackend([new FakeBackend('local', ['local']), aws, gcp], (i) => records[i]);
    gcp.set(['gpu-1']);
    expect(backend.usesFleets(undefined)).toBe(true);
    expect(backend.usesFleets(['local'])).toBe(false);
    aws.set(['gpu-0', 'gpu-1']);
    await backend.ensureAgent('gpu-0');
    await backend.ensureAgent('gpu-1');
    expect([aws.asked, gcp.asked]).toEqual([['gpu-0'], ['gpu-1']]);
    expect((await backend.offers(ANY)).map((o) => o.backend)).toEqual(['aws', 'gcp', 'local']);
  });
});
