/** `GET …/models` and `GET …/models/<name>` in OpenAI's shape, from the registry of running model services. */
import type { ModelEntry, ModelRegistry } from '../contracts.js';
import { ModelsApiError } from './openai-errors.js';

function modelObject(entry: ModelEntry) {
  return { id: entry.name, object: 'model', created: Math.floor(entry.createdAt / 1000), owned_by: entry.project };
}

/** One row per name: when two runs publish the same name, the newest run is the one requests reach. */
export function listModels(registry: ModelRegistry, project: string) {
  const newest = new Map<string, ModelEntry>();
  for (const e of registry.list(project)) {
    const seen = newest.get(e.name);
    if (!seen || e.createdAt > seen.createdAt) newest.set(e.name, e);
  }
  return { object: 'list', data: [...newest.values()].map(modelObject) };
}

export function retrieveModel(registry: ModelRegistry, project: string, name: string) {
  const entry = registry.find(project, name);
  if (!entry) throw new ModelsApiError(404, `Model ${name} not found in project ${project}`, 'invalid_request_error', 'model_not_found', 'model');
  return modelObject(entry);
}
