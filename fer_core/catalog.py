"""The models on offer: every ``.keras`` file in a folder, the shipped default first."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .errors import ModelError
from .modelio import read_card

MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
DEFAULT_NAME = "default.keras"


@dataclass(frozen=True)
class ModelEntry:
    """A model file and the headline numbers of its card."""

    path: Path
    architecture: str | None
    accuracy: float | None
    split: str | None

    @property
    def title(self) -> str:
        """e.g. 'default (vgg_fer_s, 66.1% on PublicTest)'."""
        detail = [self.architecture or "no card"]
        if self.accuracy is not None:
            detail.append(f"{self.accuracy:.1%} on {self.split}")
        return f"{self.path.stem} ({', '.join(detail)})"


def list_models(folder: Path = MODELS_DIR) -> list[ModelEntry]:
    """Model files in ``folder``; the shipped default first, then by name."""
    entries = []
    for path in sorted(Path(folder).glob("*.keras"), key=lambda p: (p.name != DEFAULT_NAME, p.name)):
        try:
            card = read_card(path)
        except ModelError:
            card = {}
        split = card.get("validation_split")
        accuracy = card.get("metrics", {}).get(split, {}).get("accuracy") if split else None
        entries.append(ModelEntry(path, architecture_of(card), accuracy, split))
    return entries


def architecture_of(card: dict) -> str | None:
    """The card's architecture, with the input blur when the model has one: 'vgg_fer_s + input blur'."""
    architecture = card.get("architecture")
    if architecture and card.get("input_blur", {}).get("sigma"):
        return f"{architecture} + input blur"
    return architecture
