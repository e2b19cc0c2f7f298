// The model zoo. Inputs are 1x28x28 (MNIST, Fashion-MNIST) or 3x32x32 (CIFAR-like); any CxHxW works
// where the pooling fits.
import { GraphBuilder, type ModelSpec } from './graph.js';

export type InputShape = [number, number, number];

/** LeNet-5 (LeCun et al. 1998), with ReLU and max pooling: conv 6@5x5 pad 2, pool, conv 16@5x5, pool, fc 120, 84, classes. */
export function lenet5(inputShape: InputShape = [1, 28, 28], classes = 10): ModelSpec {
  const g = new GraphBuilder('lenet5', inputShape, classes);
  let x = g.relu(g.conv('input', { out: 6, kernel: 5, padding: 2, name: 'conv1' }));
  x = g.maxpool(x, 2);
  x = g.relu(g.conv(x, { out: 16, kernel: 5, name: 'conv2' }));
  x = g.flatten(g.maxpool(x, 2));
  x = g.relu(g.linear(x, 120, 'fc1'));
  x = g.relu(g.linear(x, 84, 'fc2'));
  return g.build(g.linear(x, classes, 'fc3'));
}

/** Five conv3x3-BN-ReLU blocks (32, 32, 64, 64, 128) with two max-pools, global average pool, fc. */
export function vggSmall(inputShape: InputShape = [3, 32, 32], classes = 10): ModelSpec {
  const g = new GraphBuilder('vgg-small', inputShape, classes);
  let x = 'input';
  [32, 32, 64, 64, 128].forEach((width, i) => {
    x = g.relu(g.bn(g.conv(x, { out: width, kernel: 3, padding: 1, bias: false, name: `conv${i + 1}` }), `bn${i + 1}`));
    if (i === 1 || i === 3) x = g.maxpool(x, 2);
  });
  return g.build(g.linear(g.flatten(g.gap(x)), classes, 'fc'));
}

/** CIFAR ResNet-20 (He et al. 2016): three stages of three basic blocks, 16/32/64 channels, 1x1 strided shortcuts with BN. */
export function resnet20(inputShape: InputShape = [3, 32, 32], classes = 10): ModelSpec {
  const g = new GraphBuilder('resnet20', inputShape, classes);
  const convBn = (x: string, out: number, kernel: number, stride: number, name: string) =>
    g.bn(g.conv(x, { out, kernel, stride, padding: (kernel - 1) >> 1, bias: false, name }), `${name}.bn`);
  let x = g.relu(convBn('input', 16, 3, 1, 'stem'));
  let channels = 16;
  [16, 32, 64].forEach((width, stage) => {
    for (let block = 0; block < 3; block++) {
      const stride = stage > 0 && block === 0 ? 2 : 1;
      const name = `s${stage + 1}.b${block + 1}`;
      const y = convBn(g.relu(convBn(x, width, 3, stride, `${name}.conv1`)), width, 3, 1, `${name}.conv2`);
      const shortcut = stride !== 1 || channels !== width ? convBn(x, width, 1, stride, `${name}.shortcut`) : x;
      x = g.relu(g.sum([y, shortcut], `${name}.add`));
      channels = width;
    }
  });
  return g.build(g.linear(g.flatten(g.gap(x)), classes, 'fc'));
}

/** MobileNet-style (Howard et al. 2017): a stem conv, then depthwise-separable blocks (dw 3x3-BN-ReLU6, pw 1x1-BN-ReLU6). */
export function mobilenet(inputShape: InputShape = [3, 32, 32], classes = 10): ModelSpec {
  const g = new GraphBuilder('mobilenet', inputShape, classes);
  let x = g.relu6(g.bn(g.conv('input', { out: 16, kernel: 3, padding: 1, bias: false, name: 'stem' }), 'stem.bn'));
  let channels = 16;
  const blocks: [number, number][] = [[32, 1], [64, 2], [64, 1], [128, 2], [128, 1]];
  blocks.forEach(([out, stride], i) => {
    const name = `block${i + 1}`;
    x = g.relu6(g.bn(g.conv(x, { out: channels, kernel: 3, stride, padding: 1, groups: channels, bias: false, name: `${name}.dw` }), `${name}.dw.bn`));
    x = g.relu6(g.bn(g.conv(x, { out, kernel: 1, bias: false, name: `${name}.pw` }), `${name}.pw.bn`));
    channels = out;
  });
  return g.build(g.linear(g.flatten(g.gap(x)), classes, 'fc'));
}

export const zoo: Record<string, (inputShape?: InputShape, classes?: number) => ModelSpec> = {
  lenet5, 'vgg-small': vggSmall, resnet20, mobilenet,
};

export function zooModel(name: string, inputShape?: InputShape, classes?: number): ModelSpec {
  const make = zoo[name];
  if (!make) throw new Error(`unknown model '${name}'; the zoo has: ${Object.keys(zoo).join(', ')}`);
  return make(inputShape, classes);
}
