/**
 * The attach part of the control API (src/core/api.ts): `GET /api/runs/:name/attach?replica=N` answers AttachInfo;
 * the same path with `port=P`, `Connection: Upgrade` and `Upgrade: dstack-attach` answers 101 and then carries raw
 * bytes to port P of the replica, or `{code, message, hint}` with 404/409/502/503 and closes.
 */
import { z } from 'zod';
import { JobStatus, RunStatus } from '../api.js';

/** The `Upgrade` token of the attach tunnel (RFC 9110 §7.8): after 101 the connection is a raw TCP stream. */
export const ATTACH_PROTOCOL = 'dstack-attach';

/** The replica `dstack attach` forwards to; `replica` is absent while the run has none yet (pending, scaled to zero). */
export const AttachInfo = z.object({
  run: z.string(),
  runStatus: RunStatus,
  /** The port the service listens on inside the replica: forwarded to the same local port by default. */
  servicePort: z.number().int(),
  replica: z
    .object({
      num: z.number().int(),
      submission: z.number().int(),
      status: JobStatus,
      instance: z.string().optional(),
      backend: z.string().optional(),
    })
    .optional(),
});
export type AttachInfo = z.infer<typeof AttachInfo>;
