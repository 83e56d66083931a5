/** `dstack user list`: the same listing as `dstack user`. */
import User from './user.js';

export default class UserList extends User {
  static override summary = 'List users (the same as `dstack user`).';
  static override examples = ['dstack user list', 'dstack user list --json'];
}
