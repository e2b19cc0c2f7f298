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

/**
 * torchvision's ImageNet ResNets (He et al. 2016): a 7x7/2 stem and 3x3/2 max-pool, four stages (64-512
 * channels) of basic blocks (ResNet-18: 2, 2, 2, 2) or bottlenecks with 4x expansion (ResNet-50: 3, 4, 6, 3).
 */
function imagenetResnet(name: string, blocks: number[], bottleneck: boolean) {
  return (inputShape: InputShape = [3, 224, 224], classes = 1000): ModelSpec => {
    const g = new GraphBuilder(name, inputShape, classes);
    const convBn = (x: string, out: number, kernel: number, stride: number, at: string) =>
      g.bn(g.conv(x, { out, kernel, stride, padding: (kernel - 1) >> 1, bias: false, name: at }), `${at}.bn`);
    let x = g.maxpool(g.relu(convBn('input', 64, 7, 2, 'conv1')), 3, 2, 1);
    let channels = 64;
    blocks.forEach((count, stage) => {
      const width = 64 << stage;
      const out = bottleneck ? width * 4 : width;
      for (let b = 0; b < count; b++) {
        const stride = stage > 0 && b === 0 ? 2 : 1;
        const at = `layer${stage + 1}.${b}`;
        const y = bottleneck
          ? convBn(g.relu(convBn(g.relu(convBn(x, width, 1, 1, `${at}.conv1`)), width, 3, stride, `${at}.conv2`)), out, 1, 1, `${at}.conv3`)
          : convBn(g.relu(convBn(x, width, 3, stride, `${at}.conv1`)), width, 3, 1, `${at}.conv2`);
        const shortcut = stride !== 1 || channels !== out ? convBn(x, out, 1, stride, `${at}.downsample`) : x;
        x = g.relu(g.sum([y, shortcut], `${at}.add`));
        channels = out;
      }
    });
    return g.build(g.linear(g.flatten(g.gap(x)), classes, 'fc'));
  };
}
export const resnet18 = imagenetResnet('resnet18', [2, 2, 2, 2], false);
export const resnet50 = imagenetResnet('resnet50', [3, 4, 6, 3], true);

/** torchvision's MobileNetV2 (Sandler et al. 2018): inverted residuals (1x1 expand, 3x3 depthwise, 1x1 project), ReLU6. */
export function mobilenetV2(inputShape: InputShape = [3, 224, 224], classes = 1000): ModelSpec {
  const g = new GraphBuilder('mobilenetv2', inputShape, classes);
  const cbr = (x: string, out: number, o: { kernel?: number; stride?: number; groups?: number; act?: boolean; name: string }) => {
    const k = o.kernel ?? 1;
    const y = g.bn(g.conv(x, { out, kernel: k, stride: o.stride, padding: (k - 1) >> 1, groups: o.groups, bias: false, name: o.name }), `${o.name}.bn`);
    return o.act === false ? y : g.relu6(y);
  };
  let x = cbr('input', 32, { kernel: 3, stride: 2, name: 'features.0' });
  let channels = 32;
  // [expansion, out channels, repeats, first stride] from the paper's Table 2.
  const settings = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1]];
  let index = 1;
  for (const [t, out, n, s] of settings) {
    for (let i = 0; i < n; i++) {
      const at = `features.${index++}`;
      const hidden = channels * t;
      let y = t === 1 ? x : cbr(x, hidden, { name: `${at}.expand` });
      y = cbr(y, hidden, { kernel: 3, stride: i === 0 ? s : 1, groups: hidden, name: `${at}.dw` });
      y = cbr(y, out, { act: false, name: `${at}.project` });
      x = i > 0 ? g.sum([x, y], `${at}.add`) : y;
      channels = out;
    }
  }
  x = cbr(x, 1280, { name: `features.${index}` });
  return g.build(g.linear(g.flatten(g.gap(x)), classes, 'classifier'));
}

/**
 * U-Net (Ronneberger et al. 2015) for segmentation, at small widths: three levels of two conv-BN-ReLU
 * (width, 2·width, 4·width channels, 16 by default; 2x2 max pools down), 2x2 stride-2 transposed
 * convolutions up, each concatenated with its level's skip, and a 1x1 per-pixel classifier: [classes, H, W]
 * logits (H, W divisible by 4).
 */
export function unet(inputShape: InputShape = [1, 64, 64], classes = 11, width = 16): ModelSpec {
  const g = new GraphBuilder('unet', inputShape, classes);
  const block = (x: string, out: number, name: string) => {
    const a = g.relu(g.bn(g.conv(x, { out, kernel: 3, padding: 1, bias: false, name: `${name}.conv1` }), `${name}.bn1`));
    return g.relu(g.bn(g.conv(a, { out, kernel: 3, padding: 1, bias: false, name: `${name}.conv2` }), `${name}.bn2`));
  };
  const e1 = block('input', width, 'enc1');
  const e2 = block(g.maxpool(e1, 2, 2), 2 * width, 'enc2');
  const mid = block(g.maxpool(e2, 2, 2), 4 * width, 'mid');
  const d2 = block(g.concat([g.convTranspose(mid, { out: 2 * width, kernel: 2, stride: 2, name: 'up2' }), e2]), 2 * width, 'dec2');
  const d1 = block(g.concat([g.convTranspose(d2, { out: width, kernel: 2, stride: 2, name: 'up1' }), e1]), width, 'dec1');
  return g.build(g.conv(d1, { out: classes, kernel: 1, name: 'head' }));
}

export const zoo: Record<string, (inputShape?: InputShape, classes?: number) => ModelSpec> = {
  lenet5, 'vgg-small': vggSmall, resnet20, mobilenet, resnet18, resnet50, mobilenetv2: mobilenetV2, unet,
};

export function zooModel(name: string, inputShape?: InputShape, classes?: number): ModelSpec {
  const make = zoo[name];
  if (!make) throw new Error(`unknown model '${name}'; the zoo has: ${Object.keys(zoo).join(', ')}`);
  return make(inputShape, classes);
}
