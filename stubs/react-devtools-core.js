// Ink imports react-devtools-core only when DEV=true; the ESM bundle would still import it statically
// and fail with ERR_MODULE_NOT_FOUND, so the build aliases it to this no-op (reference/node-packages.md §2).
export default { initialize() {}, connectToDevTools() {} };
