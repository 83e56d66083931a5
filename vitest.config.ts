import { defineConfig } from 'vitest/config';

// Three kinds of tests (DESIGN.md §6, STYLE.md "Tests"):
//  - unit:        pure logic, beside the code (src/**/*.test.ts) or under test/unit
//  - integration: one real component (dockerd, sshd, an HTTP server); needs root + scripts/test-hosts.sh
//  - e2e:         the built binary against real hosts
// Integration and e2e tests are tagged by folder, so `vitest run test/integration` lists them.
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'src/**/*.test.tsx', 'test/**/*.test.ts', 'test/**/*.test.tsx'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    pool: 'forks',
    // 2 cores: integration tests share dockerd and the namespace hosts, so keep files from stepping on each other.
    fileParallelism: true,
    maxWorkers: 2,
    // CI runs ~60 files on 2 shared cores with real dockerd/sshd/agents: one retry absorbs load-induced flakes
    // (a test that fails twice still fails; vitest's JSON report marks retried tests, so flakes stay visible).
    retry: process.env.CI ? 1 : 0,
  },
});
