"""Why the model decided: gradient-weighted class activation maps on the Keras 3 API.

The model is split at a convolutional layer into ``features`` (face -> feature maps A) and
``head`` (A -> class scores before the softmax). The score explained is log p(c): evidence for
c *against* the other classes, so a class recognised by the absence of another's pattern still
gets a map. The heat map for class c is
ReLU(sum_k G_k * A_k) with G = d score_c / d A taken element-wise (HiResCAM, Draelos & Carin,
2020). For the registry's global-average-pooling heads G is constant over space, so this is
exactly Grad-CAM (Selvaraju et al., 2017), which averages G first; for flatten heads (seed_cnn,
tiny_cnn) averaging would blur away where the evidence is, and the element-wise form keeps it.
Only taking the gradient needs the backend (TensorFlow, JAX or PyTorch); the rest is Keras.
"""

from __future__ import annotations

import cv2
import numpy as np

from fer_core.geometry import IMAGE_SIZE
from fer_core.labels import EMOTIONS

MIN_MAP_SIDE = 6  # prefer the last feature map at least this wide: 3 x 3 maps are too coarse to read


def target_layer(model, min_side: int = MIN_MAP_SIDE):
    """The layer whose feature maps Grad-CAM uses: the last 4-D output at least ``min_side``
    wide (or the last 4-D output of all when none is that wide)."""
    spatial = [layer for layer in model.layers[1:] if len(getattr(layer, "output", None).shape or ()) == 4]
    if not spatial:
        raise ValueError(f"{model.name} has no convolutional feature maps to explain")
    wide = [layer for layer in spatial if min(layer.output.shape[1:3]) >= min_side]
    return (wide or spatial)[-1]


class GradCAM:
    """Heat maps for a Keras model with a final softmax Dense layer (every registry architecture)."""

    def __init__(self, model, layer_name: str | None = None):
        import keras

        layer = model.get_layer(layer_name) if layer_name else target_layer(model)
        last = model.layers[-1]
        self.layer_name = layer.name
        self.features = keras.Model(model.input, layer.output, name="gradcam_features")
        self.head = keras.Model(layer.output, last.input, name="gradcam_head")  # the sub-graph from the maps to the last Dense input
        self.kernel, self.bias = last.kernel, last.bias

    def _scores(self, maps, class_index: int):
        from keras import ops

        hidden = self.head(maps, training=False)
        logits = ops.matmul(ops.cast(hidden, "float32"), ops.cast(self.kernel, "float32"))
        if self.bias is not None:
            logits = logits + ops.cast(self.bias, "float32")
        return ops.sum(ops.log_softmax(logits)[:, class_index])

    def _gradients(self, maps, class_index: int) -> np.ndarray:
        import keras

        backend = keras.backend.backend()
        if backend == "tensorflow":
            import tensorflow as tf

            maps = tf.convert_to_tensor(maps)
            with tf.GradientTape() as tape:
                tape.watch(maps)
                score = self._scores(maps, class_index)
            return np.asarray(tape.gradient(score, maps))
        if backend == "jax":
            import jax

            return np.asarray(jax.grad(lambda m: self._scores(m, class_index))(maps))
        if backend == "torch":
            import torch

            maps = torch.as_tensor(np.asarray(maps)).requires_grad_(True)
            self._scores(maps, class_index).backward()
            return maps.grad.detach().cpu().numpy()
        raise RuntimeError(f"Grad-CAM needs gradients; the {backend} backend is not supported")

    def heatmap(self, face: np.ndarray, class_index: int) -> np.ndarray:
        """A 48 x 48 float map in 0..1 for one uint8 48 x 48 face and a class index."""
        x = np.asarray(face, np.float32).reshape(1, IMAGE_SIZE, IMAGE_SIZE, 1)
        maps = np.asarray(self.features(x, training=False), np.float32)
        gradients = self._gradients(maps, class_index)[0]
        cam = np.maximum((maps[0] * gradients).sum(axis=-1), 0.0)
        cam = cv2.resize(cam, (IMAGE_SIZE, IMAGE_SIZE), interpolation=cv2.INTER_LINEAR)
        top = float(cam.max())
        return cam / top if top > 0 else cam


class EnsembleGradCAM:
    """Grad-CAM for an ensemble: the mean of its members' maps, each scaled to 0..1 first, so every
    member's evidence counts as much as its vote does."""

    def __init__(self, members: list):
        self.cams = [GradCAM(member) for member in members]
        self.layer_name = ", ".join(f"{member.name}/{cam.layer_name}" for member, cam in zip(members, self.cams))

    def heatmap(self, face: np.ndarray, class_index: int) -> np.ndarray:
        """A 48 x 48 float map in 0..1 for one uint8 48 x 48 face and a class index."""
        mean = np.mean([cam.heatmap(face, class_index) for cam in self.cams], axis=0)
        top = float(mean.max())
        return mean / top if top > 0 else mean


def explainer_for(model) -> GradCAM | EnsembleGradCAM:
    """The Grad-CAM explainer that fits ``model``: one network, or an ensemble of them."""
    from fer_core.nets.graph import ensemble_members

    members = ensemble_members(model)
    return EnsembleGradCAM(members) if members else GradCAM(model)


def class_index(name: str) -> int:
    """The index of an emotion name; ValueError lists the names."""
    if name not in EMOTIONS:
        raise ValueError(f"unknown class {name!r}; choose one of {', '.join(EMOTIONS)}")
    return EMOTIONS.index(name)
