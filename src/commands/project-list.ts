/** `dstack project list`: the same listing as `dstack project`. */
import Project from './project.js';

export default class ProjectList extends Project {
  static override summary = 'List your projects (the same as `dstack project`).';
  static override examples = ['dstack project list', 'dstack project list --json'];
}
