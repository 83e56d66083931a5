/**
 * Colour decisions and status tones, shared by the plain renderers (ANSI codes) and Ink (colour names).
 * No Ink import here: `--json` and non-TTY paths use this module without paying for React.
 * Status colours follow dstack's CLI (reference/dstack-notes.md §6.2).
 */
export type Tone = 'grey' | 'blue' | 'green' | 'red' | 'gold' | 'yellow' | 'cyan' | 'white';

export interface ColorEnv {
  env?: NodeJS.ProcessEnv;
  /** Whether the stream the text goes to is a terminal. */
  isTTY?: boolean;
}

/** NO_COLOR (any non-empty value) wins, then FORCE_COLOR (`0`/`false` disable), then "is it a terminal". */
export function colorEnabled({ env = process.env, isTTY = false }: ColorEnv = {}): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  const force = env.FORCE_COLOR;
  if (force !== undefined) return force !== '0' && force.toLowerCase() !== 'false';
  return isTTY && env.TERM !== 'dumb';
}

/** Ink `<Text color>` values for each tone. */
export const INK_COLORS: Readonly<Record<Tone, string>> = {
  grey: 'gray',
  blue: 'blue',
  green: 'green',
  red: 'red',
  gold: '#ffd700',
  yellow: 'yellow',
  cyan: 'cyan',
  white: 'white',
};

const ANSI_OPEN: Readonly<Record<Tone, string>> = {
  grey: '\x1b[90m',
  blue: '\x1b[34m',
  green: '\x1b[32m',
  red: '\x1b[31m',
  gold: '\x1b[38;5;220m',
  yellow: '\x1b[33m',
  cyan: '\x1b[36m',
  white: '\x1b[37m',
};

const STATUS_TONES: Readonly<Record<string, Tone>> = {
  pending: 'white',
  submitted: 'grey',
  provisioning: 'blue',
  terminating: 'blue',
  pulling: 'green',
  running: 'green',
  idle: 'green',
  busy: 'blue',
  failed: 'red',
  error: 'red',
  aborted: 'red',
  'no capacity': 'gold',
  'no fleets': 'gold',
  interrupted: 'gold',
  unreachable: 'gold',
  unhealthy: 'gold',
  terminated: 'grey',
  done: 'grey',
  stopped: 'grey',
};

/** The tone of a run/replica/instance status or status message (`exited (1)` is red, `exited (0)` grey). */
export function statusTone(status: string): Tone | undefined {
  const s = status.toLowerCase();
  if (s.startsWith('exited (')) return s === 'exited (0)' ? 'grey' : 'red';
  return STATUS_TONES[s];
}

export interface Painter {
  readonly enabled: boolean;
  paint(text: string, tone?: Tone): string;
  dim(text: string): string;
  bold(text: string): string;
  status(status: string): string;
}

export function createPainter(enabled: boolean): Painter {
  const wrap = (open: string, close: string) => (text: string) => (enabled && text ? `${open}${text}${close}` : text);
  const dim = wrap('\x1b[2m', '\x1b[22m');
  const bold = wrap('\x1b[1m', '\x1b[22m');
  const paint = (text: string, tone?: Tone) => (tone ? wrap(ANSI_OPEN[tone], '\x1b[39m')(text) : text);
  return { enabled, paint, dim, bold, status: (s) => paint(s, statusTone(s)) };
}

/** Removes ANSI escape sequences, for width measurement and for tests. */
export function stripAnsi(text: string): string {
  return text.replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, '');
}
