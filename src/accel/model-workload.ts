// The accelerator workload of a model: its conv and linear layers (batch-1 inference) as GEMMs.
import { conv2dGeometry } from '../geometry.js';
import { type ModelSpec, inferShapes, paramShapes } from '../model/graph.js';
import { type LayerWorkload, convWorkload, linearWorkload } from './workload.js';

export function modelWorkloads(spec: ModelSpec): LayerWorkload[] {
  const shapes = inferShapes(spec);
  const layers: LayerWorkload[] = [];
  for (const n of spec.nodes) {
    if (n.op === 'conv2d') {
      const x = shapes.get(n.input)!;
      layers.push(convWorkload(n.name, conv2dGeometry([1, ...x], paramShapes(n, shapes).weight, n)));
    } else if (n.op === 'linear') {
      layers.push(linearWorkload(n.name, shapes.get(n.input)![0], n.outFeatures));
    }
  }
  return layers;
}
