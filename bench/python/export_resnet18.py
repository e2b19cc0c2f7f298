"""PyTorch's own export of torchvision's ResNet-18 for `npm run bench -- speedup`: random weights (the
bench times, it does not score), eval mode, opset 13, batch norms folded into the convolutions by
torch.onnx's constant folding, as a user's export would have them; a symbolic batch.

usage: python3 export_resnet18.py OUT.onnx [--size 64] [--classes 10]
"""
import argparse

import torch
from torchvision.models import resnet18


def main():
    p = argparse.ArgumentParser()
    p.add_argument('out')
    p.add_argument('--size', type=int, default=64)
    p.add_argument('--classes', type=int, default=10)
    a = p.parse_args()
    torch.manual_seed(1)
    model = resnet18(num_classes=a.classes).eval()
    x = torch.rand(1, 3, a.size, a.size)
    torch.onnx.export(model, x, a.out, opset_version=13, do_constant_folding=True, input_names=['input'], output_names=['output'],
                      dynamic_axes={'input': {0: 'batch'}, 'output': {0: 'batch'}})


if __name__ == '__main__':
    main()
