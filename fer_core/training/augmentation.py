"""Augmentation: the Keras layers that vary each training face (identity at inference)."""

from __future__ import annotations

from fer_core.training.config import TrainConfig


def augmentation_layers(config: TrainConfig, seed: int) -> list:
    """Keras preprocessing layers that augment during training only (identity at inference)."""
    from keras import layers

    if not config.augment:
        return []
    augment = []
    if config.flip:
        augment.append(layers.RandomFlip("horizontal", seed=seed, name="aug_flip"))
    if config.resampling == "single" and (config.rotation_degrees or config.shift or config.zoom):
        from fer_core.nets.affine import RandomAffine

        augment.append(RandomAffine(config.rotation_degrees, config.shift, config.zoom, fill_mode=config.fill_mode,
                                    seed=seed, name="aug_affine"))
    elif config.resampling == "sequential":
        if config.rotation_degrees:
            augment.append(layers.RandomRotation(config.rotation_degrees / 360, fill_mode=config.fill_mode, seed=seed,
                                                 name="aug_rotate"))
        if config.shift:
            augment.append(layers.RandomTranslation(config.shift, config.shift, fill_mode=config.fill_mode, seed=seed,
                                                    name="aug_shift"))
        if config.zoom:
            augment.append(layers.RandomZoom(config.zoom, fill_mode=config.fill_mode, seed=seed, name="aug_zoom"))
    if config.erasing:
        augment.append(layers.RandomErasing(factor=config.erasing, scale=(0.02, 0.15), seed=seed,
                                            name="aug_erase"))
    return augment
