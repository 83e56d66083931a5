/**
 * The built dashboard, as the daemon serves it. In source this is absent (the daemon then answers 503 and names
 * `npm run build`); scripts/build.mjs replaces this module's text with the browser bundle it just built, and the
 * daemon imports it lazily (src/daemon/api/dashboard.ts), so it is a chunk of its own that the CLI never loads.
 */
export interface WebAssets {
  /** The app's one ES module (Preact and the pages), minified. */
  js: string;
  /** All of its CSS, one file. */
  css: string;
}

export const WEB_ASSETS: WebAssets | undefined = undefined;
