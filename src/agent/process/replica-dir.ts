import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** What a process replica records on disk so that a restarted agent can adopt it (pid + start time). */
export interface ProcessRecord {
  id: string;
  runName: string;
  replicaNum: number;
  project: string;
  port: number;
  pid: number;
  startTime: string;
  createdAt: number;
  startedAt: number;
  note?: string;
}

/** Layout of `<home>/replicas/<id>/`: the record, the combined stdout/stderr log, the exit code written by the wrapper. */
export class ReplicaDirs {
  constructor(private readonly home: string) {}

  root(): string {
    return path.join(this.home, 'replicas');
  }
  dir(id: string): string {
    return path.join(this.root(), id);
  }
  log(id: string): string {
    return path.join(this.dir(id), 'output.log');
  }
  exitCodeFile(id: string): string {
    return path.join(this.dir(id), 'exit-code');
  }
  work(id: string): string {
    return path.join(this.dir(id), 'work');
  }

  async create(id: string): Promise<void> {
    await mkdir(this.work(id), { recursive: true, mode: 0o700 });
  }

  async writeRecord(record: ProcessRecord): Promise<void> {
    const file = path.join(this.dir(record.id), 'replica.json');
    await writeFile(`${file}.tmp`, JSON.stringify(record), { mode: 0o600 });
    await rename(`${file}.tmp`, file);
  }

  async records(): Promise<ProcessRecord[]> {
    const ids = await readdir(this.root()).catch(() => [] as string[]);
    const out: ProcessRecord[] = [];
    for (const id of ids) {
      const text = await readFile(path.join(this.dir(id), 'replica.json'), 'utf8').catch(() => undefined);
      if (text === undefined) {
        // A directory without a record is a start that died before spawning: nothing runs, so drop it.
        await rm(this.dir(id), { recursive: true, force: true });
        continue;
      }
      try {
        out.push(JSON.parse(text) as ProcessRecord);
      } catch {
        // A torn record cannot be adopted; leave it for inspection.
      }
    }
    return out;
  }

  async exitCode(id: string): Promise<number | undefined> {
    const text = await readFile(this.exitCodeFile(id), 'utf8').catch(() => undefined);
    const code = text === undefined ? NaN : Number(text.trim());
    return Number.isInteger(code) ? code : undefined;
  }

  async remove(id: string): Promise<void> {
    await rm(this.dir(id), { recursive: true, force: true });
  }
}
