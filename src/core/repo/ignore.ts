/**
 * A small matcher for `.dstackignore` files in gitignore syntax (https://git-scm.com/docs/gitignore):
 * comments, `!` negation, trailing `/` for folders only, anchoring by a leading or inner `/`, `*`, `?`, `[...]`
 * and `**`. Git's `--exclude-from` cannot be used because ignore patterns never drop tracked files from
 * `git ls-files --cached`, while `.dstackignore` must.
 */
interface Rule {
  negate: boolean;
  dirOnly: boolean;
  regex: RegExp;
}

export interface IgnoreMatcher {
  /** `true` ignored, `false` re-included by a `!` rule, `undefined` no rule matched. */
  match(relPath: string, isDir: boolean): boolean | undefined;
}

export function compileIgnore(text: string): IgnoreMatcher {
  const rules = text.split(/\r?\n/).flatMap((line) => {
    const rule = compileLine(line);
    return rule ? [rule] : [];
  });
  return {
    match(relPath, isDir) {
      let result: boolean | undefined;
      for (const rule of rules) {
        if (rule.dirOnly && !isDir) continue;
        if (rule.regex.test(relPath)) result = !rule.negate;
      }
      return result;
    },
  };
}

function compileLine(raw: string): Rule | undefined {
  // Trailing spaces are dropped unless escaped with a backslash (gitignore "PATTERN FORMAT").
  let line = raw.replace(/(?<!\\)\s+$/, '');
  if (line === '' || line.startsWith('#')) return undefined;
  let negate = false;
  if (line.startsWith('!')) {
    negate = true;
    line = line.slice(1);
  } else if (line.startsWith('\\!') || line.startsWith('\\#')) {
    line = line.slice(1);
  }
  const dirOnly = line.endsWith('/');
  if (dirOnly) line = line.replace(/\/+$/, '');
  if (line === '') return undefined;
  const anchored = line.includes('/');
  if (line.startsWith('/')) line = line.slice(1);
  const body = globToRegex(line);
  return { negate, dirOnly, regex: new RegExp(`^${anchored ? '' : '(?:.*/)?'}${body}$`) };
}

function globToRegex(glob: string): string {
  let out = '';
  let i = 0;
  while (i < glob.length) {
    if (glob.startsWith('**/', i) && (i === 0 || glob[i - 1] === '/')) {
      out += '(?:.*/)?';
      i += 3;
    } else if (glob.startsWith('**', i) && i + 2 === glob.length && (i === 0 || glob[i - 1] === '/')) {
      out += '.*';
      i += 2;
    } else {
      const c = glob[i]!;
      if (c === '*') out += '[^/]*';
      else if (c === '?') out += '[^/]';
      else if (c === '\\' && i + 1 < glob.length) out += escapeRegex(glob[++i]!);
      else if (c === '[') {
        const end = glob.indexOf(']', i + 2);
        if (end === -1) out += '\\[';
        else {
          let cls = glob.slice(i + 1, end);
          if (cls.startsWith('!')) cls = `^${cls.slice(1)}`;
          out += `[${cls.replace(/\\/g, '\\\\')}]`;
          i = end;
        }
      } else out += escapeRegex(c);
      i += 1;
    }
  }
  return out;
}

function escapeRegex(c: string): string {
  return /[.*+?^${}()|[\]\\/]/.test(c) ? `\\${c}` : c;
}

/**
 * The `.dstackignore` files of a tree, each scoped to its folder; a deeper file overrides a shallower one, and
 * nothing inside an ignored folder can be re-included (both as git does it).
 */
export class IgnoreTree {
  readonly #byDir = new Map<string, IgnoreMatcher>();

  add(dir: string, text: string): void {
    this.#byDir.set(dir, compileIgnore(text));
  }

  isIgnored(relPath: string, isDir: boolean): boolean {
    const parts = relPath.split('/');
    for (let n = 1; n <= parts.length; n++) {
      const last = n === parts.length;
      if (this.#matchOne(parts.slice(0, n), last ? isDir : true)) return true;
    }
    return false;
  }

  #matchOne(parts: string[], isDir: boolean): boolean {
    let result: boolean | undefined;
    for (let d = 0; d < parts.length; d++) {
      const matcher = this.#byDir.get(parts.slice(0, d).join('/'));
      const m = matcher?.match(parts.slice(d).join('/'), isDir);
      if (m !== undefined) result = m;
    }
    return result ?? false;
  }
}
