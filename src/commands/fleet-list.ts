/** `dstack fleet list`: the same listing as `dstack fleet`, under the name dstack also accepts. */
import Fleet from './fleet.js';

export default class FleetList extends Fleet {
  static override summary = 'List fleets and their instances (the same as `dstack fleet`).';
  static override examples = ['dstack fleet list', 'dstack fleet list -v --json'];
}
