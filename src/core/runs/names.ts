/** Run names: validated like dstack resource names; generated as `<adjective>-<animal>-<n>` when absent. */
const ADJECTIVES = ['brave', 'calm', 'eager', 'fancy', 'gentle', 'happy', 'jolly', 'kind', 'lively', 'proud', 'quick', 'silly', 'witty', 'zesty'];
const ANIMALS = ['ant', 'bee', 'cat', 'dog', 'eel', 'fox', 'gnu', 'hen', 'owl', 'pig', 'ram', 'yak', 'seal', 'wolf'];

export const RUN_NAME = /^[a-z][a-z0-9-]{1,40}$/;

export function randomRunName(random: () => number = Math.random): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] ?? xs[0]!;
  return `${pick(ADJECTIVES)}-${pick(ANIMALS)}-${1 + Math.floor(random() * 99)}`;
}
