"""Fused against composite sigmoid and softmax-with-loss, forward + backward.

Each call counts the engine's fixed costs too: making the input tensor, the final
sum (for sigmoid) and seeding backward.
"""
import numpy as np

import graphgrad as gg

from .timing import compare, report


def sigmoid_call(x, fused):
    xt = gg.tensor(x)
    gg.sum(gg.sigmoid(xt, fused=fused)).backward()


def softmax_with_loss_call(x, t, fused):
    xt = gg.tensor(x)
    gg.softmax_with_loss(xt, t, fused=fused).backward()


def run():
    rows = []
    rng = np.random.default_rng(0)
    for shape in [(100, 10), (1000, 1000)]:
        for dtype in (np.float32, np.float64):
            x = rng.standard_normal(shape).astype(dtype)
            t = rng.integers(0, shape[1], shape[0])
            repeats = 200 if shape[0] == 100 else 10
            case = f"{shape[0]}×{shape[1]} {np.dtype(dtype).name}"
            medians = compare({
                "sigmoid composite": lambda: sigmoid_call(x, False),
                "sigmoid fused": lambda: sigmoid_call(x, True),
            }, repeats=repeats)
            rows += report(f"sigmoid {case}", medians, "sigmoid composite")
            medians = compare({
                "softmax_with_loss composite": lambda: softmax_with_loss_call(x, t, False),
                "softmax_with_loss fused": lambda: softmax_with_loss_call(x, t, True),
            }, repeats=repeats)
            rows += report(f"softmax_with_loss {case}", medians,
                           "softmax_with_loss composite")
    return rows


if __name__ == "__main__":
    run()
