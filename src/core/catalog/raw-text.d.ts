// `import text from './file.csv?raw'`: the file's text. Vite (vitest) reads it from the repository; esbuild strips
// the suffix and inlines the file with the text loader (scripts/build.mjs), so the single binary needs no files.
declare module '*?raw' {
  const text: string;
  export default text;
}
