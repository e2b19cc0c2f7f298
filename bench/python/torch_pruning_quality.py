"""Torch-Pruning's side of `npm run bench -- quality` (issue 39): trains a zoo architecture in PyTorch
(the same layers as src/model/zoo.ts, from torch_training.py), exports the dense model to ONNX in eval
mode (PyTorch folds every batch norm into its convolution: what users bring to wgprune), then prunes 50%
of the channels with Torch-Pruning itself (MagnitudePruner, MagnitudeImportance(p=1), the classifier
ignored) and fine-tunes one epoch (SGD 0.01, momentum 0.9, batch 64) as its README recipe does; exports
the pruned model too. Prints one JSON object.

Torch-Pruning is pure Python: put a checkout of v1.6.1 on PYTHONPATH (the bench passes TORCH_PRUNING).

usage: python3 torch_pruning_quality.py --model resnet20 --data DIR --out DIR [--epochs 3] [--threads 2]
DIR holds train_images.npy (uint8, N x 28 x 28), train_labels.npy, test_images.npy, test_labels.npy;
inputs are pixels / 255.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_training import MODELS  # noqa: E402


def load(data_dir, split):
    x = np.load(os.path.join(data_dir, f'{split}_images.npy')).astype(np.float32) / 255.0
    y = np.load(os.path.join(data_dir, f'{split}_labels.npy')).astype(np.int64)
    return torch.from_numpy(x).unsqueeze(1), torch.from_numpy(y)


def accuracy(model, x, y):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), 1000):
            correct += (model(x[i:i + 1000]).argmax(1) == y[i:i + 1000]).sum().item()
    return correct / len(x)


def train(model, x, y, epochs, lr, batch, schedule, seed):
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=5e-4 if schedule == 'cosine' else 0)
    steps = epochs * (len(x) // batch)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps) if schedule == 'cosine' else None
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=g)
        for i in range(0, len(x) - batch + 1, batch):
            idx = order[i:i + batch]
            opt.zero_grad()
            loss_fn(model(x[idx]), y[idx]).backward()
            opt.step()
            if sched:
                sched.step()


def export(model, path):
    model.eval()
    torch.onnx.export(model, torch.zeros(1, 1, 28, 28), path, opset_version=13, input_names=['input'], output_names=['output'],
                      dynamic_axes={'input': {0: 'batch'}, 'output': {0: 'batch'}})


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--model', required=True, choices=sorted(MODELS))
    p.add_argument('--data', required=True)
    p.add_argument('--out', required=True)
    p.add_argument('--epochs', type=int, default=3)
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--ratio', type=float, default=0.5)
    p.add_argument('--seed', type=int, default=0)
    a = p.parse_args()
    import torch_pruning as tp  # on PYTHONPATH (the bench says where it looks)

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    os.makedirs(a.out, exist_ok=True)
    xtr, ytr = load(a.data, 'train')
    xte, yte = load(a.data, 'test')
    t0 = time.time()
    model = MODELS[a.model](1, 10)
    model(torch.zeros(1, 1, 28, 28))  # materialises LazyLinear
    train(model, xtr, ytr, a.epochs, 0.05, 128, 'cosine', a.seed)
    dense = accuracy(model, xte, yte)
    dense_onnx = os.path.join(a.out, 'dense.onnx')
    export(model, dense_onnx)
    t1 = time.time()

    classifier = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
    pruner = tp.pruner.MagnitudePruner(model, torch.zeros(1, 1, 28, 28), importance=tp.importance.MagnitudeImportance(p=1),
                                       pruning_ratio=a.ratio, ignored_layers=[classifier])
    pruner.step()
    params = sum(q.numel() for q in model.parameters())
    pruned_before = accuracy(model, xte, yte)
    train(model, xtr, ytr, 1, 0.01, 64, 'constant', a.seed)
    pruned = accuracy(model, xte, yte)
    pruned_onnx = os.path.join(a.out, 'torch-pruning.onnx')
    export(model, pruned_onnx)
    print(json.dumps({'model': a.model, 'dense_accuracy': dense, 'tp_accuracy_before_finetune': pruned_before, 'tp_accuracy': pruned,
                      'tp_params': params, 'dense_onnx': dense_onnx, 'tp_onnx': pruned_onnx,
                      'seconds': {'dense': t1 - t0, 'torch_pruning': time.time() - t1}}))


if __name__ == '__main__':
    main()
