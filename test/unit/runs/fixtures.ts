import type { ServiceConfig } from '../../../src/core/model/service.js';
import { serviceConfig } from '../../helpers/configs.js';

/** A real normalized service (the config language's defaults: cpu 2.., memory 8GB.., disk 100GB..), `raw` over it. */
export function service(raw: Record<string, unknown> = {}): ServiceConfig {
  return serviceConfig({ image: undefined, commands: ['python3 -m http.server'], ...raw });
}
