"""Feed-forward classifiers in PyTorch (Question 2.1): the network, one training step, evaluation.

A net of depth L and width w maps a flattened image x ∈ R^784 (pixels / 256) to 26 logits:
    h_0 = x,   h_l = drop_p(φ(W_l h_{l-1} + b_l))  (l = 1..L),   z = W_out h_L + b_out,
with φ = relu or tanh and drop_p inverted dropout (zero each unit with probability p, scale the
rest by 1/(1-p); the identity in eval mode). Loss: mean cross-entropy −log softmax(z)_y.
ℓ2 enters as weight decay λ: the optimizer steps on g = ∇L + λθ, the gradient of L + (λ/2)‖θ‖²
(SGD: θ ← θ − ηg; Adam: the moments of that g — ``torch.optim.Adam(weight_decay=λ)``).

``fit`` trains one configuration with the book's one protocol (``hwlib.training.fit``): an
``nn.Module``, a ``torch.optim`` optimizer, mini-batches drawn by indexing tensors with a seeded
permutation (no DataLoader), train and dev loss/accuracy on the whole splits in eval mode before
training and after every epoch, the best-dev checkpoint. It runs on CUDA when available, else the
CPU. ``hwlib.fast.batched`` trains many configurations of one shape at once; the tests prove it
agrees with ``fit``.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from hwlib import training
from hwlib.constants import N_CLASSES, N_PIXELS, PIXEL_SCALE
from hwlib.errors import ConfigError

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh}
OPTIMIZERS = ("sgd", "adam")


@dataclass(frozen=True)
class FFNConfig:
    """One training configuration. Defaults are the course's (30 epochs, batch 64, width 32, one
    hidden layer, lr 1e-3, no ℓ2, no dropout, relu, SGD, seed 42)."""
    width: int = 32
    depth: int = 1
    activation: str = "relu"
    dropout: float = 0.0
    lr: float = 1e-3
    l2: float = 0.0
    optimizer: str = "sgd"
    epochs: int = 30
    batch_size: int = 64
    seed: int = 42

    def __post_init__(self):
        check_architecture(self.width, self.depth, self.activation, self.dropout)
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"unknown optimizer {self.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")
        if not (isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and self.lr > 0):
            raise ConfigError(f"learning rate must be a positive number, got lr={self.lr!r}")
        if not (isinstance(self.l2, (int, float)) and math.isfinite(self.l2) and self.l2 >= 0):
            raise ConfigError(f"ℓ2 (weight decay) must be a number ≥ 0, got l2={self.l2!r}")
        _check_int("epochs", self.epochs, 0)
        _check_int("batch_size", self.batch_size, 1)
        _check_int("seed", self.seed, 0)

    def to_dict(self) -> dict:
        return asdict(self)

    def replace(self, **changes) -> "FFNConfig":
        return replace(self, **changes)


def _check_int(name: str, value, lo: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < lo:
        raise ConfigError(f"{name} must be an integer ≥ {lo}, got {name}={value!r}")


def check_architecture(width, depth, activation, dropout) -> None:
    """Raise ConfigError naming the bad hyper-parameter and its valid range."""
    _check_int("width (units per hidden layer)", width, 1)
    _check_int("depth (number of hidden layers)", depth, 1)
    if activation not in ACTIVATIONS:
        raise ConfigError(f"unknown activation {activation!r}; choose one of {', '.join(ACTIVATIONS)}")
    if not (isinstance(dropout, (int, float)) and not isinstance(dropout, bool)
            and math.isfinite(dropout) and 0.0 <= dropout < 1.0):
        raise ConfigError(f"dropout is the probability of zeroing a unit and must lie in [0, 1), "
                          f"got dropout={dropout!r}")


class FFN(nn.Module):
    """``depth`` hidden layers of ``width`` units (Linear → activation → Dropout), then a Linear to
    the classes. Weights start with PyTorch's default Linear initialisation, U(±1/√fan_in)."""

    def __init__(self, n_features: int = N_PIXELS, n_classes: int = N_CLASSES, width: int = 32,
                 depth: int = 1, activation: str = "relu", dropout: float = 0.0):
        super().__init__()
        check_architecture(width, depth, activation, dropout)
        _check_int("n_features", n_features, 1)
        _check_int("n_classes", n_classes, 2)
        layers: list[nn.Module] = []
        fan_in = n_features
        for _ in range(depth):
            layers += [nn.Linear(fan_in, width), ACTIVATIONS[activation](), nn.Dropout(dropout)]
            fan_in = width
        layers.append(nn.Linear(fan_in, n_classes))
        self.layers = nn.Sequential(*layers)
        self.width, self.depth, self.activation, self.dropout = width, depth, activation, dropout
        self.n_features, self.n_classes = n_features, n_classes

    @classmethod
    def from_config(cls, cfg: FFNConfig, n_features: int = N_PIXELS, n_classes: int = N_CLASSES) -> "FFN":
        return cls(n_features, n_classes, cfg.width, cfg.depth, cfg.activation, cfg.dropout)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.layers(X)

    def linears(self) -> list[nn.Linear]:
        return [m for m in self.layers if isinstance(m, nn.Linear)]

    @property
    def n_params(self) -> int:
        return sum(p.numel() for p in self.parameters())


def n_params(width: int, depth: int, n_features: int = N_PIXELS, n_classes: int = N_CLASSES) -> int:
    """Weights + biases: (D+1)w + (L−1)(w+1)w + (w+1)C."""
    return (n_features + 1) * width + (depth - 1) * (width + 1) * width + (width + 1) * n_classes


def default_device() -> torch.device:
    """CUDA when available, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def as_tensors(split, device=None) -> tuple[torch.Tensor, torch.Tensor]:
    """(X, y) tensors on ``device``: X float32 (N, 784) = pixels / PIXEL_SCALE (the course's
    scaling, ``hwlib.data.course_view`` in float32), y int64. ``split`` is a ``Split`` or an (X, y) pair
    (X already features, used as given)."""
    device = torch.device(device) if device is not None else default_device()
    if isinstance(split, (tuple, list)):
        X, y = split
        X = torch.as_tensor(X, dtype=torch.float32)
        y = torch.as_tensor(y, dtype=torch.int64)
    else:
        Xu = torch.from_numpy(np.ascontiguousarray(split.X).reshape(len(split.y), -1))
        X = Xu.to(torch.float32).div_(PIXEL_SCALE)
        y = torch.as_tensor(split.y, dtype=torch.int64)
    if X.ndim != 2 or len(X) != len(y):
        raise ConfigError(f"expected X of shape (N, features) and N labels, got {tuple(X.shape)} and {len(y)}")
    return X.to(device), y.to(device)


def make_optimizer(model: nn.Module, cfg: FFNConfig) -> torch.optim.Optimizer:
    """SGD or Adam with weight decay = cfg.l2 (coupled: added to the gradient, i.e. an ℓ2 penalty)."""
    if cfg.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.l2)
    return torch.optim.SGD(model.parameters(), lr=cfg.lr, weight_decay=cfg.l2)


def train_step(model: nn.Module, X: torch.Tensor, y: torch.Tensor, optimizer: torch.optim.Optimizer) -> float:
    """One step on a mini-batch: forward in train mode, mean cross-entropy, backward, update."""
    model.train()
    optimizer.zero_grad(set_to_none=True)
    loss = F.cross_entropy(model(X), y)
    loss.backward()
    optimizer.step()
    return float(loss.detach())


@torch.no_grad()
def evaluate(model: nn.Module, X: torch.Tensor, y: torch.Tensor, chunk: int = 8192) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) of ``model`` in eval mode (no dropout) on all of (X, y)."""
    if len(y) == 0:
        raise ConfigError("cannot evaluate on an empty split")
    was_training = model.training
    model.eval()
    loss, correct = 0.0, 0
    for i in range(0, len(y), chunk):
        z = model(X[i:i + chunk])
        yc = y[i:i + chunk]
        loss += float(F.cross_entropy(z, yc, reduction="sum"))
        correct += int((z.argmax(1) == yc).sum())
    model.train(was_training)
    return loss / len(y), correct / len(y)


def permutations(n: int, seed: int):
    """The per-epoch shuffles: successive ``torch.randperm`` draws from a generator seeded ``seed``
    (on the CPU, so every device sees the same mini-batches)."""
    gen = torch.Generator().manual_seed(seed)
    while True:
        yield torch.randperm(n, generator=gen)


class Learner:
    """A network, its optimizer and a batch size, seen through the training protocol of
    ``hwlib.training.fit``: an epoch is ``train_step`` on consecutive slices of ``order``."""

    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer, batch_size: int):
        self.model, self.optimizer, self.batch_size = model, optimizer, batch_size

    def train_epoch(self, X: torch.Tensor, y: torch.Tensor, order: torch.Tensor) -> None:
        order = order.to(X.device)
        for i in range(0, len(order), self.batch_size):
            idx = order[i:i + self.batch_size]
            train_step(self.model, X[idx], y[idx], self.optimizer)

    def evaluate(self, X: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
        return evaluate(self.model, X, y)

    def state_dict(self) -> dict:
        return {k: v.detach().clone() for k, v in self.model.state_dict().items()}

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state)


def fit(cfg: FFNConfig, train, dev, test=None, *, device=None, progress: bool | None = None) -> training.FitResult:
    """Train one configuration with ``hwlib.training.fit``; ``train``/``dev``/``test`` are
    ``Split``s or (X, y) pairs. Seeding: ``torch.manual_seed(seed)`` before building the model
    (initial weights; dropout then draws from the same global stream) and a separate generator
    seeded ``seed`` for the shuffles."""
    device = torch.device(device) if device is not None else default_device()
    Xtr, ytr = as_tensors(train, device)
    torch.manual_seed(cfg.seed)
    model = FFN.from_config(cfg, Xtr.shape[1], N_CLASSES).to(device)
    learner = Learner(model, make_optimizer(model, cfg), cfg.batch_size)
    res = training.fit(learner, (Xtr, ytr), as_tensors(dev, device),
                       None if test is None else as_tensors(test, device), epochs=cfg.epochs,
                       shuffles=permutations(len(ytr), cfg.seed), config=cfg,
                       desc=f"width {cfg.width}, depth {cfg.depth}", progress=progress)
    res.state = {k: v.cpu() for k, v in res.state.items()}
    return res
