"""The Keras callbacks of a training run, one per module: progress, checkpoints, raw-weight scores."""
