/**
 * The roles of issue 17, apart from the state schema so the API types (core/auth/api.ts, re-exported by
 * core/api.ts, which the state schema imports) can use them without an import cycle. schema.ts re-exports them.
 */
import { z } from 'zod';

/** A server-wide role: `admin` manages users and is admin of every project. */
export const GlobalRole = z.enum(['admin', 'user']);
export type GlobalRole = z.infer<typeof GlobalRole>;

/** A member's role in one project (core/auth/principal.ts says what each may do). */
export const ProjectRole = z.enum(['admin', 'manager', 'user']);
export type ProjectRole = z.infer<typeof ProjectRole>;

export const ProjectMember = z.object({ user: z.string(), role: ProjectRole });
export type ProjectMember = z.infer<typeof ProjectMember>;
