"""Graph helpers: several networks as one Keras model (an ensemble), and the members back out of it."""

from __future__ import annotations

from fer_core.geometry import INPUT_SHAPE


def build_ensemble(members: list, name: str = "ensemble"):
    """One Keras model whose output is the mean of the ``members``' softmax outputs."""
    import keras
    from keras import layers

    inputs = keras.Input(shape=INPUT_SHAPE, name="face")
    for index, member in enumerate(members, start=1):
        member.name = f"member{index}_{member.name}"  # nested models need unique names
    outputs = layers.Average(name="probabilities")([member(inputs) for member in members])
    return keras.Model(inputs, outputs, name=name)


def ensemble_members(model) -> list:
    """The member models of an ensemble built by ``build_ensemble`` ([] for a single network)."""
    import keras

    if not model.layers or model.layers[-1].__class__.__name__ != "Average":
        return []
    return [layer for layer in model.layers if isinstance(layer, keras.Model)]
