/**
 * The plain constants of the agent API (agent-api.ts holds its schemas). A file of their own, without zod, so the
 * agent can label, filter and adopt containers without building the API's schemas at start-up (issue 15: the
 * idle agent's memory); it loads agent-api.ts when the first replica spec arrives.
 */
export const AGENT_DEFAULT_PORT = 10998;
/** Folder of a code archive that holds the config's `files:` (`<dir>/<index>`), kept out of the repo dir. */
export const REPO_FILES_DIR = '.dstack-files';
/** Docker label keys put on every container the agent creates (so leftovers can be swept and adopted). */
export const LABELS = {
  managed: 'ai.dstack.managed',
  agent: 'ai.dstack.agent',
  replicaId: 'ai.dstack.replica-id',
  run: 'ai.dstack.run',
  replicaNum: 'ai.dstack.replica-num',
  project: 'ai.dstack.project',
  spec: 'ai.dstack.spec',
} as const;
