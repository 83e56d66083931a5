/** Project secrets: names, `${{ secrets.NAME }}` references, caller-supplied values, and the store's interface. */
export * from './interpolate.js';
export * from './names.js';
export * from './references.js';
export * from './store.js';
export * from './supplied.js';
