#!/usr/bin/env python3
"""Writes the beyond-classifier fixtures in test/fixtures/onnx/ with PyTorch's exporter (Debian python3-torch
1.13, torchvision 0.14), each with a seeded input and PyTorch's outputs for it as .npy files beside it
(NAME.input.npy, NAME.output.npy, NAME.output1.npy, ...), so that the tests compare the import with PyTorch
itself as well as with onnxruntime. Run: /usr/bin/python3 scripts/make-task-fixtures.py [NAME ...].

- unet-seg: a U-Net encoder-decoder (stride-2 convs down, ConvTranspose up with and without output_padding,
  skip concats, a batch norm) ending in a per-pixel 1x1 classifier: [4, 32, 32] logits.
- deeplabv3-mobilenetv3: torchvision's DeepLabV3 on its dilated MobileNetV3-Large backbone (width 0.25,
  reduced tail: dilated depthwise convs, squeeze-excitation, Hardswish) with torchvision's own ASPP (rates 12,
  24, 36 and the pooling branch resized back bilinearly) at 32 channels instead of 256, and the final
  bilinear resize to the input size: [4, 64, 64] logits.
- yolo-mini: a YOLOv8-style backbone and neck (Conv-BN-SiLU, C2f blocks with chunk and bottlenecks, SPPF of
  three stride-1 max pools, nearest upsampling and concats, a stride-2 path back down) and two detection
  heads (3 anchors x (4 box + 1 objectness + 2 classes)): outputs [21, 8, 8] and [21, 4, 4].
- face-embed: a face-embedding net (MobileFaceNet/ArcFace style): Conv-BN-PReLU, GroupNorm, an inverted
  residual with PReLU and a depthwise conv, a Linear -> BatchNorm1d embedding head: a [16] embedding.
"""
import os
import sys

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision.models import mobilenetv3
from torchvision.models.segmentation import deeplabv3

OUT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'onnx')


class UNetSeg(nn.Module):
    def __init__(self, classes=4):
        super().__init__()
        self.e1 = nn.Conv2d(3, 8, 3, 1, 1)
        self.e2 = nn.Conv2d(8, 16, 3, 2, 1)
        self.e3 = nn.Conv2d(16, 24, 3, 2, 1)
        self.up1 = nn.ConvTranspose2d(24, 16, 2, 2)
        self.d1 = nn.Conv2d(32, 16, 3, 1, 1)
        self.up2 = nn.ConvTranspose2d(16, 8, 3, 2, 1, output_padding=1, bias=False)
        self.bn = nn.BatchNorm2d(8)
        self.d2 = nn.Conv2d(16, 8, 3, 1, 1)
        self.head = nn.Conv2d(8, classes, 1)

    def forward(self, x):
        s1 = F.relu(self.e1(x))
        s2 = F.relu(self.e2(s1))
        y = F.relu(self.e3(s2))
        y = F.relu(self.d1(torch.cat([self.up1(y), s2], 1)))
        y = F.relu(self.d2(torch.cat([F.relu(self.bn(self.up2(y))), s1], 1)))
        return self.head(y)


class DeepLabV3MobileNetV3(nn.Module):
    """torchvision's construction (deeplabv3._deeplabv3_mobilenetv3) with a narrower ASPP head."""
    def __init__(self, classes=4):
        super().__init__()
        backbone = mobilenetv3.mobilenet_v3_large(weights=None, width_mult=0.25, reduced_tail=True, dilated=True)
        model = deeplabv3._deeplabv3_mobilenetv3(backbone, classes, False)
        channels = model.classifier[0].convs[0][0].in_channels
        model.classifier = nn.Sequential(
            deeplabv3.ASPP(channels, [12, 24, 36], out_channels=32),
            nn.Conv2d(32, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(), nn.Conv2d(32, classes, 1))
        self.model = model

    def forward(self, x):
        return self.model(x)['out']


class Conv(nn.Module):
    def __init__(self, c1, c2, k=1, s=1):
        super().__init__()
        self.conv = nn.Conv2d(c1, c2, k, s, k // 2, bias=False)
        self.bn = nn.BatchNorm2d(c2)

    def forward(self, x):
        return F.silu(self.bn(self.conv(x)))


class Bottleneck(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.cv1, self.cv2 = Conv(c, c, 3), Conv(c, c, 3)

    def forward(self, x):
        return x + self.cv2(self.cv1(x))


class C2f(nn.Module):
    def __init__(self, c1, c2, n=1):
        super().__init__()
        self.c = c2 // 2
        self.cv1 = Conv(c1, 2 * self.c)
        self.cv2 = Conv((2 + n) * self.c, c2)
        self.m = nn.ModuleList(Bottleneck(self.c) for _ in range(n))

    def forward(self, x):
        y = list(self.cv1(x).chunk(2, 1))
        y.extend(m(y[-1]) for m in self.m)
        return self.cv2(torch.cat(y, 1))


class SPPF(nn.Module):
    def __init__(self, c1, c2, k=5):
        super().__init__()
        self.cv1 = Conv(c1, c1 // 2)
        self.cv2 = Conv(c1 // 2 * 4, c2)
        self.m = nn.MaxPool2d(k, 1, k // 2)

    def forward(self, x):
        x = self.cv1(x)
        y1 = self.m(x)
        y2 = self.m(y1)
        return self.cv2(torch.cat([x, y1, y2, self.m(y2)], 1))


class YoloMini(nn.Module):
    def __init__(self, classes=2, anchors=3):
        super().__init__()
        self.stem = nn.Sequential(Conv(3, 8, 3, 2), Conv(8, 16, 3, 2), C2f(16, 16))
        self.p3 = nn.Sequential(Conv(16, 32, 3, 2), C2f(32, 32))
        self.p4 = nn.Sequential(Conv(32, 48, 3, 2), C2f(48, 48), SPPF(48, 48))
        self.top = C2f(48 + 32, 32)
        self.down = Conv(32, 32, 3, 2)
        self.bottom = C2f(32 + 48, 48)
        self.head3 = nn.Conv2d(32, anchors * (5 + classes), 1)
        self.head4 = nn.Conv2d(48, anchors * (5 + classes), 1)

    def forward(self, x):
        p3 = self.p3(self.stem(x))
        p4 = self.p4(p3)
        t = self.top(torch.cat([F.interpolate(p4, scale_factor=2.0, mode='nearest'), p3], 1))
        b = self.bottom(torch.cat([self.down(t), p4], 1))
        return self.head3(t), self.head4(b)


class FaceEmbed(nn.Module):
    def __init__(self, features=16):
        super().__init__()
        self.c1 = nn.Conv2d(3, 16, 3, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.p1 = nn.PReLU(16)
        self.c2 = nn.Conv2d(16, 32, 3, 2, 1, bias=False)
        self.gn = nn.GroupNorm(4, 32)
        self.p2 = nn.PReLU(32)
        # An inverted residual: expand 1x1, depthwise 3x3, project 1x1, added to its input.
        self.expand = nn.Conv2d(32, 64, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(64)
        self.p3 = nn.PReLU(64)
        self.dw = nn.Conv2d(64, 64, 3, 1, 1, groups=64, bias=False)
        self.bn4 = nn.BatchNorm2d(64)
        self.p4 = nn.PReLU(64)
        self.project = nn.Conv2d(64, 32, 1, bias=False)
        self.bn5 = nn.BatchNorm2d(32)
        self.emb = nn.Linear(32, features)
        self.bn = nn.BatchNorm1d(features)

    def forward(self, x):
        y = self.p2(self.gn(self.c2(self.p1(self.bn1(self.c1(x))))))
        z = self.p4(self.bn4(self.dw(self.p3(self.bn3(self.expand(y))))))
        y = y + self.bn5(self.project(z))
        return self.bn(self.emb(torch.flatten(F.adaptive_avg_pool2d(y, 1), 1)))


def randomise(model, shape):
    """Random affine parameters and slopes, then batch-norm statistics calibrated on random inputs (as training
    leaves them: matching the data), so that fine-tuning in training mode starts where the model is."""
    for m in model.modules():
        if isinstance(m, nn.PReLU):
            m.weight.data.uniform_(-0.3, 0.6)
        if isinstance(m, nn.GroupNorm) and m.affine:
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
        if isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d)):
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
            m.reset_running_stats()
            m.momentum = None  # a cumulative average over the calibration batches
    model.train()
    with torch.no_grad():
        for _ in range(8):
            model(torch.randn(32, *shape))
    return model.eval()


def export(name, model, shape, outputs=1, opset=13, seed=2050):
    torch.manual_seed(seed)
    model = randomise(model, shape)
    names = ['output'] + [f'output{i}' for i in range(1, outputs)]
    path = os.path.join(OUT, f'{name}.onnx')
    x = torch.randn(2, *shape)
    torch.onnx.export(model, x, path, opset_version=opset, input_names=['input'], output_names=names,
                      dynamic_axes={n: {0: 'batch'} for n in ['input'] + names}, training=torch.onnx.TrainingMode.PRESERVE)
    m = onnx.load(path)
    onnx.checker.check_model(m)
    with torch.no_grad():
        ys = model(x)
    ys = ys if isinstance(ys, tuple) else (ys,)
    np.save(os.path.join(OUT, f'{name}.input.npy'), x.numpy().astype(np.float32))
    for n, y in zip(names, ys):
        np.save(os.path.join(OUT, f'{name}.{n}.npy'), y.numpy().astype(np.float32))
    print(name, sorted({n.op_type for n in m.graph.node}), os.path.getsize(path), 'bytes', [tuple(y.shape) for y in ys])


if __name__ == '__main__':
    os.makedirs(OUT, exist_ok=True)
    only = set(sys.argv[1:])
    fixtures = [
        ('unet-seg', lambda: UNetSeg(), (3, 32, 32), 1),
        ('deeplabv3-mobilenetv3', lambda: DeepLabV3MobileNetV3(), (3, 64, 64), 1),
        ('yolo-mini', lambda: YoloMini(), (3, 64, 64), 2),
        ('face-embed', lambda: FaceEmbed(), (3, 32, 32), 1),
    ]
    for i, (name, make, shape, outputs) in enumerate(fixtures):
        if only and name not in only:
            continue
        torch.manual_seed(2050 + i)
        export(name, make(), shape, outputs, seed=2050 + i)
