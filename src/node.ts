// The public API in Node: everything the browser-safe entry (index.ts) has, plus what reads and writes
// files: the built-in data sets, IDX/NPY files, checkpoints.
export * from './index.js';
export { loadDataset, loadFashionMnist, loadFiles, loadMnist } from './data/sources.js';
export { type ImageFolder, loadImageFolder } from './data/image-folder.js';
export { loadMasks } from './data/masks.js';
export { loadCheckpoint, saveCheckpoint } from './train/checkpoint.js';
