"""PyTorch peer of bench:train: the same model, encoding, rows, batch size, optimizer and schedule.

Reads the rows bench/train.ts wrote (float32, row-major) and prints one JSON line: training
samples/s (the training loop alone, rows already in memory) and the AUC on the validation split
and on the held-out sample after the given epochs. Run with OMP_WAIT_POLICY=PASSIVE: on a shared
machine OpenMP threads otherwise spin while waiting.
"""
import json
import math
import os
import sys
import time

import numpy as np
import torch


def load(d, name, width):
    x = np.fromfile(os.path.join(d, name + "_x.bin"), dtype=np.float32).reshape(-1, width)
    y = np.fromfile(os.path.join(d, name + "_y.bin"), dtype=np.float32)
    return torch.from_numpy(x), torch.from_numpy(y)


def auc(scores, labels):
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    pos = labels == 1
    n1 = pos.sum()
    n0 = len(labels) - n1
    return float((ranks[pos].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def main():
    d = sys.argv[1]
    meta = json.load(open(os.path.join(d, "meta.json")))
    width, epochs, batch, lr0, seed = meta["width"], meta["epochs"], meta["batch"], meta["lr"], meta["seed"]
    torch.manual_seed(seed)
    torch.set_num_threads(meta.get("threads", os.cpu_count()))
    x, y = load(d, "train", width)
    vx, vy = load(d, "validation", width)
    hx, hy = load(d, "heldout", width)
    layers, w = [], width
    for l in meta["layers"]:
        if l["type"] == "dense":
            layers += [torch.nn.Linear(w, l["units"]), torch.nn.ReLU()]
            w = l["units"]
        elif l["type"] == "dropout":
            layers.append(torch.nn.Dropout(l["rate"]))
    layers.append(torch.nn.Linear(w, 1))
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.Adam(model.parameters(), lr=lr0)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    n = len(y)
    seconds = 0.0
    for epoch in range(epochs):
        lr = lr0 / 20 + (lr0 - lr0 / 20) * 0.5 * (1 + math.cos(math.pi * epoch / (epochs - 1))) if epochs > 1 else lr0
        for g in opt.param_groups:
            g["lr"] = lr
        model.train()
        perm = torch.randperm(n)
        t0 = time.perf_counter()
        for at in range(0, n, batch):
            idx = perm[at : at + batch]
            opt.zero_grad()
            loss = loss_fn(model(x[idx]).squeeze(1), y[idx])
            loss.backward()
            opt.step()
        seconds += time.perf_counter() - t0
    model.eval()
    with torch.no_grad():
        v = torch.sigmoid(model(vx)).squeeze(1).numpy()
        h = torch.sigmoid(model(hx)).squeeze(1).numpy()
    print(json.dumps({
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "samples_per_s": round(n * epochs / seconds),
        "auc_validation": round(auc(v, vy.numpy()), 4),
        "auc_heldout": round(auc(h, hy.numpy()), 4),
    }))


if __name__ == "__main__":
    main()
