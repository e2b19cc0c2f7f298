"""PyTorch CPU eager peer for `npm run bench -- training`: samples/s of a batch training step (forward,
cross-entropy, backward, SGD with momentum) of the zoo's architectures, built to match src/model/zoo.ts
layer for layer. Prints one JSON object {model: samples_per_second}.

usage: python3 torch_training.py --threads 2 --batch 64 --steps 5 --input 1x28x28 lenet5 vgg-small ...
With --peak-rss, the object also has "peakRssMiB": the process's peak resident memory (Linux; one model per run).
"""
import argparse
import json
import time

import torch
from torch import nn


def lenet5(c, classes):
    return nn.Sequential(
        nn.Conv2d(c, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.LazyLinear(120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, classes))


def vgg_small(c, classes):
    layers, channels = [], c
    for i, width in enumerate([32, 32, 64, 64, 128]):
        layers += [nn.Conv2d(channels, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU()]
        if i in (1, 3):
            layers.append(nn.MaxPool2d(2))
        channels = width
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, classes))


def conv_bn(cin, cout, k, stride):
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, bias=False), nn.BatchNorm2d(cout))


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1, self.conv2 = conv_bn(cin, cout, 3, stride), conv_bn(cout, cout, 3, 1)
        self.shortcut = conv_bn(cin, cout, 1, stride) if stride != 1 or cin != cout else nn.Identity()

    def forward(self, x):
        return torch.relu(self.conv2(torch.relu(self.conv1(x))) + self.shortcut(x))


def resnet20(c, classes):
    blocks, channels = [], 16
    for stage, width in enumerate([16, 32, 64]):
        for block in range(3):
            blocks.append(Block(channels, width, 2 if stage > 0 and block == 0 else 1))
            channels = width
    return nn.Sequential(conv_bn(c, 16, 3, 1), nn.ReLU(), *blocks, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, classes))


def mobilenet(c, classes):
    layers, channels = [conv_bn(c, 16, 3, 1), nn.ReLU6()], 16
    for out, stride in [(32, 1), (64, 2), (64, 1), (128, 2), (128, 1)]:
        layers += [nn.Conv2d(channels, channels, 3, stride, 1, groups=channels, bias=False), nn.BatchNorm2d(channels), nn.ReLU6(),
                   nn.Conv2d(channels, out, 1, bias=False), nn.BatchNorm2d(out), nn.ReLU6()]
        channels = out
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, classes))


def resnet18(c, classes):
    # torchvision's, as src/model/zoo.ts builds it (a 7x7/2 stem, 3x3/2 max-pool, four stages of basic blocks).
    from torchvision.models import resnet18 as torchvision_resnet18
    model = torchvision_resnet18(num_classes=classes)
    if c != 3:
        model.conv1 = nn.Conv2d(c, 64, 7, 2, 3, bias=False)
    return model


MODELS = {'lenet5': lenet5, 'vgg-small': vgg_small, 'resnet20': resnet20, 'mobilenet': mobilenet, 'resnet18': resnet18}


def throughput(name, shape, batch, steps, classes=10):
    torch.manual_seed(1)
    model = MODELS[name](shape[0], classes)
    x = torch.rand(batch, *shape)
    y = torch.randint(0, classes, (batch,))
    model(x)  # materialises LazyLinear
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()

    step()  # warm-up, as ours
    seconds = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        seconds.append(time.perf_counter() - start)
    # The median step, as ours: robust to the machine's noise, which moves single steps by tens of percent.
    return batch / sorted(seconds)[len(seconds) // 2]


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--batch', type=int, default=64)
    p.add_argument('--steps', type=int, default=5)
    p.add_argument('--input', default='1x28x28')
    p.add_argument('--peak-rss', action='store_true')
    p.add_argument('models', nargs='+')
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    shape = [int(v) for v in a.input.split('x')]
    result = {m: throughput(m, shape, a.batch, a.steps) for m in a.models}
    if a.peak_rss:
        # VmHWM: this process's own peak (getrusage's ru_maxrss keeps the parent's RSS at fork across exec).
        with open('/proc/self/status') as status:
            result['peakRssMiB'] = next(int(line.split()[1]) for line in status if line.startswith('VmHWM:')) / 1024
    print(json.dumps(result))


if __name__ == '__main__':
    main()
