"""Train TwoLayerNet, SimpleConvNet or DeepConvNet on MNIST or Fashion-MNIST, with a progress bar.

    graphgrad train --dataset fashion-mnist --model twolayer --iters 10000 --plot acc.png

Each step trains on a random mini-batch; after every epoch (one pass's worth of
batches) and at the end, the train and test accuracies are printed. ``--plot`` saves
accuracy per epoch and loss per iteration as an image, ``--save`` the weights as .npz.
``--device cuda`` trains on a GPU with CuPy (each batch is copied there as it comes).
"""
import argparse
import os
import sys

import numpy as np
from tqdm import tqdm

from ..backend import namespace_for
from ..datasets import load_fashion_mnist, load_mnist
from ..models import DeepConvNet, SimpleConvNet, TwoLayerNet
from ..optim import SGD, AdaGrad, Adam, Momentum, Nesterov, RMSprop
from ..serialization import atomic_writer

DATASETS = {"mnist": load_mnist, "fashion-mnist": load_fashion_mnist}
OPTIMIZERS = {"sgd": SGD, "momentum": Momentum, "nesterov": Nesterov, "adagrad": AdaGrad,
              "rmsprop": RMSprop, "adam": Adam}
MODELS = {"twolayer": TwoLayerNet, "convnet": SimpleConvNet, "deepconvnet": DeepConvNet}
PLOT_SUFFIXES = (".png", ".svg", ".pdf")


def add_parser(parser):
    parser.add_argument("--dataset", choices=DATASETS, default="mnist",
                        help="mnist (the shipped 10,000 images, split 8,000/2,000) or "
                             "fashion-mnist (60,000/10,000); default mnist")
    parser.add_argument("--model", choices=MODELS, default="twolayer",
                        help="TwoLayerNet 784-50-10, SimpleConvNet or DeepConvNet (the "
                             "book's ch8 net: slow on a CPU); default twolayer")
    parser.add_argument("--iters", type=_positive(int), default=10000,
                        help="training steps (default 10000)")
    parser.add_argument("--batch-size", type=_positive(int), default=100,
                        help="mini-batch size (default 100)")
    parser.add_argument("--lr", type=_positive(float), default=0.1,
                        help="learning rate (default 0.1)")
    parser.add_argument("--optimizer", choices=OPTIMIZERS, default="sgd",
                        help="default sgd")
    parser.add_argument("--plot", type=_suffixed(PLOT_SUFFIXES), metavar="PATH",
                        help="save an accuracy/loss plot (.png, .svg or .pdf)")
    parser.add_argument("--save", type=_suffixed((".npz",)), metavar="PATH",
                        help="save the trained weights (.npz)")
    parser.add_argument("--seed", type=int, default=0,
                        help="random seed for the weights and batches (default 0)")
    parser.add_argument("--data-dir", metavar="DIR",
                        help="directory of the IDX files (default: the dataset's own)")
    parser.add_argument("--device", default="cpu",
                        help="cpu (numpy, default) or cuda (CuPy on a GPU: pip install "
                             "'graphgrad[cuda]')")
    return parser


def run(args):
    np.random.seed(args.seed)
    try:
        namespace_for(args.device)  # an unknown device, or cuda without CuPy or a GPU
        train, test = DATASETS[args.dataset](flatten=args.model == "twolayer",
                                             path=args.data_dir)
    except (FileNotFoundError, ValueError) as error:
        print(f"graphgrad train: error: {error}", file=sys.stderr)
        return 2
    model = make_model(args.model, train[0].shape).to(args.device)
    optimizer = OPTIMIZERS[args.optimizer](lr=args.lr)
    history = fit(model, optimizer, train, test, args.iters, args.batch_size,
                  desc=f"{args.model} on {args.dataset}")
    print(f"final: loss {history['loss'][-1]:.6f}, train acc {history['train_acc'][-1]:.4f}, "
          f"test acc {history['test_acc'][-1]:.4f}")
    if args.plot:
        save_plot(history, args.plot)
        print(f"wrote {args.plot}")
    if args.save:
        model.save_params(args.save)
        print(f"wrote {args.save}")
    return 0


def make_model(name, input_shape):
    """TwoLayerNet(784, 50, 10) for flat inputs; SimpleConvNet or DeepConvNet for
    images (N, C, H, W)."""
    if name == "twolayer":
        return TwoLayerNet(input_size=input_shape[1], hidden_size=50, output_size=10)
    return MODELS[name](input_dim=input_shape[1:])


def fit(model, optimizer, train, test, iters, batch_size, desc="train"):
    """Train ``model`` for ``iters`` steps on random mini-batches of ``train``.

    ``train``, ``test``: (x, t) pairs. Accuracies are measured after every epoch
    (max(N / batch_size, 1) steps) and after the last step, and printed.
    Returns the history: ``loss`` per step; ``epoch``, ``train_acc``, ``test_acc``
    per measurement.
    """
    (x_train, t_train), (x_test, t_test) = train, test
    steps_per_epoch = max(len(x_train) // batch_size, 1)
    history = {"loss": [], "epoch": [], "train_acc": [], "test_acc": []}
    bar = tqdm(range(1, iters + 1), desc=desc, unit="it")
    for step in bar:
        batch = np.random.choice(len(x_train), batch_size)
        loss, grads = model.loss_and_gradient(x_train[batch], t_train[batch])
        optimizer.update(model.params, grads)
        history["loss"].append(loss)
        if step % steps_per_epoch == 0 or step == iters:
            _measure(model, history, step / steps_per_epoch, train, test)
        test_acc = history["test_acc"][-1] if history["test_acc"] else float("nan")
        bar.set_postfix(loss=f"{loss:.4f}", test_acc=f"{test_acc:.4f}", refresh=False)
    return history


def _measure(model, history, epoch, train, test):
    train_acc, test_acc = model.accuracy(*train), model.accuracy(*test)
    history["epoch"].append(epoch)
    history["train_acc"].append(train_acc)
    history["test_acc"].append(test_acc)
    tqdm.write(f"epoch {epoch:.3g}: train acc {train_acc:.4f}, test acc {test_acc:.4f}")


def save_plot(history, path):
    """Accuracy per epoch and loss per step, side by side; written atomically."""
    from matplotlib.figure import Figure  # no pyplot: no global backend state

    figure = Figure(figsize=(10, 4), layout="tight")
    acc, loss = figure.subplots(1, 2)
    acc.plot(history["epoch"], history["train_acc"], marker="o", label="train")
    acc.plot(history["epoch"], history["test_acc"], marker="s", label="test")
    acc.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    acc.legend()
    loss.plot(np.arange(1, len(history["loss"]) + 1), history["loss"], linewidth=0.5)
    loss.set(xlabel="iteration", ylabel="loss", title="training loss")
    with atomic_writer(path) as file:
        figure.savefig(file, format=os.path.splitext(path)[1][1:])


def _positive(kind):
    def parse(text):
        value = kind(text)
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be positive, got {text}")
        return value
    parse.__name__ = kind.__name__
    return parse


def _suffixed(suffixes):
    def parse(text):
        if os.path.splitext(text)[1].lower() not in suffixes:
            raise argparse.ArgumentTypeError(
                f"{text!r} must end with {' or '.join(suffixes)}")
        return text
    return parse
