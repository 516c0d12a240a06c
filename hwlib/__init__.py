"""hwlib — the code behind the executable edition of Deep Learning Homework 1.

  models       the readable models the homework asks for (shown in the chapters)
  training     the one training protocol (fit, FitResult) for numpy and PyTorch models
  fast         speed paths, each proven equal to the readable code it reproduces
  data         EMNIST Letters in every official format, and the synthetic stand-in
  experiments  the registry, results store, CLI and the Q1/Q2 experiment definitions
  report       tables, figures and facts the chapters display
  theory       the Question 3 derivations in SymPy
  constants, errors, paths
"""

__version__ = "0.1.0"
