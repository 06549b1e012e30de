"""Faces to probabilities (batches, flip averaging, temperature) and the metrics of a model: accuracy, F1, ECE, NLL."""
