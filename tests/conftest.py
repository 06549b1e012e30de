"""Fixtures that build tiny datasets, photos and models in tmp_path; no network, no shared data."""

from __future__ import annotations

import os
from importlib.util import find_spec
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pytest

from fer_core.labels import EMOTIONS

REPO = Path(__file__).resolve().parent.parent
HAS_TENSORFLOW = find_spec("tensorflow") is not None
# LiteRT and ONNX exports convert with TensorFlow, which has no wheels for Python 3.14 nor current ones for
# Intel Macs (there Keras runs on JAX)
needs_tensorflow = pytest.mark.skipif(not HAS_TENSORFLOW, reason="exports convert with TensorFlow, not installed")
SHARED_CSV = REPO.parent / "shared" / "data" / "fer2013.csv.gz"


def synthetic_faces(n_per_class: int = 6, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Learnable fake faces: class k is a bright square in one of seven places on noise."""
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for label in range(len(EMOTIONS)):
        for _ in range(n_per_class):
            face = rng.integers(0, 60, size=(48, 48)).astype(np.uint8)
            row, col = divmod(label, 3)
            face[4 + row * 14: 16 + row * 14, 4 + col * 14: 16 + col * 14] = 230
            images.append(face)
            labels.append(label)
    return np.stack(images), np.asarray(labels)


def turned(image: np.ndarray, degrees: float) -> np.ndarray:
    """``image`` turned counterclockwise by ``degrees`` about its centre (edges reflected)."""
    import cv2

    height, width = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
    return cv2.warpAffine(image, matrix, (width, height), borderMode=cv2.BORDER_REFLECT)


def csv_text(images: np.ndarray, labels: np.ndarray, usages: list[str] | None = None,
             header: str = "emotion,pixels,Usage") -> str:
    """FER2013-format CSV text for the given faces."""
    with_usage = "usage" in header.lower()
    lines = [header]
    for i, (face, label) in enumerate(zip(images, labels)):
        pixels = " ".join(map(str, face.reshape(-1)))
        usage = (usages[i] if usages else ("Training" if i % 4 else "PublicTest"))
        lines.append(f"{label},{pixels},{usage}" if with_usage else f"{label},{pixels}")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="session")
def faces_and_labels():
    return synthetic_faces()


@pytest.fixture
def tiny_csv(tmp_path, faces_and_labels) -> Path:
    path = tmp_path / "tiny.csv"
    path.write_text(csv_text(*faces_and_labels))
    return path


@pytest.fixture
def cache_dir(tmp_path) -> Path:
    return tmp_path / "cache"


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory) -> Path:
    """A tiny_cnn trained for two epochs on synthetic faces, saved with its card."""
    from fer_core.data.dataset import Dataset
    from fer_core.training.config import TrainConfig
    from fer_core.training.trainer import train

    images, labels = synthetic_faces(n_per_class=12)
    splits = np.where(np.arange(len(labels)) % 4 == 0, "PublicTest", "Training")
    data = Dataset(images, labels, splits, "synthetic.csv", "sha256:test")
    folder = tmp_path_factory.mktemp("model")
    config = TrainConfig(arch="tiny_cnn", epochs=2, batch_size=16, augment=False, warmup_epochs=0)
    result = train(config, data, out_path=folder / "tiny.keras", run_dir=folder / "run")
    return result.model_path


@pytest.fixture(scope="session")
def tiny_litert_model_path(tmp_path_factory, tiny_model_path) -> Path:
    """The tiny model with its float32 LiteRT export beside it: the command line predicts with it
    without importing TensorFlow, as it does with the shipped model. Where TensorFlow is not
    installed (Python 3.14), which the export converts with, the tiny model alone: Keras runs it."""
    import shutil

    from fer_core.recipes.export import export_model

    if not HAS_TENSORFLOW:
        return tiny_model_path
    folder = tmp_path_factory.mktemp("litert_model")
    model = folder / "tiny.keras"
    shutil.copy(tiny_model_path, model)
    shutil.copy(tiny_model_path.with_suffix(".json"), model.with_suffix(".json"))
    export_model(model)
    return model


@pytest.fixture(scope="session")
def astronaut_jpeg(tmp_path_factory) -> Path:
    """scikit-image's public-domain astronaut photo (one smiling face) as a JPEG file."""
    from PIL import Image
    from skimage import data

    path = tmp_path_factory.mktemp("photos") / "astronaut.jpg"
    Image.fromarray(data.astronaut()).save(path, quality=92)
    return path


@pytest.fixture(scope="session")
def cat_png(tmp_path_factory) -> Path:
    """scikit-image's cat photo: no human face."""
    from PIL import Image
    from skimage import data

    path = tmp_path_factory.mktemp("photos") / "cat.png"
    Image.fromarray(data.chelsea()).save(path)
    return path


def png_claiming(width: int, height: int) -> bytes:
    """A small valid PNG whose header (with a correct CRC) claims width x height pixels: a decompression bomb."""
    import io
    import zlib

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("L", (64, 64), 128).save(buffer, "PNG")
    data = bytearray(buffer.getvalue())
    data[16:24] = width.to_bytes(4, "big") + height.to_bytes(4, "big")  # IHDR data starts at byte 16
    data[29:33] = zlib.crc32(bytes(data[12:29])).to_bytes(4, "big")  # CRC over "IHDR" + its 13 bytes
    return bytes(data)


CLIP_FPS, CLIP_SECONDS, CLIP_SIZE = 10, 4, (640, 360)  # write_clip's video


def write_clip(path, *, second_face_from_s: float = 2.0) -> None:
    """A 4-second clip: the astronaut's head drifting on the left; from 2 s on, her mirror image on the right."""
    import cv2
    from skimage import data

    head = cv2.resize(cv2.cvtColor(data.astronaut()[:300, 100:400], cv2.COLOR_RGB2BGR), (220, 220))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), CLIP_FPS, CLIP_SIZE)
    assert writer.isOpened()
    for index in range(CLIP_FPS * CLIP_SECONDS):
        frame = np.full((CLIP_SIZE[1], CLIP_SIZE[0], 3), 90, np.uint8)
        x = 20 + 2 * index  # 2 px a frame: the same face, a little further each time
        frame[70:290, x:x + 220] = head
        if index / CLIP_FPS >= second_face_from_s:
            frame[70:290, 400:620] = head[:, ::-1]
        writer.write(frame)
    writer.release()
