#!/usr/bin/env python3
"""Writes the ONNX test fixtures in test/fixtures/onnx/ with PyTorch's exporter (Debian python3-torch
1.13, python3-onnx 1.12). Run: /usr/bin/python3 scripts/make-onnx-fixtures.py. The tests never need Python.

Four small CNNs, each exercising what PyTorch emits: LeNet-5 (view -> Shape/Gather/Unsqueeze/Concat/
Reshape, Gemm, LeakyRelu, Dropout and Identity inserted by hand, Softmax; opset 11), a ResNet-style net
(BatchNormalization, residual Add, strided 1x1 shortcut, GlobalAveragePool, Flatten; opset 13), a
MobileNet-style net (depthwise Conv, Clip as ReLU6, AveragePool, MatMul + Add; opset 17) and a
SqueezeNet-style net (fire modules with Concat, MaxPool, a Conv with auto_pad SAME_UPPER set by hand,
a final conv classifier, initializers in float_data; opset 12), and a net of the smooth activations of
EfficientNet/MobileNetV3/ConvNeXt (SiLU, Hardswish, Hardsigmoid, GELU, Sigmoid; opsets 13 and 14), and
torchvision's EfficientNet-B0 (its pooling rewritten as MNASNet's ReduceMean) and MobileNetV3-Small at a
quarter width (squeeze-excitation: a [C, H, W] map times a [C, 1, 1] scale), ShuffleNetV2 (chunk as
Shape-arithmetic Slices, channel shuffle as Reshape/Transpose/Reshape with shape subgraphs), MNASNet
(ReduceMean pooling) and RegNetY (grouped convs, squeeze-excitation) at small widths, and a net of
channel splits (Split with sizes at opsets 11 and 13, a strided channel Slice), torchvision's ConvNeXt
at two short stages (channels-last blocks: Transpose, LayerNorm written out at opset 13 and as
LayerNormalization at opset 17, MatMul + Add, GELU, layer scale), GELU's tanh form (opset 13), and
Resize (nearest by scales, bilinear to sizes from Shape arithmetic; opsets 11 and 13) before a concat,
and an Inception block with Pad + AveragePool and a channel shuffle exported with a static batch, and a
net of PReLUs (per channel and single slope) with a BatchNorm1d embedding head, and a U-Net-style decoder
(ConvTranspose with and without output_padding, skip concats) ending in a classifier, and a net of
GroupNorm (affine and not), InstanceNorm2d, PReLU and BatchNorm1d.
Give fixture names as arguments to write only those.
Weights and batch-norm statistics are random (seeded) so that no op is an identity.
"""
import os
import sys

import onnx
import onnx.numpy_helper
import torch
import torch.nn as nn
import torch.nn.functional as F
from onnx import helper
from torchvision.models import convnext, efficientnet, mnasnet, mobilenetv3, regnet, shufflenetv2

OUT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'onnx')


class LeNet5(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(400, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.view(x.size(0), -1)
        x = F.relu(self.fc1(x))
        x = F.leaky_relu(self.fc2(x), 0.1)
        return F.softmax(self.fc3(x), dim=1)


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.short = None if stride == 1 and cin == cout else nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(y + (x if self.short is None else self.short(x)))


class ResNetMini(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, 1, 1, bias=False), nn.BatchNorm2d(8), nn.ReLU())
        self.blocks = nn.Sequential(Block(8, 8, 1), Block(8, 16, 2))
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = F.adaptive_avg_pool2d(self.blocks(self.stem(x)), 1)
        return self.fc(torch.flatten(x, 1))


class MobileNetMini(nn.Module):
    def __init__(self):
        super().__init__()
        def dw(cin, cout, stride):
            return [nn.Conv2d(cin, cin, 3, stride, 1, groups=cin, bias=False), nn.BatchNorm2d(cin), nn.ReLU6(),
                    nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU6()]
        self.features = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1, bias=False), nn.BatchNorm2d(8), nn.ReLU6(), *dw(8, 16, 1), *dw(16, 24, 2), nn.AvgPool2d(2))
        self.w = nn.Parameter(torch.randn(24 * 2 * 2, 10) * 0.1)
        self.b = nn.Parameter(torch.randn(10) * 0.1)

    def forward(self, x):
        return torch.flatten(self.features(x), 1) @ self.w + self.b


class Fire(nn.Module):
    def __init__(self, cin, squeeze, expand):
        super().__init__()
        self.squeeze = nn.Conv2d(cin, squeeze, 1)
        self.e1 = nn.Conv2d(squeeze, expand, 1)
        self.e3 = nn.Conv2d(squeeze, expand, 3, padding=1)

    def forward(self, x):
        s = F.relu(self.squeeze(x))
        return torch.cat([F.relu(self.e1(s)), F.relu(self.e3(s))], 1)


class SqueezeNetMini(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, 2)
        self.fire1 = Fire(16, 8, 16)
        self.fire2 = Fire(32, 8, 16)
        self.classifier = nn.Conv2d(32, 10, 1)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.stem(x)), 3, 2)
        x = self.fire2(self.fire1(x))
        x = F.relu(self.classifier(x))
        return torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)


class ActivationsMini(nn.Module):
    """The smooth activations of EfficientNet, MobileNetV3 and ConvNeXt between convs: SiLU (Sigmoid * x),
    Hardswish, Hardsigmoid, GELU (Div/Erf/Add/Mul/Mul at these opsets), Sigmoid."""
    def __init__(self):
        super().__init__()
        self.c1 = nn.Sequential(nn.Conv2d(3, 8, 3, 1, 1, bias=False), nn.BatchNorm2d(8), nn.SiLU())
        self.c2 = nn.Sequential(nn.Conv2d(8, 8, 3, 1, 1, groups=8), nn.Hardswish())
        self.c3 = nn.Sequential(nn.Conv2d(8, 12, 1), nn.GELU())
        self.c4 = nn.Sequential(nn.Conv2d(12, 12, 3, 2, 1), nn.Hardsigmoid())
        self.c5 = nn.Sequential(nn.Conv2d(12, 16, 1), nn.Sigmoid())
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = self.c5(self.c4(self.c3(self.c2(self.c1(x)))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class CeilPoolMini(nn.Module):
    """Pooling with ceil_mode where it adds a window (GoogLeNet, SqueezeNet 1.x): max, and average without padding counted."""
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3, padding=1)
        self.p1 = nn.MaxPool2d(3, 2, ceil_mode=True)  # 16 -> 8 (floor: 7)
        self.c2 = nn.Conv2d(8, 8, 3, padding=1)
        self.p2 = nn.AvgPool2d(3, 2, padding=1, ceil_mode=True, count_include_pad=False)  # 8 -> 5 (floor: 4)
        self.fc = nn.Linear(8 * 5 * 5, 10)

    def forward(self, x):
        x = self.p2(F.relu(self.c2(self.p1(F.relu(self.c1(x))))))
        return self.fc(torch.flatten(x, 1))


class ChannelSplitMini(nn.Module):
    """torch.split with sizes (an ONNX Split) and a strided channel slice x[:, 1::2] (a Slice with steps)."""
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3, padding=1)
        self.a = nn.Conv2d(3, 6, 1)
        self.b = nn.Conv2d(5, 6, 3, padding=1)
        self.c2 = nn.Conv2d(16, 8, 1)
        self.fc = nn.Linear(8, 10)

    def forward(self, x):
        x = F.relu(self.c1(x))
        a, b = torch.split(x, [3, 5], 1)
        x = torch.cat([F.relu(self.a(a)), F.relu(self.b(b)), x[:, 1::2]], 1)
        return self.fc(F.adaptive_avg_pool2d(F.relu(self.c2(x)), 1).flatten(1))


def shufflenet_v2_mini():
    """torchvision's ShuffleNetV2 with three short stages of 16, 32 and 64 channels."""
    return shufflenetv2.ShuffleNetV2([1, 2, 1], [8, 16, 32, 64, 128], num_classes=10)


def mnasnet_mini():
    """torchvision's MNASNet at a quarter width (its 1280-channel head cut to 128): inverted residuals, pooling by x.mean([2, 3])."""
    m = mnasnet.MNASNet(0.25, num_classes=10)
    m.layers[-3] = nn.Conv2d(m.layers[-3].in_channels, 128, 1, bias=False)
    m.layers[-2] = nn.BatchNorm2d(128)
    m.classifier[1] = nn.Linear(128, 10)
    return m


def regnet_y_mini():
    """torchvision's RegNetY: four stages of grouped-conv bottlenecks with squeeze-excitation, widths 8-24."""
    return regnet.RegNet(regnet.BlockParams.from_init_params(depth=4, w_0=8, w_a=8.0, w_m=2.0, group_width=8, se_ratio=0.25), num_classes=10)


def efficientnet_b0_mini():
    """torchvision's EfficientNet-B0 at a quarter width and depth: MBConv with SiLU and squeeze-excitation."""
    setting, last = efficientnet._efficientnet_conf('efficientnet_b0', width_mult=0.25, depth_mult=0.25)
    return efficientnet.EfficientNet(setting, 0.2, last_channel=last, num_classes=10)


def mobilenet_v3_small_mini():
    """torchvision's MobileNetV3-Small at a quarter width: hard swish, hard sigmoid squeeze-excitation."""
    setting, last = mobilenetv3._mobilenet_v3_conf('mobilenet_v3_small', width_mult=0.25)
    return mobilenetv3.MobileNetV3(setting, last, num_classes=10)


def convnext_mini():
    """torchvision's ConvNeXt with two stages of one block (16 and 32 channels); layer scales and layer-norm
    parameters random so that no block is near an identity (torchvision starts layer scale at 1e-6)."""
    m = convnext.ConvNeXt([convnext.CNBlockConfig(16, 32, 1), convnext.CNBlockConfig(32, None, 1)], stochastic_depth_prob=0.0, num_classes=10)
    for mod in m.modules():
        if isinstance(mod, convnext.CNBlock):
            mod.layer_scale.data.uniform_(0.5, 1.5)
        if isinstance(mod, nn.LayerNorm):
            mod.weight.data.uniform_(0.5, 1.5)
            mod.bias.data.uniform_(-0.2, 0.2)
    return m


class GeluTanhMini(nn.Module):
    """GELU's tanh approximation, which PyTorch writes out in Mul/Add/Tanh ops."""
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3, 1, 1)
        self.c2 = nn.Conv2d(8, 12, 3, 2, 1)
        self.fc = nn.Linear(12, 10)

    def forward(self, x):
        x = F.gelu(self.c2(F.gelu(self.c1(x), approximate='tanh')), approximate='tanh')
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class ResizeMini(nn.Module):
    """A feature-pyramid neck in miniature: a strided branch upsampled (nearest x2) and concatenated with the
    full-resolution one, then bilinear resizes (align_corners False and True) to other sizes."""
    def __init__(self):
        super().__init__()
        self.full = nn.Conv2d(3, 6, 3, 1, 1)
        self.down = nn.Conv2d(3, 8, 3, 2, 1)
        self.merge = nn.Conv2d(14, 12, 3, 1, 1)
        self.fc = nn.Linear(12, 10)

    def forward(self, x):
        up = F.interpolate(F.relu(self.down(x)), scale_factor=2, mode='nearest')
        y = F.relu(self.merge(torch.cat([F.relu(self.full(x)), up], 1)))
        y = F.interpolate(y, size=(11, 11), mode='bilinear', align_corners=False)
        y = F.interpolate(y, size=(13, 13), mode='bilinear', align_corners=True)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(y, 1), 1))


class InceptionMini(nn.Module):
    """An Inception block (1x1, 3x3, 3x3 average pool + 1x1, max pool branches, concat; the average pool's
    padding is a separate zero Pad at these opsets) and a channel shuffle, exported with a static batch of 1
    (its Reshape targets start with a literal 1)."""
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, 1, 1)
        self.b1 = nn.Conv2d(8, 4, 1)
        self.b3 = nn.Conv2d(8, 6, 3, 1, 1)
        self.bp = nn.Conv2d(8, 4, 1)
        self.out = nn.Conv2d(22, 12, 1)
        self.fc = nn.Linear(12, 10)

    def forward(self, x):
        x = F.relu(self.stem(x))
        y = torch.cat([F.relu(self.b1(x)), F.relu(self.b3(x)), F.relu(self.bp(F.avg_pool2d(x, 3, 1, 1))), F.max_pool2d(x, 3, 1, 1)], 1)
        n, c, h, w = y.shape
        y = y.view(n, 2, c // 2, h, w).transpose(1, 2).reshape(n, c, h, w)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(F.relu(self.out(y)), 1), 1))


def mean_pool(model):
    """MNASNet pools with x.mean([2, 3]): ReduceMean over the spatial axes instead of GlobalAveragePool."""
    gap = next(n for n in model.graph.node if n.op_type == 'GlobalAveragePool')
    gap.op_type = 'ReduceMean'
    gap.attribute.extend([helper.make_attribute('axes', [2, 3]), helper.make_attribute('keepdims', 1)])


class PreluMini(nn.Module):
    """A face-embedding net's activations and head in miniature: PReLU with a slope per channel after a
    conv and batch norm, PReLU with one slope for all, then an embedding head (Linear -> BatchNorm1d ->
    PReLU per feature) and a classifier."""
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3, 1, 1)
        self.bn1 = nn.BatchNorm2d(8)
        self.p1 = nn.PReLU(8)
        self.c2 = nn.Conv2d(8, 12, 3, 2, 1)
        self.p2 = nn.PReLU()
        self.emb = nn.Linear(12, 16)
        self.bn = nn.BatchNorm1d(16)
        self.p3 = nn.PReLU(16)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        y = self.p2(self.c2(self.p1(self.bn1(self.c1(x)))))
        y = torch.flatten(F.adaptive_avg_pool2d(y, 1), 1)
        return self.fc(self.p3(self.bn(self.emb(y))))


class UNetMini(nn.Module):
    """A U-Net's decoder in miniature, ending in a classifier: two stride-2 encoder stages, transposed
    convolutions back up (kernel 2 stride 2; kernel 3 stride 2 padding 1 output_padding 1, with a BN),
    each concatenated with the encoder's skip, then pooling and a linear head."""
    def __init__(self):
        super().__init__()
        self.e1 = nn.Conv2d(3, 8, 3, 1, 1)
        self.e2 = nn.Conv2d(8, 12, 3, 2, 1)
        self.e3 = nn.Conv2d(12, 16, 3, 2, 1)
        self.up1 = nn.ConvTranspose2d(16, 12, 2, 2)
        self.d1 = nn.Conv2d(24, 12, 3, 1, 1)
        self.up2 = nn.ConvTranspose2d(12, 8, 3, 2, 1, output_padding=1, bias=False)
        self.bn = nn.BatchNorm2d(8)
        self.d2 = nn.Conv2d(16, 8, 3, 1, 1)
        self.fc = nn.Linear(8, 10)

    def forward(self, x):
        s1 = F.relu(self.e1(x))
        s2 = F.relu(self.e2(s1))
        y = F.relu(self.e3(s2))
        y = F.relu(self.d1(torch.cat([self.up1(y), s2], 1)))
        y = F.relu(self.d2(torch.cat([F.relu(self.bn(self.up2(y))), s1], 1)))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(y, 1), 1))


class GroupNormMini(nn.Module):
    """A face-embedding net's normalisations: GroupNorm with and without affine parameters (PyTorch writes
    Reshape -> InstanceNormalization -> Reshape -> Mul -> Add), InstanceNorm2d with affine parameters, PReLU,
    and a BatchNorm1d embedding head."""
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3, 1, 1)
        self.gn1 = nn.GroupNorm(2, 8)
        self.p1 = nn.PReLU(8)
        self.c2 = nn.Conv2d(8, 12, 3, 2, 1)
        self.gn2 = nn.GroupNorm(4, 12, affine=False)
        self.c3 = nn.Conv2d(12, 12, 3, 1, 1)
        self.inorm = nn.InstanceNorm2d(12, affine=True)
        self.emb = nn.Linear(12, 16)
        self.bn = nn.BatchNorm1d(16)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        y = self.p1(self.gn1(self.c1(x)))
        y = F.relu(self.inorm(self.c3(F.relu(self.gn2(self.c2(y))))))
        y = torch.flatten(F.adaptive_avg_pool2d(y, 1), 1)
        return self.fc(self.bn(self.emb(y)))


def randomise(model):
    for m in model.modules():
        if isinstance(m, nn.PReLU):
            m.weight.data.uniform_(-0.3, 0.6)
        if isinstance(m, (nn.GroupNorm, nn.InstanceNorm2d)) and m.affine:
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
        if isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d)):
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
    return model.eval()


def insert_dropout_and_identity(model):
    """PyTorch drops Dropout in eval exports; real files often keep Dropout and Identity nodes."""
    g = model.graph
    gemm_inputs = {i for m in g.node if m.op_type == 'Gemm' for i in m.input}
    relu = next(n for n in g.node if n.op_type == 'Relu' and n.output[0] in gemm_inputs)
    old = relu.output[0]
    relu.output[0] = old + '_pre_dropout'
    dropout = helper.make_node('Dropout', [old + '_pre_dropout'], [old + '_pre_identity'], name='dropout1', ratio=0.5)
    identity = helper.make_node('Identity', [old + '_pre_identity'], [old], name='identity1')
    at = list(g.node).index(relu) + 1
    g.node.insert(at, identity)
    g.node.insert(at, dropout)


def set_auto_pad(model):
    conv = next(n for n in model.graph.node if n.op_type == 'Conv' and any(a.name == 'kernel_shape' and list(a.ints) == [3, 3] for a in n.attribute) and any(a.name == 'pads' and list(a.ints) == [1, 1, 1, 1] for a in n.attribute))
    kept = [a for a in conv.attribute if a.name != 'pads']
    del conv.attribute[:]
    conv.attribute.extend(kept + [helper.make_attribute('auto_pad', 'SAME_UPPER')])


def to_float_data(model):
    """Initializers as float_data instead of raw_data (both occur in the wild)."""
    for t in model.graph.initializer:
        if t.data_type == onnx.TensorProto.FLOAT and t.raw_data:
            values = onnx.numpy_helper.to_array(t).flatten().tolist()
            t.ClearField('raw_data')
            t.float_data.extend(values)


def export(name, model, shape, opset, edit=None, static_batch=False):
    torch.manual_seed(2026)
    path = os.path.join(OUT, f'{name}.onnx')
    # PRESERVE keeps BatchNormalization nodes (an eval export otherwise folds them into the convs).
    dynamic = None if static_batch else {'input': {0: 'batch'}, 'output': {0: 'batch'}}
    torch.onnx.export(randomise(model), torch.randn(1, *shape), path, opset_version=opset, input_names=['input'], output_names=['output'],
                      dynamic_axes=dynamic, training=torch.onnx.TrainingMode.PRESERVE)
    m = onnx.load(path)
    if edit:
        edit(m)
    onnx.checker.check_model(m)
    onnx.save(m, path)
    print(name, f'opset {opset}', sorted({n.op_type for n in m.graph.node}), os.path.getsize(path), 'bytes')


if __name__ == '__main__':
    os.makedirs(OUT, exist_ok=True)
    only = set(sys.argv[1:])  # fixture names to write (default: all)
    if only:
        real_export = export
        def export(name, *args, **kwargs):  # noqa: F811
            if name in only:
                real_export(name, *args, **kwargs)
    torch.manual_seed(2026)
    export('lenet5', LeNet5(), (1, 28, 28), 11, insert_dropout_and_identity)
    torch.manual_seed(2027)
    export('resnet-mini', ResNetMini(), (3, 16, 16), 13)
    torch.manual_seed(2028)
    export('mobilenet-mini', MobileNetMini(), (3, 16, 16), 17)
    torch.manual_seed(2029)
    export('squeezenet-mini', SqueezeNetMini(), (3, 32, 32), 12, lambda m: (set_auto_pad(m), to_float_data(m)))
    # Opset 13 writes Hardswish as HardSigmoid * x; opset 14 has a HardSwish op.
    torch.manual_seed(2030)
    export('activations-mini', ActivationsMini(), (3, 16, 16), 13)
    torch.manual_seed(2030)
    export('activations-mini-op14', ActivationsMini(), (3, 16, 16), 14)
    torch.manual_seed(2033)
    export('ceil-pool-mini', CeilPoolMini(), (3, 16, 16), 13)
    torch.manual_seed(2031)
    export('efficientnet-b0-mini', efficientnet_b0_mini(), (3, 32, 32), 13, mean_pool)
    torch.manual_seed(2032)
    export('mobilenet-v3-small-mini', mobilenet_v3_small_mini(), (3, 32, 32), 13)
    torch.manual_seed(2034)
    export('shufflenet-v2-mini', shufflenet_v2_mini(), (3, 32, 32), 13)
    torch.manual_seed(2035)
    export('mnasnet-mini', mnasnet_mini(), (3, 32, 32), 13)
    torch.manual_seed(2036)
    export('regnet-y-mini', regnet_y_mini(), (3, 32, 32), 13)
    torch.manual_seed(2037)
    export('channel-split-mini', ChannelSplitMini(), (3, 16, 16), 13)
    torch.manual_seed(2037)
    export('channel-split-mini-op11', ChannelSplitMini(), (3, 16, 16), 11)
    torch.manual_seed(2038)
    export('convnext-mini', convnext_mini(), (3, 32, 32), 13)
    torch.manual_seed(2038)
    export('convnext-mini-op17', convnext_mini(), (3, 32, 32), 17)
    torch.manual_seed(2039)
    export('gelu-tanh-mini', GeluTanhMini(), (3, 16, 16), 13)
    torch.manual_seed(2040)
    export('resize-mini', ResizeMini(), (3, 16, 16), 13)
    torch.manual_seed(2040)
    export('resize-mini-op11', ResizeMini(), (3, 16, 16), 11)
    torch.manual_seed(2041)
    export('inception-mini', InceptionMini(), (3, 16, 16), 13, static_batch=True)
    torch.manual_seed(2042)
    export('prelu-mini', PreluMini(), (3, 16, 16), 13)
    torch.manual_seed(2043)
    export('unet-mini', UNetMini(), (3, 16, 16), 13)
    torch.manual_seed(2044)
    export('groupnorm-mini', GroupNormMini(), (3, 16, 16), 13)
