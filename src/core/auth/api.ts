/** The bodies of the users and projects routes (the route list is in src/core/api.ts, which re-exports these). */
import { z } from 'zod';
import { GlobalRole, ProjectMember, ProjectRole } from './roles.js';

/** `GET /api/me`: who the token belongs to. */
export const MeView = z.object({ user: z.string(), globalRole: GlobalRole });
export type MeView = z.infer<typeof MeView>;

/** A user as listings show it: never the token or its hash. */
export const UserView = z.object({ name: z.string(), globalRole: GlobalRole, createdAt: z.number() });
export type UserView = z.infer<typeof UserView>;

export const CreateUserRequest = z.strictObject({ name: z.string(), globalRole: GlobalRole.default('user') });
export type CreateUserRequest = z.input<typeof CreateUserRequest>;

/** The one answer that carries a user's token: it is stored hashed and cannot be shown again. */
export const CreateUserResult = z.object({ user: UserView, token: z.string() });
export type CreateUserResult = z.infer<typeof CreateUserResult>;

export const ProjectView = z.object({
  name: z.string(),
  createdAt: z.number(),
  createdBy: z.string(),
  members: z.array(ProjectMember),
  /** The caller's role (a global admin is admin of every project). */
  role: ProjectRole,
});
export type ProjectView = z.infer<typeof ProjectView>;

export const CreateProjectRequest = z.strictObject({ name: z.string() });
export type CreateProjectRequest = z.infer<typeof CreateProjectRequest>;

/** Adds the user, or changes the role of a member. */
export const AddMemberRequest = z.strictObject({ user: z.string(), role: ProjectRole });
export type AddMemberRequest = z.infer<typeof AddMemberRequest>;
