"""hwlib — the code behind the executable edition of Deep Learning Homework 1: ``models`` (the readable
models the chapters show), ``training``, ``fast`` (speed paths proven equal to the readable code),
``data``, ``experiments``, ``report`` (what the chapters display), ``theory`` (Question 3 in SymPy).
"""

__version__ = "0.1.0"
