"""Speed paths, each proven equal to the readable code it reproduces (a reader can skip this folder).

  sgd      compiled per-sample SGD epochs of the Q1 models (FastPerceptron, FastLogisticRegression,
           FastMLP), each a subclass of the readable model whose ``train_epoch`` it replaces
  batched  many Q2 networks of one shape trained as one model through ``training.fit`` (``fit_batched`` ≡ ``models.ffn.fit``)
  optim    the batched Adam / SGD (≡ ``torch.optim.Adam`` / ``SGD`` per network)
  kernels  the numba kernels and BLAS products those two use
"""
