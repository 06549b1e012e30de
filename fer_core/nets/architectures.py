"""The architectures on offer, by name, without importing Keras (the builders are in ``builders``).

Pages and settings check a name against this list in milliseconds; ``builders.build_model``
builds the network itself.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Architecture:
    """What a user is told about a network before choosing it."""

    name: str
    title: str  # plain words, for the Train page
    description: str  # the technical description, for help texts and --help
    for_users: bool = True  # False: a test fixture, not offered in the app


ARCHITECTURE_LIST = (
    Architecture("vgg_fer_s", "Balanced: good accuracy, trains in about an hour on a laptop",
                 "Half-width vgg_fer (32-64-128-256, ~1.2M params): 3-4x faster to train on a CPU."),
    Architecture("vgg_fer", "Most accurate: a larger network, best trained on a GPU",
                 "VGG-style, 4 blocks of 2 conv-BN-ReLU (64-128-256-512), GAP, dropout (~4.8M params)."),
    Architecture("seed_cnn", "Classic: the CNN of the blog post this project started from",
                 "The seed blog's CNN: 5 conv layers, two 1024-unit dense layers (~1.5M params)."),
    Architecture("tiny_cnn", "Tiny: for tests and smoke runs only",
                 "Two small conv layers (~12k params): for tests and smoke runs only.", for_users=False),
)
ARCHITECTURE_NAMES = tuple(a.name for a in ARCHITECTURE_LIST)
DESCRIPTIONS = {a.name: a.description for a in ARCHITECTURE_LIST}


def offered_architectures() -> list[Architecture]:
    """The architectures the app offers (test fixtures left out)."""
    return [a for a in ARCHITECTURE_LIST if a.for_users]


def architecture(name: str) -> Architecture:
    """The architecture called ``name``; KeyError lists the known names."""
    for entry in ARCHITECTURE_LIST:
        if entry.name == name:
            return entry
    raise KeyError(f"unknown architecture {name!r}; choose one of {', '.join(ARCHITECTURE_NAMES)}")
