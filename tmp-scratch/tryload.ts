import { loadImageFolder } from '../src/data/image-folder.js';
const a = await loadImageFolder('/tmp/imgs/labelled', [1, 8, 8]);
console.log(a.count, a.classes, a.classNames, Array.from(a.labels), a.images[0], a.images[64], a.unlabelled);
const b = await loadImageFolder('/tmp/imgs/flat', [3, 8, 8]);
console.log(b.count, b.classes, b.unlabelled, b.skipped);
