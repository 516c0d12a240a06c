"""Speed paths, each proven equal to the readable code it reproduces (a reader can skip this folder):
  sgd      the Q1 models' per-sample SGD epochs compiled (FastPerceptron, FastLogisticRegression, FastMLP)
  batched  many Q2 networks of one shape trained as one model (``fit_batched`` ≡ ``models.ffn.fit``)
  optim    the batched Adam / SGD (≡ ``torch.optim.Adam`` / ``SGD`` per network)
  kernels  the numba kernels and BLAS products those two use
"""
