/**
 * GPU vendors, shared by the configuration grammar (gpu.ts) and the agent API (agent-api.ts). A file of its own so
 * that parsing a configuration does not build the agent API's schemas (issue 15: `dstack validate` start-up).
 */
import { z } from 'zod';

export const GpuVendor = z.enum(['nvidia', 'amd', 'intel', 'tenstorrent', 'google']);
export type GpuVendor = z.infer<typeof GpuVendor>;
