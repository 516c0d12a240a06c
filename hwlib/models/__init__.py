"""The readable models — the code the homework asks a student to write, shown in the chapters.

  common      softmax, cross-entropy, and the Classifier base (epoch, predict, evaluate, checkpoints)
  linear      Perceptron and LogisticRegression (Q1.1, Q1.2): per-sample updates in numpy
  mlp         MLP with hand-written forward and backward (backpropagation) (Q1.3)
  ffn         FFN, one training step, evaluation and fit in PyTorch (Q2.1)
  maps        softmax, sparsemax and relumax in numpy, with their Jacobians (Q3)
  maps_torch  the same maps as torch autograd Functions with explicit backward passes (Q3)

Compiled speed paths live in ``hwlib.fast``; tests prove them equal to these.
"""
from hwlib.models.ffn import FFN
from hwlib.models.linear import LogisticRegression, Perceptron
from hwlib.models.mlp import MLP

__all__ = ["FFN", "LogisticRegression", "MLP", "Perceptron"]
