"""hwlib — the code behind the executable edition of Deep Learning Homework 1.

Modules (one idea each):
  data, emnist, synthetic   datasets: loading, the official EMNIST path, the synthetic default
  results                   recorded results with provenance (atomic JSON under results/)
  experiments, cli          the experiment registry and ``python -m hwlib``
  book, dataviz, sphinxext  helpers for chapters, data pictures, the offline HTML build
  Q1: linear, mlp, train, features, q1
  Q2: ffn, batched, q2
  Q3: maps, maps_torch, symbolic, sliders, q3_claims
"""

__version__ = "0.1.0"
