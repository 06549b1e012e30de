"""``Predictor``: a photo in, every face with its expression and probabilities out."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from fer_core.data.photos import load_rgb
from fer_core.inference.crops import crop_detection, to_gray, whole_image_face
from fer_core.inference.detector import Detection, DetectorConfig, FaceDetector
from fer_core.labels import EMOTIONS
from fer_core.limits import DEFAULT_LIMITS, Limits
from fer_core.metrics.calibration import DEFAULT_UNCERTAIN_BELOW
from fer_core.metrics.probabilities import apply_temperature, mirror_unsure
from fer_core.metrics.scores import Evaluation, metrics_from_probabilities
from fer_core.paths import DEFAULT_MODEL_PATH


@dataclass
class Face:
    """One classified face: where it is, what the model saw, and what it said."""

    box: tuple[int, int, int, int]  # x, y, width, height in the (upright) photo's pixels
    label: str
    probabilities: dict[str, float]
    crop: np.ndarray = field(repr=False)  # the 48 x 48 uint8 input the model saw
    whole_image: bool = False  # True when no face was found and the whole picture was classified
    uncertain: bool = False  # the top probability is below the model's calibrated "uncertain" threshold
    landmarks: tuple[tuple[float, float], ...] = ()  # YuNet's eyes, nose tip and mouth corners (photo pixels)
    turned_by: float = 0.0  # degrees that stand the face upright (the crop turns by them from min_turn up)

    @property
    def confidence(self) -> float:
        """The winning probability."""
        return self.probabilities[self.label]

    def to_dict(self) -> dict:
        """JSON-ready: box, label, confidence, probabilities, whole_image, uncertain, landmarks, turned_by."""
        return {"box": list(self.box), "label": self.label, "confidence": round(self.confidence, 6),
                "probabilities": {k: round(v, 6) for k, v in self.probabilities.items()},
                "whole_image": self.whole_image, "uncertain": self.uncertain,
                "landmarks": [[round(x, 1), round(y, 1)] for x, y in self.landmarks],
                "turned_by": round(self.turned_by, 1)}


class Faces(list):
    """The faces of one photo (a list of ``Face``), largest first, plus how many the detector found.

    A photo may hold more faces than ``Limits.max_faces``; the extra ones (the smallest) are not
    classified, and ``found`` says how many there were so callers can tell the user.
    """

    def __init__(self, faces=(), found: int | None = None):
        super().__init__(faces)
        self.found = len(self) if found is None else found

    @property
    def capped(self) -> bool:
        """True when the photo had more faces than were classified."""
        return self.found > len(self)


@dataclass(frozen=True)
class PredictorConfig:
    """How a photo is turned into predictions."""

    detector: DetectorConfig = DetectorConfig()
    tta: bool = True  # average each face's probabilities with its mirror image's (flip TTA)...
    skip_mirror_from: float = 0.8  # ...unless the face alone gives one expression this or more (1.0: mirror all)
    limits: Limits = DEFAULT_LIMITS
    engine: str = "auto"  # auto (the fastest up-to-date export, else Keras) | onnx | litert | keras

    def __post_init__(self) -> None:
        if not 0.0 <= self.skip_mirror_from <= 1.0:
            raise ValueError(f"skip_mirror_from is a probability (0 to 1), not {self.skip_mirror_from}")


class Predictor:
    """An inference engine plus a face detector. Safe to share between threads.

    ``engine`` is a Keras model or anything called like one (see ``fer_core.inference.engines``).
    """

    def __init__(self, engine, card: dict | None = None, config: PredictorConfig = PredictorConfig(),
                 model_path: Path | None = None):
        from fer_core.inference.engines import KerasEngine

        self.engine = KerasEngine(engine) if hasattr(engine, "count_params") else engine  # a bare Keras model
        self.card = card or {}
        self.config = config
        self.model_path = model_path
        self.temperature = float(self.card.get("temperature", 1.0))
        self.uncertain_below = float(self.card.get("uncertain_below", DEFAULT_UNCERTAIN_BELOW))
        self.detector = FaceDetector(config.detector)
        self._lock = threading.Lock()
        self._keras_model = getattr(self.engine, "model", None)
        self._keras_lock = threading.Lock()
        self._grad_cam = None
        self._warming: threading.Thread | None = None
        self._counter_lock = threading.Lock()
        self._in_flight = 0

    @classmethod
    def load(cls, path: str | os.PathLike | None = None, config: PredictorConfig = PredictorConfig()) -> "Predictor":
        """Load a model (default: the shipped ``models/default.keras``), its card and its engine."""
        from fer_core.artifacts.cards import read_card
        from fer_core.inference.engines import open_engine

        model_path = Path(path) if path else DEFAULT_MODEL_PATH
        card = read_card(model_path)
        return cls(open_engine(model_path, card, config.engine), card, config, model_path)

    @property
    def warning(self) -> str:
        """Why this predictor runs slower than it should (a damaged exported file, say); '' when all is well."""
        return getattr(self.engine, "warning", "")

    @property
    def engine_name(self) -> str:
        """``onnx``, ``litert`` or ``keras``: what runs the model."""
        return getattr(self.engine, "name", "keras")

    @property
    def model(self):
        """The Keras model itself (loaded on first use when the fast engine runs predictions)."""
        with self._keras_lock:
            if self._keras_model is None:
                from fer_core.artifacts.keras_files import load_keras_model

                self._keras_model = load_keras_model(self.model_path or DEFAULT_MODEL_PATH)
            return self._keras_model

    def classify(self, faces: np.ndarray) -> np.ndarray:
        """Probabilities (N x 7) for uint8 faces (N x 48 x 48): one model call, and one more for
        the mirror images of the faces it is unsure of (``PredictorConfig.skip_mirror_from``)."""
        if len(faces) == 0:
            return np.zeros((0, len(EMOTIONS)))
        x = faces.astype(np.float32)[..., None]
        skip_from = self.config.skip_mirror_from if self.config.tta else 0.0
        with self._lock:
            out = mirror_unsure(self.engine, x, skip_from)
        return apply_temperature(out, self.temperature)

    def detect(self, image, *, name: str | None = None) -> tuple[np.ndarray, list[Detection]]:
        """The upright grayscale photo and all its faces, largest first."""
        rgb = load_rgb(image, limits=self.config.limits, name=name)
        return to_gray(rgb), self.detector.find(rgb)

    def predict(self, image, *, whole_image_if_no_face: bool = False, name: str | None = None) -> Faces:
        """Every face in ``image`` (path, bytes, PIL image or H x W x 3 RGB array), largest first.

        At most ``limits.max_faces`` faces are classified; ``result.found`` counts all that were
        detected. ``name`` labels the image in error messages (default: its path, or "upload")."""
        with self._counter_lock:
            self._in_flight += 1
        try:
            return self._predict(image, whole_image_if_no_face=whole_image_if_no_face, name=name)
        finally:
            with self._counter_lock:
                self._in_flight -= 1

    @property
    def busy_with(self) -> int:
        """How many photos this predictor is working on or has waiting now (shared by every session)."""
        return self._in_flight

    def _predict(self, image, *, whole_image_if_no_face: bool, name: str | None) -> Faces:
        gray, detections = self.detect(image, name=name)
        found = len(detections)
        detections = detections[: self.config.limits.max_faces]
        boxes = [face.box for face in detections]
        whole = not boxes and whole_image_if_no_face
        if whole:
            crops = whole_image_face(gray)[None]
            boxes = [(0, 0, gray.shape[1], gray.shape[0])]
        else:
            crops = np.stack([crop_detection(gray, face, self.config.detector) for face in detections]) \
                if detections else np.zeros((0, 48, 48), np.uint8)
        probabilities = self.classify(crops)
        sources = [None] if whole else detections
        return Faces([self._face(box, crop, row, source) for box, crop, row, source
                      in zip(boxes, crops, probabilities, sources)], found=max(found, len(boxes)))

    def _face(self, box, crop, row: np.ndarray, detection: Detection | None) -> Face:
        """A classified face; ``detection`` is None when the whole image was classified."""
        named = {name: float(p) for name, p in zip(EMOTIONS, row)}
        turned_by = detection.level_angle if detection is not None and self.config.detector.align else 0.0
        return Face(tuple(int(v) for v in box), EMOTIONS[int(np.argmax(row))], named, crop, detection is None,
                    uncertain=float(row.max()) < self.uncertain_below,
                    landmarks=detection.landmarks if detection is not None else (), turned_by=turned_by)

    def explain(self, face: Face, class_name: str | None = None) -> np.ndarray:
        """Grad-CAM heat map (48 x 48, 0..1) of why ``face`` is ``class_name`` (default: its label).

        Needs the Keras model: with an exported engine, the first call loads it (and TensorFlow)."""
        from fer_core.inference.explain import class_index, explainer_for

        target = class_index(class_name or face.label)
        model = self.model
        with self._keras_lock:
            if self._grad_cam is None:
                self._grad_cam = explainer_for(model)
            return self._grad_cam.heatmap(face.crop, target)

    def prepare_explanations(self) -> threading.Thread:
        """Load what ``explain`` needs (Keras, the model, the Grad-CAM graph) in a background thread,
        once, so the first explanation a user asks for does not wait for it. Returns the thread."""
        with self._lock:
            if self._warming is None:
                def warm() -> None:
                    try:
                        blank = Face((0, 0, 48, 48), EMOTIONS[0], {}, np.full((48, 48), 128, np.uint8))
                        self.explain(blank, EMOTIONS[0])
                    except Exception:  # noqa: BLE001  the user's own call reports any problem
                        pass

                self._warming = threading.Thread(target=warm, name="prepare-explanations", daemon=True)
                self._warming.start()
            return self._warming

    def probabilities(self, images: np.ndarray, *, tta: bool = False,
                      on_progress: Callable[[int, int], None] | None = None) -> np.ndarray:
        """Probabilities (N x 7) for many uint8 faces (N x 48 x 48), in batches, temperature applied;
        ``on_progress(done, total)`` is called after each batch."""
        from fer_core.metrics.probabilities import predict_probabilities

        with self._lock:
            return predict_probabilities(self.engine, images, tta=tta, temperature=self.temperature,
                                         on_progress=on_progress)

    def evaluate(self, images: np.ndarray, labels: np.ndarray, *, split: str = "", tta: bool = False) -> Evaluation:
        """Metrics of this model on uint8 faces (N x 48 x 48) with the card's temperature applied."""
        probabilities = self.probabilities(images, tta=tta)
        return metrics_from_probabilities(probabilities, labels, split=split, tta=tta, temperature=self.temperature)


def confidence_in_words(probability: float) -> str:
    """A plain-language reading of a winning probability."""
    if probability >= 0.8:
        return "very likely"
    if probability >= 0.55:
        return "likely"
    if probability >= 0.4:
        return "possibly"
    return "uncertain"
