"""The models on offer: every ``.keras`` file in a folder, the shipped default first."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fer_core.artifacts.cards import read_card
from fer_core.errors import ModelError
from fer_core.paths import MODELS_DIR

DEFAULT_NAME = "default.keras"


@dataclass(frozen=True)
class ModelEntry:
    """A model file and what a user is told about it: a short title, a sentence, and its accuracy."""

    path: Path
    architecture: str | None
    accuracy: float | None
    split: str | None
    name: str = ""  # the card's title ("Most accurate: three networks"); empty: the file's name
    summary: str = ""  # one plain sentence about the model, from its card

    @property
    def title(self) -> str:
        """Short enough for the sidebar: 'Most accurate: three networks (73%)', 'my_model (61%)'."""
        accuracy = f" ({self.accuracy:.0%})" if self.accuracy is not None else ""
        return f"{self.name or self.path.stem}{accuracy}"

    @property
    def details(self) -> str:
        """The plain sentence, its accuracy on the validation split, and the technical name, for help texts."""
        parts = [self.summary] if self.summary else []
        if self.accuracy is not None:
            parts.append(f"Right on {self.accuracy:.1%} of the {self.split} faces, which it was not "
                         "trained on.")
        parts.append(f"File `{self.path.name}`, architecture `{self.architecture or 'unknown (no model card)'}`.")
        return " ".join(parts)


def list_models(folder: Path = MODELS_DIR) -> list[ModelEntry]:
    """Model files in ``folder``; the shipped default first, then by name."""
    entries = []
    for path in sorted(Path(folder).glob("*.keras"), key=lambda p: (p.name != DEFAULT_NAME, p.name)):
        try:
            card = read_card(path)
        except ModelError:
            card = {}
        split = card.get("validation_split")
        entries.append(ModelEntry(path, architecture_of(card), headline_accuracy(path, card), split,
                                  name=str(card.get("title", "")), summary=str(card.get("summary", ""))))
    return entries


def headline_accuracy(path: Path, card: dict) -> float | None:
    """The card's accuracy on its validation split, as the app will measure it: with flip TTA (the
    app mirrors each face it is unsure of, which gives flip TTA's labels), on the exported file the
    app runs (``fastest_exports``) when its export was measured on that split, else the Keras
    model's; the plain figure where the card records no flip TTA one."""
    from fer_core.artifacts.exports import fastest_exports

    split = card.get("validation_split")
    if not split:
        return None
    fastest = fastest_exports(path, card)
    measured = (card[fastest[0]].get("accuracy") or {}) if fastest else {}
    if measured.get("split") == split:
        return measured.get(f"{fastest[0]} (flip TTA)", measured[fastest[0]])
    metrics = card.get("metrics", {})
    return (metrics.get(f"{split} (flip TTA)") or metrics.get(split) or {}).get("accuracy")


def architecture_of(card: dict) -> str | None:
    """The card's architecture, with the input blur when the model has one: 'vgg_fer_s + input blur'."""
    architecture = card.get("architecture")
    if architecture and card.get("input_blur", {}).get("sigma"):
        return f"{architecture} + input blur"
    return architecture
