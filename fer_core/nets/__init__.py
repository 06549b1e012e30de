"""The networks: the architecture registry and builders, their layers (input blur, affine augmentation) and graph helpers."""
