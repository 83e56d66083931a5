/**
 * Kubernetes' default for the same field (SkyServe instead replaces after 180 s of failures). Applied by the run
 * settings, not the schema, so a parsed dstack config keeps exactly the fields dstack knows. A file without schemas,
 * so the reconciler's decisions (and `dstack ps`, which shares their predicates) do not build the probe schemas.
 */
export const DEFAULT_FAILURE_THRESHOLD = 3;
