// Import direction of DESIGN.md §5, enforced so it cannot erode:
//   commands → ui, core (server.ts alone loads daemon, lazily);  daemon → proxy, core, backends;  proxy → core, backends
//   (never daemon);  backends → core;  agent → core/model only;  core → nothing above it.
import tseslint from 'typescript-eslint';

const restrict = (files, patterns, message) => ({
  files,
  rules: {
    'no-restricted-imports': ['error', { patterns: patterns.length ? [{ group: patterns, message }] : [] }],
  },
});

export default [
  { ignores: ['dist/**', 'out/**', 'node_modules/**', 'test/fixtures/**'] },
  {
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: { parser: tseslint.parser, parserOptions: { ecmaFeatures: { jsx: true } } },
  },
  restrict(['src/core/**'], ['**/commands/**', '**/ui/**', '**/daemon/**', '**/proxy/**', '**/backends/**', '**/agent/**', 'ink', 'react', 'node:http', 'node:net', 'undici', 'ssh2', 'dockerode'],
    'core is pure domain: no UI, no networking, nothing above it (DESIGN.md §5)'),
  restrict(['src/core/client/**'], ['**/commands/**', '**/ui/**', '**/daemon/**', '**/proxy/**', '**/backends/**', '**/agent/**', 'ink', 'react'],
    'the daemon client may use HTTP, nothing above core (DESIGN.md §5)'),
  // src/commands/server.ts is the daemon's entry point (DESIGN.md §2: `dstack server`), so it alone may load daemon/;
  // so does server-migrate.ts (`dstack server migrate`), which fills the server's database with the daemon's code.
  restrict(['src/commands/**'], ['**/daemon/**', '**/proxy/**', '**/backends/**', '**/agent/**'],
    'commands talk to the daemon through core, never to daemon/proxy/backends/agent directly (DESIGN.md §5)'),
  { files: ['src/commands/server.ts', 'src/commands/server-migrate.ts'], rules: { 'no-restricted-imports': 'off' } },
  restrict(['src/ui/**'], ['**/commands/**', '**/daemon/**', '**/proxy/**', '**/backends/**', '**/agent/**'],
    'ui renders core data only (DESIGN.md §5)'),
  restrict(['src/daemon/**'], ['**/commands/**', '**/ui/**', '**/agent/**', 'ink', 'react'],
    'the control plane imports proxy, core and backends only (DESIGN.md §5)'),
  restrict(['src/proxy/**'], ['**/commands/**', '**/ui/**', '**/daemon/**', '**/agent/**', 'ink', 'react'],
    'the data plane imports core and backends only, never the control plane (DESIGN.md §5)'),
  restrict(['src/backends/**'], ['**/commands/**', '**/ui/**', '**/daemon/**', '**/proxy/**', '**/agent/**', 'ink', 'react'],
    'backends import core only (DESIGN.md §5)'),
  // The dashboard runs in browsers: core's types and pure helpers and ui's formatters only (DESIGN.md §5).
  restrict(['src/web/**'], ['**/commands/**', '**/daemon/**', '**/proxy/**', '**/backends/**', '**/agent/**', 'ink', 'react', 'node:*'],
    'the dashboard imports core and ui only, and nothing of Node (DESIGN.md §5)'),
  {
    files: ['src/web/**'],
    languageOptions: {
      globals: Object.fromEntries(['window', 'document', 'location', 'sessionStorage', 'fetch', 'addEventListener', 'removeEventListener', 'HTMLElement', 'HTMLDialogElement', 'HTMLInputElement', 'HTMLPreElement', 'Event', 'Response', 'RequestInit', 'ReadableStream', 'TextDecoder', 'URLSearchParams', 'AbortController', 'AbortSignal', 'Intl', 'console'].map((g) => [g, 'readonly'])),
    },
  },
  restrict(['src/agent/**'], ['**/commands/**', '**/ui/**', '**/daemon/**', '**/proxy/**', '**/backends/**', '**/core/!(model)/**', '**/core/!(model)', 'ink', 'react'],
    'the agent imports core/model types only (DESIGN.md §5)'),
];
