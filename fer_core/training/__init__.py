"""Training: the config, augmentation and mixing, callbacks, run folders and resume, the trainer, background jobs."""
