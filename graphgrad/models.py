"""The DLFS networks on graphgrad layers: TwoLayerNet (ch4–5), SimpleConvNet (ch7),
MultiLayerNet (ch6's MultiLayerNetExtend: any depth, BatchNorm, Dropout, weight
decay) and DeepConvNet (ch8).

A model keeps ``params`` (key → numpy array, the DLFS keys) and ``layers`` (name →
layer, in order) that hold *the same arrays*: an optimizer's in-place update of
``params`` trains the layers. ``gradient`` records the loss graph once and runs one
reverse sweep; the input batch is a constant, so no ∂L/∂x is ever computed.
"""
from collections import OrderedDict
from contextlib import contextmanager

import numpy as np

from . import functions as F
from .autograd import grad
from .backend import device_of, get_namespace, is_array, to_device, to_numpy
from .nn import Affine, BatchNormalization, Convolution, Dropout, Pooling, Relu, Sigmoid
from .nn import SoftmaxWithLoss
from .nodes.conv import output_size as conv_output_size
from .recording import no_grad
from .serialization import load_params, save_params
from .tensor import Tensor, tensor
from .testing import numerical_gradient


class Network:
    """The DLFS model API over ``self.params``, ``self.layers`` and ``self.last_layer``
    (also by the book's name, ``lastLayer``).

    x: a batch of inputs (numpy, N first); t: integer labels (N,) or one-hot (N, K).
    Inputs are copied to the model's ``device`` (see ``to``) as they come.
    """

    @property
    def device(self):
        """Where the parameters live: "cpu" (numpy), "cuda" (CuPy), …"""
        return device_of(next(iter(self.params.values())))

    def to(self, device):
        """Move the parameters to ``device`` and return the model.

        ``params`` keeps its keys and the layers are given the moved arrays, so they
        still share them (and an optimizer still trains the layers); the layers'
        other arrays (BatchNormalization's running statistics) move too. Make the
        optimizer's first update after the move (its state copies the parameters).
        """
        moved = {}  # id(array) -> the array on ``device``: shared arrays stay shared

        def move(value):
            if id(value) not in moved:
                moved[id(value)] = to_device(value, device)
            return moved[id(value)]

        for key, value in self.params.items():
            self.params[key] = move(value)
        for layer in [*self.layers.values(), self.last_layer]:
            for name, value in vars(layer).items():
                if is_array(value) and not isinstance(value, np.generic):
                    setattr(layer, name, move(value))
        return self

    @property
    def lastLayer(self):
        """The book's name for ``last_layer``."""
        return self.last_layer

    @lastLayer.setter
    def lastLayer(self, layer):
        self.last_layer = layer

    @property
    def dtype(self):
        """The parameters' float dtype (float64 unless the model was made with another)."""
        return next(iter(self.params.values())).dtype

    def _on_device(self, value):
        """An input (array, labels, Tensor) on the model's device."""
        device = self.device
        return value.to(device) if isinstance(value, Tensor) else to_device(value, device)

    def name_layers(self):
        """Name each layer after its key in ``layers`` (``Affine1``: the scope its
        graph records in) and its parameters' leaves after their keys in ``params``
        (``W1``, ``b1``), so that drawings and errors use the model's own names. The
        models call it at the end of ``__init__``; a network built by hand calls it
        once its ``params`` and ``layers`` are filled."""
        keys = {id(value): key for key, value in self.params.items()}
        for name, layer in self.layers.items():
            layer.name = name
            layer.param_labels = {param: keys[id(getattr(layer, param))]
                                  for param in layer.param_names
                                  if id(getattr(layer, param)) in keys}

    def _as_input(self, x):
        """A batch on the model's device, a float array in the parameters' dtype:
        float32 end to end in a float32 model; in a float64 one the same numbers
        numpy's promotion would give. A tensor is cast by a node (``Cast``), so a
        compiled step or an ONNX export, which hand the model tensors, casts too."""
        x = self._on_device(x)
        if not get_namespace(x._data if isinstance(x, Tensor) else x).isdtype(
                x.dtype, "real floating"):
            return x
        if isinstance(x, Tensor):
            return x.astype(self.dtype, copy=False)
        return get_namespace(x).astype(x, self.dtype, copy=False)

    def scores(self, x, train_flg=False):
        """The graph of the last layer's output (N, K) for ``x``, a constant input."""
        x = self._as_input(x)
        out = x if isinstance(x, Tensor) else tensor(x, requires_grad=False, name="x")
        for layer in self.layers.values():
            out = layer(out, train_flg=train_flg) if layer.uses_train_flg else layer(out)
        return out

    def loss_graph(self, x, t, train_flg=False):
        """The graph of the loss: SoftmaxWithLoss of the scores."""
        return self.last_layer(self.scores(x, train_flg), self._on_device(t))

    def predict(self, x, train_flg=False):
        """Scores (N, K) as an array of the model's device (numpy on the CPU;
        nothing recorded)."""
        with no_grad():
            return self.scores(x, train_flg).data

    def loss(self, x, t, train_flg=False):
        """The loss as a float (nothing recorded)."""
        with no_grad():
            return float(self.loss_graph(x, t, train_flg).data)

    def accuracy(self, x, t, batch_size=100):
        """The fraction of samples whose highest score is the label, in batches."""
        t = to_numpy(t)
        labels = t if np.ndim(t) == 1 else np.argmax(t, axis=1)
        hits = 0
        for i in range(0, len(x), batch_size):
            scores = to_numpy(self.predict(x[i:i + batch_size]))
            hits += int(np.sum(scores.argmax(axis=1) == labels[i:i + batch_size]))
        return hits / len(x)

    def gradient(self, x, t):
        """∂loss/∂params by backprop: a dict of arrays (the model's device) keyed
        like ``params``."""
        return self.loss_and_gradient(x, t)[1]

    def loss_and_gradient(self, x, t):
        """(loss, gradient) from one forward and one backward pass (training mode).

        The layers keep the gradients too, where the book's ``gradient`` reads them
        (``layers['Affine1'].dW`` is ``grads['W1']``): taken from the same sweep.
        """
        loss = self.loss_graph(x, t, train_flg=True)
        leaves = self._param_leaves()
        grads = dict(zip(leaves, (g.data for g in grad(loss, list(leaves.values())))))
        by_leaf = {leaves[key]: value for key, value in grads.items()}
        for layer in self.layers.values():
            layer.keep_grads(by_leaf)
        return float(loss.data), grads

    def numerical_gradient(self, x, t):
        """∂loss/∂params by central differences (slow; for checking ``gradient``).

        The loss is taken in training mode, every time from the state the model had
        at the call: Dropout draws the same masks each time (its random state is put
        back before each loss), BatchNormalization uses the batch statistics. On
        return the running statistics and the random state are as they were, so
        ``gradient(x, t)`` called next draws the same masks and agrees with the
        result (the DLFS order: numerical first; else reseed between the two).
        """
        with self._training_state_kept() as reset:
            def f(_):
                reset()
                return self.loss(x, t, train_flg=True)

            return {key: numerical_gradient(f, value) for key, value in self.params.items()}

    @contextmanager
    def _training_state_kept(self):
        """Yield ``reset``, which puts back what training-mode calls change outside
        the graph (the layers' ``training_state``); it runs again on leaving."""
        saved = [(layer, layer.training_state()) for layer in self.layers.values()]

        def reset():
            for layer, state in saved:
                layer.restore_training_state(state)

        try:
            yield reset
        finally:
            reset()

    def save_params(self, file_name="params.npz"):
        """Write ``params`` (as numpy arrays) atomically, in the format the suffix names,
        and return the path written:

        ```python
        net.save_params("params.npz")  # -> "params.npz"
        net.save_params("weights")     # -> "weights.npz": no suffix, .npz added
        net.save_params("params.pkl")  # -> "params.pkl": the DLFS pickle (or .pickle)
        ```

        The pickle is what the book's ``save_params`` writes: its ``load_params`` reads
        it. Another suffix raises ValueError and writes nothing.
        """
        return save_params(file_name, {key: to_numpy(value) for key, value in self.params.items()})

    def load_params(self, file_name="params.npz"):
        """Read .npz, or a DLFS pickle (restricted: numpy arrays only), into ``params``;
        any name ``save_params`` takes ("weights" reads "weights.npz").

        Values are copied into the existing arrays, so the layers see them. The file
        must hold exactly the model's keys with the model's shapes, as real numbers
        (floats of any width, integers and booleans go into float parameters; complex
        ones would lose their imaginary part), else ValueError, and nothing is changed.
        """
        loaded = load_params(file_name)
        missing, extra = self.params.keys() - loaded.keys(), loaded.keys() - self.params.keys()
        if missing or extra:
            raise ValueError(f"{file_name}: parameter keys do not match the model: "
                             f"missing {sorted(missing)}, unexpected {sorted(extra)}")
        for key, value in loaded.items():
            if value.shape != self.params[key].shape:
                raise ValueError(f"{file_name}: parameter {key!r} has shape {value.shape}, "
                                 f"the model's has {self.params[key].shape}")
            param = self.params[key]
            if value.dtype.kind == "c" and not get_namespace(param).isdtype(
                    param.dtype, "complex floating"):
                raise ValueError(f"{file_name}: parameter {key!r} is {value.dtype}, which the "
                                 f"model's {param.dtype} cannot hold")
        for key, value in loaded.items():
            param = self.params[key]
            xp = get_namespace(param)  # cast there: not every library's assignment casts
            param[...] = xp.astype(to_device(value, self.device), param.dtype, copy=False)

    def _param_leaves(self):
        """The leaf tensor wrapping each ``params`` array in the latest graph."""
        by_array = {id(leaf.data): leaf for layer in self.layers.values()
                    for leaf in getattr(layer, "leaves", {}).values()}
        for key, value in self.params.items():
            if id(value) not in by_array:
                raise RuntimeError(
                    f"params[{key!r}] is not an array the layers use; update parameters "
                    f"in place (params[key][...] = new) rather than rebinding them")
        return {key: by_array[id(value)] for key, value in self.params.items()}


class TwoLayerNet(Network):
    """Affine1 → Relu1 → Affine2 → SoftmaxWithLoss;  W1: (input, hidden),
    W2: (hidden, output), weights ~ weight_init_std · N(0, 1), biases 0."""

    def __init__(self, input_size, hidden_size, output_size, weight_init_std=0.01):
        self.params = {
            "W1": weight_init_std * np.random.randn(input_size, hidden_size),
            "b1": np.zeros(hidden_size),
            "W2": weight_init_std * np.random.randn(hidden_size, output_size),
            "b2": np.zeros(output_size),
        }
        p = self.params
        self.layers = OrderedDict(
            Affine1=Affine(p["W1"], p["b1"]), Relu1=Relu(), Affine2=Affine(p["W2"], p["b2"]))
        self.last_layer = SoftmaxWithLoss()
        self.name_layers()


class SimpleConvNet(Network):
    """Conv1 → Relu1 → Pool1 (2×2, stride 2) → Affine1 → Relu2 → Affine2 →
    SoftmaxWithLoss, on images of shape ``input_dim`` = (C, H, W).

    W1: (filter_num, C, filter_size, filter_size), W2: (pooled size, hidden_size),
    W3: (hidden_size, output_size); weights ~ weight_init_std · N(0, 1), biases 0.
    ``dtype``: the parameters' float dtype (DLFS: float64); inputs are cast to it, so
    ``dtype=np.float32`` computes in float32 end to end (from the same random draws).
    """

    def __init__(self, input_dim=(1, 28, 28),
                 conv_param={'filter_num': 30, 'filter_size': 5, 'pad': 0, 'stride': 1},
                 hidden_size=100, output_size=10, weight_init_std=0.01, dtype=np.float64):
        filter_num, filter_size = conv_param["filter_num"], conv_param["filter_size"]
        pad, stride = conv_param["pad"], conv_param["stride"]
        channels, height, width = input_dim
        conv_h = conv_output_size(height, filter_size, stride, pad)
        conv_w = conv_output_size(width, filter_size, stride, pad)
        pool_size = filter_num * (conv_h // 2) * (conv_w // 2)
        std, randn = weight_init_std, np.random.randn
        params = {
            "W1": std * randn(filter_num, channels, filter_size, filter_size),
            "b1": np.zeros(filter_num),
            "W2": std * randn(pool_size, hidden_size),
            "b2": np.zeros(hidden_size),
            "W3": std * randn(hidden_size, output_size),
            "b3": np.zeros(output_size),
        }
        self.params = {key: value.astype(dtype, copy=False) for key, value in params.items()}
        p = self.params
        self.layers = OrderedDict(
            Conv1=Convolution(p["W1"], p["b1"], stride, pad), Relu1=Relu(),
            Pool1=Pooling(pool_h=2, pool_w=2, stride=2), Affine1=Affine(p["W2"], p["b2"]),
            Relu2=Relu(), Affine2=Affine(p["W3"], p["b3"]))
        self.last_layer = SoftmaxWithLoss()
        self.name_layers()

DEEP_CONV_PARAMS = tuple(  # DeepConvNet's six 3×3 convolutions (the fourth pads by 2)
    {"filter_num": n, "filter_size": 3, "pad": pad, "stride": 1}
    for n, pad in ((16, 1), (16, 1), (32, 1), (32, 2), (64, 1), (64, 1)))


class DeepConvNet(Network):
    """DLFS ch8's network: (Conv → Relu → Conv → Relu → Pool) three times, then
    Affine → Relu → Dropout → Affine → Dropout → SoftmaxWithLoss; pools 2×2, stride 2.

    Keys W1…W6, b1…b6 (the convolutions), W7, b7, W8, b8 (the affine layers), as in
    the book, whose trained pickle ``load_params`` reads. Weights are He-initialised,
    W ~ √(2 / fan_in) · N(0, 1), fan_in the inputs of one output (C·k·k for a
    convolution): the book's scales on 28 × 28 images of one channel. The first
    Affine takes the flattened output of the last pool, 64·4·4 on those images;
    computed here for any ``input_dim``.

    As the book's, ``loss(x, t)`` is the training loss: its Dropout layers draw new
    masks (from ``np.random``) unless ``train_flg=False``.
    """

    def __init__(self, input_dim=(1, 28, 28), conv_param_1=DEEP_CONV_PARAMS[0],
                 conv_param_2=DEEP_CONV_PARAMS[1], conv_param_3=DEEP_CONV_PARAMS[2],
                 conv_param_4=DEEP_CONV_PARAMS[3], conv_param_5=DEEP_CONV_PARAMS[4],
                 conv_param_6=DEEP_CONV_PARAMS[5], hidden_size=50, output_size=10):
        convs = (conv_param_1, conv_param_2, conv_param_3, conv_param_4, conv_param_5,
                 conv_param_6)
        channels, height, width = input_dim
        self.params, self.layers = {}, OrderedDict()
        for i, conv in enumerate(convs, start=1):
            size, n = conv["filter_size"], conv["filter_num"]
            self.params[f"W{i}"] = _init_scale("he", channels * size * size) * np.random.randn(
                n, channels, size, size)
            self.params[f"b{i}"] = np.zeros(n)
            self.layers[f"Conv{i}"] = Convolution(self.params[f"W{i}"], self.params[f"b{i}"],
                                                  conv["stride"], conv["pad"])
            self.layers[f"Relu{i}"] = Relu()
            channels, height, width = n, *(conv_output_size(d, size, conv["stride"], conv["pad"])
                                           for d in (height, width))
            if i % 2 == 0:
                self.layers[f"Pool{i // 2}"] = Pooling(pool_h=2, pool_w=2, stride=2)
                height, width = conv_output_size(height, 2, 2, 0), conv_output_size(width, 2, 2, 0)
        for i, (n_in, n_out) in enumerate(((channels * height * width, hidden_size),
                                           (hidden_size, output_size)), start=7):
            self.params[f"W{i}"] = _init_scale("he", n_in) * np.random.randn(n_in, n_out)
            self.params[f"b{i}"] = np.zeros(n_out)
            self.layers[f"Affine{i - 6}"] = Affine(self.params[f"W{i}"], self.params[f"b{i}"])
            if i == 7:
                self.layers["Relu7"] = Relu()
            self.layers[f"Dropout{i - 6}"] = Dropout(0.5)
        self.last_layer = SoftmaxWithLoss()
        self.name_layers()

    def loss(self, x, t, train_flg=True):
        """The loss as a float (nothing recorded), in training mode unless
        ``train_flg=False``: the book's ``loss`` runs ``predict(x, train_flg=True)``."""
        return super().loss(x, t, train_flg)


class MultiLayerNet(Network):
    """Fully connected: (Affine → [BatchNorm] → activation → [Dropout]) per hidden
    layer, then Affine → SoftmaxWithLoss (DLFS's MultiLayerNetExtend).

    weight_init_std: a number, 'relu'/'he' (√(2/n_in)) or 'sigmoid'/'xavier'
    (√(1/n_in)). The loss adds ½ λ Σᵢ ‖Wᵢ‖² (λ = weight_decay_lambda), so the
    gradients include λ Wᵢ. Keys: W1, b1, …, and gamma1, beta1, … with BatchNorm.
    """

    activations = {"relu": Relu, "sigmoid": Sigmoid}

    def __init__(self, input_size, hidden_size_list, output_size, activation="relu",
                 weight_init_std="relu", weight_decay_lambda=0, use_dropout=False,
                 dropout_ration=0.5, use_batchnorm=False):
        sizes = [input_size, *hidden_size_list, output_size]
        self.weight_decay_lambda = weight_decay_lambda
        self.params, self.layers = {}, OrderedDict()
        for i in range(1, len(sizes)):
            scale = _init_scale(weight_init_std, sizes[i - 1])
            self.params[f"W{i}"] = scale * np.random.randn(sizes[i - 1], sizes[i])
            self.params[f"b{i}"] = np.zeros(sizes[i])
            self.layers[f"Affine{i}"] = Affine(self.params[f"W{i}"], self.params[f"b{i}"])
            if i == len(sizes) - 1:
                break
            if use_batchnorm:
                self.params[f"gamma{i}"] = np.ones(sizes[i])
                self.params[f"beta{i}"] = np.zeros(sizes[i])
                self.layers[f"BatchNorm{i}"] = BatchNormalization(
                    self.params[f"gamma{i}"], self.params[f"beta{i}"])
            self.layers[f"Activation_function{i}"] = self.activations[activation]()
            if use_dropout:
                self.layers[f"Dropout{i}"] = Dropout(dropout_ration)
        self.last_layer = SoftmaxWithLoss()
        self.name_layers()

    def loss_graph(self, x, t, train_flg=False):
        """SoftmaxWithLoss of the scores + ½ λ Σᵢ Σ Wᵢ²."""
        loss = super().loss_graph(x, t, train_flg)
        if self.weight_decay_lambda:
            for layer in self.layers.values():
                if isinstance(layer, Affine):
                    W = layer.leaves["W"]
                    loss = loss + 0.5 * self.weight_decay_lambda * F.sum(W * W)
        return loss


def _init_scale(weight_init_std, fan_in):
    """The standard deviation of the initial weights of a layer with ``fan_in`` inputs."""
    kind = str(weight_init_std).lower()
    if kind in ("relu", "he"):
        return np.sqrt(2.0 / fan_in)
    if kind in ("sigmoid", "xavier"):
        return np.sqrt(1.0 / fan_in)
    return weight_init_std
