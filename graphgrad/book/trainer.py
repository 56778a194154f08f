"""The book's training driver (ch6, ``common/trainer.py``)."""
import numpy as np

from ..optim import SGD, AdaGrad, Adam, Momentum, Nesterov, RMSprop

OPTIMIZERS = {cls.__name__.lower(): cls
              for cls in (SGD, Momentum, Nesterov, AdaGrad, RMSprop, Adam)}


class Trainer:
    """Train ``network`` on random mini-batches for ``epochs`` passes over ``x_train``.

    ``network`` has the book's API (``params``, ``gradient``, ``loss``, ``accuracy``:
    a ``graphgrad.models`` network, or the book's own). ``optimizer`` is a name
    (case ignored: SGD, Momentum, Nesterov, AdaGrad, RMSprop, Adam) made with
    ``optimizer_param``. Each step draws ``mini_batch_size`` samples with
    replacement (``np.random.choice``), updates the parameters and appends the
    batch's loss after the update to ``train_loss_list``. At the start of each epoch
    (every train_size / mini_batch_size steps) the accuracies on the first
    ``evaluate_sample_num_per_epoch`` samples (all when None) of the training and
    test sets are appended to ``train_acc_list`` and ``test_acc_list``. ``verbose``
    prints them as the book does.
    """

    def __init__(self, network, x_train, t_train, x_test, t_test, epochs=20,
                 mini_batch_size=100, optimizer='SGD', optimizer_param={'lr': 0.01},
                 evaluate_sample_num_per_epoch=None, verbose=True):
        self.network, self.verbose = network, verbose
        self.x_train, self.t_train, self.x_test, self.t_test = x_train, t_train, x_test, t_test
        self.epochs, self.batch_size = epochs, mini_batch_size
        self.evaluate_sample_num_per_epoch = evaluate_sample_num_per_epoch
        self.optimizer = _optimizer(optimizer, optimizer_param)
        self.train_size = x_train.shape[0]
        self.iter_per_epoch = max(self.train_size / mini_batch_size, 1)
        self.max_iter = int(epochs * self.iter_per_epoch)
        self.current_iter = self.current_epoch = 0
        self.train_loss_list, self.train_acc_list, self.test_acc_list = [], [], []

    def train_step(self):
        """One mini-batch step; at the start of an epoch, the accuracies too."""
        batch_mask = np.random.choice(self.train_size, self.batch_size)
        x_batch, t_batch = self.x_train[batch_mask], self.t_train[batch_mask]
        grads = self.network.gradient(x_batch, t_batch)
        self.optimizer.update(self.network.params, grads)
        loss = self.network.loss(x_batch, t_batch)
        self.train_loss_list.append(loss)
        if self.verbose:
            print(f"train loss:{loss}")
        if self.current_iter % self.iter_per_epoch == 0:
            self.evaluate()
        self.current_iter += 1

    def evaluate(self):
        """Start the next epoch: record (and print) the training and test accuracy."""
        self.current_epoch += 1
        n = self.evaluate_sample_num_per_epoch  # None: every sample
        train_acc = self.network.accuracy(self.x_train[:n], self.t_train[:n])
        test_acc = self.network.accuracy(self.x_test[:n], self.t_test[:n])
        self.train_acc_list.append(train_acc)
        self.test_acc_list.append(test_acc)
        if self.verbose:
            print(f"=== epoch:{self.current_epoch}, train acc:{train_acc}, "
                  f"test acc:{test_acc} ===")

    def train(self):
        """Run every step (epochs × train_size / mini_batch_size), then print the
        accuracy on the whole test set."""
        for _ in range(self.max_iter):
            self.train_step()
        test_acc = self.network.accuracy(self.x_test, self.t_test)
        if self.verbose:
            print("=============== Final Test Accuracy ===============")
            print(f"test acc:{test_acc}")


def _optimizer(name, params):
    """The optimizer called ``name`` (any case), made with ``params``."""
    try:
        return OPTIMIZERS[name.lower()](**params)
    except KeyError:
        raise ValueError(f"Trainer: unknown optimizer {name!r}; choose one of "
                         f"{', '.join(cls.__name__ for cls in OPTIMIZERS.values())}") from None
