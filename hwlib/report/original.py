"""The original report's printed numbers and readings, as its text gives them (``shared/brief/original-report.md``),
and apart, the numbers of other groups the book sets beside them; all on real EMNIST Letters with the course's split.
Nothing else in hwlib types a number of the report.
"""
from __future__ import annotations

# ---------------------------------------------------------------- Question 1
# For 1.1 and 1.2(a) the report prints only the test accuracy of the best-validation checkpoint.
Q1 = {
    "perceptron": {"test_acc": 0.611},
    "logreg": {"test_acc": 0.696},
    "mlp": {"best_dev_acc": 0.878, "best_epoch": 20, "test_acc": 0.878},
}
Q1_OTHER_GROUPS = {   # other groups' reports (the same course code, seed 42)
    "perceptron": {"best_dev_acc": 0.6127, "best_epoch": 6, "test_acc": 0.6111},
    "logreg": {"best_dev_acc": 0.697, "best_epoch": 20, "test_acc": 0.6975},
}
# 1.2(c): best validation accuracy per (features, lr, ℓ2); "maxpool2" is its 2×2 max pooling. All twelve
# settings are in its table (a fragment repeated after a page break is a text-extraction artefact).
Q1_GRID = {("raw", 1e-4, 1e-5): 0.6940, ("raw", 1e-4, 1e-4): 0.6951,
           ("raw", 1e-3, 1e-5): 0.7192, ("raw", 1e-3, 1e-4): 0.7195,
           ("raw", 1e-2, 1e-5): 0.6992, ("raw", 1e-2, 1e-4): 0.6948,
           ("maxpool2", 1e-4, 1e-5): 0.6668, ("maxpool2", 1e-4, 1e-4): 0.6680,
           ("maxpool2", 1e-3, 1e-5): 0.7091, ("maxpool2", 1e-3, 1e-4): 0.7095,
           ("maxpool2", 1e-2, 1e-5): 0.7086, ("maxpool2", 1e-2, 1e-4): 0.7067}
Q1_GRID_BEST_TEST = 0.721
Q1_FEATURE_TIMES_S = {"raw": 80, "maxpool2": 35}   # "~1 min 20 s → ~35 s" of training
Q1_POOLING_LOSS = "little accuracy lost"           # its words for what max pooling gives up

# ---------------------------------------------------------------- Question 2
Q2_SETTINGS = {"optimizer": "Adam", "activation": "relu", "epochs": 30, "batch": 64}   # every Q2 run
Q2_WIDTH = {  # width: the best run of that width (Adam, relu, 30 epochs, batch 64)
    16: {"lr": 1e-3, "dropout": 0.0, "l2": 1e-4, "dev": 0.781, "train": 0.793, "test": 0.784},
    32: {"lr": 1e-3, "dropout": 0.0, "l2": 1e-4, "dev": 0.844, "train": 0.864, "test": 0.845},
    64: {"lr": 1e-3, "dropout": 0.0, "l2": 1e-4, "dev": 0.881, "train": 0.909, "test": 0.880},
    128: {"lr": 1e-3, "dropout": 0.0, "l2": 1e-4, "dev": 0.898, "train": 0.938, "test": 0.896},
    256: {"lr": 3e-4, "dropout": 0.2, "l2": 0.0, "dev": 0.909, "train": 0.949, "test": 0.908},
}
Q2_DEPTH_HPARAMS = {"lr": 3e-4, "dropout": 0.2, "l2": 0.0}   # what its depth study used
Q2_DEPTH = {  # width 32
    1: {"dev": 0.817, "train": 0.828, "test": 0.818},
    3: {"dev": 0.792, "train": 0.803, "test": 0.793},
    5: {"dev": 0.717, "train": 0.725, "test": 0.718},
    7: {"dev": 0.630, "train": 0.637, "test": 0.635},
    9: {"dev": 0.524, "train": 0.533, "test": 0.528},
}
Q2_DEPTH_OTHER_GROUP = {1: 0.845, 3: 0.868, 5: 0.866, 7: 0.841, 9: 0.804}   # another group: dev, Adam lr 1e-3

# The report's readings, in its words (its "Report's reading" sentences).
READINGS = {
    "q2.saturation": "Validation accuracy rises quickly up to ~128 units, then saturates.",
    "q2.train_width": "Training accuracy keeps rising toward 1 with width.",
    "q2.dropout": "Dropout helps at the widest setting.",
    "q2.depth": "Accuracy falls with depth (vanishing gradients, no normalisation or residuals).",
}
