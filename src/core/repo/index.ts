export { collectFolderFiles, collectRepoFiles, IGNORE_FILE, type CollectOptions, type RepoEntry, type RepoFiles } from './collect.js';
export { nodeRepoFs, type RepoFs } from './fs.js';
export { compileIgnore, IgnoreTree, type IgnoreMatcher } from './ignore.js';
export { DEFAULT_REPO_SIZE_LIMIT, REPO_SIZE_LIMIT_ENV, formatBytes, parseSize, resolveSizeLimit } from './limits.js';
export { packRepo, withFolders, type PackedRepo, type PackOptions } from './pack.js';
export { tarChunks, type TarEntry } from './tar.js';
export { collectFileMappings, DEFAULT_FILE_SIZE_LIMIT, expandHome, FILE_SIZE_LIMIT_ENV, type FileMapping } from './files.js';
export { packSource, repoId, type PackedSource, type PackSourceOptions } from './source.js';
export { initRepo, type RepoRecord } from './init.js';
