/** The secret routes' bodies (the route list is in src/core/api.ts, which re-exports these). */
import { z } from 'zod';

/** A project secret as listings show it: never its value. */
export const SecretView = z.object({ name: z.string(), createdAt: z.number(), updatedAt: z.number() });
export type SecretView = z.infer<typeof SecretView>;

/** `GET /api/secrets/:name` only (`dstack secret get`). */
export const SecretValue = SecretView.extend({ value: z.string() });
export type SecretValue = z.infer<typeof SecretValue>;

export const SetSecretRequest = z.strictObject({ value: z.string() });
export type SetSecretRequest = z.infer<typeof SetSecretRequest>;

export const SetSecretResult = SecretView.extend({ created: z.boolean() });
export type SetSecretResult = z.infer<typeof SetSecretResult>;
