"""Numbers fixed by the dataset and the course, named once.

EMNIST Letters: 28×28 grayscale images of 26 letter classes (a = 0 … z = 25). The course's loader
divides pixel values (0..255) by 256, so every pixel becomes a multiple of 1/256 in [0, 1).
"""
import string

LETTERS = string.ascii_lowercase          # class k is LETTERS[k]
N_CLASSES = len(LETTERS)                  # 26
IMAGE_SIDE = 28
N_PIXELS = IMAGE_SIDE * IMAGE_SIDE        # 784
PIXEL_SCALE = 256.0                       # x = pixel / PIXEL_SCALE (the course's scaling)
SEED = 42                                 # the course seeds Python, numpy and torch with 42
