"""``train-face-check``: train the face check on the candidates YuNet raises in photos made from
FER2013's training faces.

A face YuNet scores low is often a face all the same, and so is much that is not. To learn which
is which, the recipe makes photos whose faces it knows:

- scenes: 1280 x 720 backgrounds (scikit-image's sample photos, tiled, multi-scale noise and,
  given ``negatives_from``, real photos without a face, cut at random scales) with 0-6 Training
  faces pasted in at 40-400 px, turned by up to 35 degrees, then a random gamma, blur and JPEG
  quality;
- Training faces alone, upscaled 4x and padded (``composites.face_alone``), half of them turned.

YuNet looks at each photo as the detector does (a copy at most 960 px) with a low score threshold,
and every box it raises is a candidate: a face when it finds a pasted face
(``composites.box_finds_face``), else not. The network learns from the candidates' squares
(``inference.face_check.check_square``). None of ``bench/detection.py``'s backgrounds and photos
without a face is used, so its false alarms stay a fair count.

The photos are drawn from the seed (YuNet's scores near the threshold vary in the last digits with
ONNX Runtime's threads, so a run's candidates can differ by about one in ten thousand), and an
interrupted run resumes after its last finished epoch (``keras.callbacks.BackupAndRestore``). It writes ``face_check.keras``
(the source), ``face_check.onnx`` (what the app runs, checked against Keras before it is written)
and ``face_check.json`` (its card: how it was made, and how many held-out candidates it accepts
at the detector's threshold and a few others).
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from fer_core.artifacts.atomic_files import replace_atomically
from fer_core.artifacts.cards import command_line, write_json_atomically
from fer_core.artifacts.exports import file_sha256
from fer_core.data.composites import as_rgb, box_finds_face, face_alone, free_spot, paste_face
from fer_core.data.dataset import Dataset
from fer_core.data.photo_folders import photo_files, read_photos
from fer_core.errors import ModelError
from fer_core.inference.detector import DetectorConfig, detector_view
from fer_core.inference.face_check import check_square

FACE_CHECK_FILES = ("face_check.keras", "face_check.onnx", "face_check.json")
PARITY = 1e-4  # largest allowed |Keras - ONNX| difference of a probability
# scikit-image's sample photos the scenes are made of: none with a face, none of bench/detection.py's
SCENES = ("clock", "logo", "text", "page", "moon", "retina", "shepp_logan_phantom", "cell", "horse",
          "microaneurysms", "checkerboard", "colorwheel", "binary_blobs")
SCENE_SIZE = (720, 1280)
PHOTO_MAX_SIDE = 2560  # real photos are shrunk to this longest side when read (scenes are 1280 wide)
MEASURED_AT = (0.5, 0.9, 0.95, 0.99)  # thresholds the card measures the held-out candidates at, beside the detector's


@dataclass(frozen=True)
class FaceCheckTrainingConfig:
    """How the face check is trained and measured."""

    scenes: int = 1200  # 1280 x 720 scenes of Training faces
    faces_alone: int = 12000  # Training faces alone in a photo
    candidate_threshold: float = DetectorConfig().check_from  # YuNet's score that makes a box a candidate
    negatives: int = 120000  # candidates that are no face, drawn from the many raised
    face_share: float = 0.25  # the faces' share of the loss (they are a few percent of the candidates)
    epochs: int = 8
    batch_size: int = 256
    learning_rate: float = 2e-3
    val_fraction: float = 0.1  # candidates held out to measure the check
    accept: float = DetectorConfig().check_accept  # the detector's threshold, measured on the held-out ones
    train_split: str = "Training"
    seed: int = 0
    negatives_from: tuple[str, ...] = ()  # photos without a face (files or folders) the scenes are also cut from
    real_share: float = 0.5  # the scenes on such a photo, when there are any


def scene_backgrounds() -> list[np.ndarray]:
    """The sample photos scenes are tiled from (scikit-image, a test dependency, ships them)."""
    try:
        from skimage import data as samples
    except ImportError:
        raise ModelError("train-face-check builds its scenes from scikit-image's sample photos: "
                         "pip install -r requirements-dev.txt") from None
    backgrounds = [as_rgb(getattr(samples, name)()) for name in SCENES]
    return backgrounds + [as_rgb(view) for view in samples.stereo_motorcycle()[:2]]


def real_scene(rng: np.random.Generator, photo: np.ndarray) -> np.ndarray:
    """A 1280 x 720 cut of a real photo: scaled to cover the scene 1-3 times over, cut at a random
    place, mirrored half the time."""
    height, width = SCENE_SIZE
    zoom = max(height / photo.shape[0], width / photo.shape[1]) * rng.uniform(1.0, 3.0)
    scaled = cv2.resize(photo, (max(width, round(photo.shape[1] * zoom)), max(height, round(photo.shape[0] * zoom))),
                        interpolation=cv2.INTER_AREA if zoom < 1 else cv2.INTER_LINEAR)
    top, left = rng.integers(0, scaled.shape[0] - height + 1), rng.integers(0, scaled.shape[1] - width + 1)
    cut = scaled[top:top + height, left:left + width]
    return np.ascontiguousarray(cut[:, ::-1] if rng.random() < 0.5 else cut)


def scene(rng: np.random.Generator, backgrounds: list[np.ndarray], real: list[np.ndarray] = (),
          real_share: float = 0.5) -> np.ndarray:
    """A 1280 x 720 RGB background with no face: a cut of one of the ``real`` photos (``real_share``
    of the time, when there are any), a sample photo tiled at a random scale and tint, or noise
    summed over three scales."""
    height, width = SCENE_SIZE
    if len(real) and rng.random() < real_share:
        return real_scene(rng, real[rng.integers(len(real))])
    if rng.random() < 0.6:
        image = backgrounds[rng.integers(len(backgrounds))]
        zoom = rng.uniform(0.5, 3.0)
        image = cv2.resize(image, None, fx=zoom, fy=zoom)
        tiled = np.tile(image, (height // image.shape[0] + 2, width // image.shape[1] + 2, 1))
        top, left = rng.integers(0, tiled.shape[0] - height + 1), rng.integers(0, tiled.shape[1] - width + 1)
        tinted = tiled[top:top + height, left:left + width].astype(np.float32) * rng.uniform(0.5, 1.2, 3)
        return np.clip(tinted, 0, 255).astype(np.uint8)
    noise = np.zeros((height, width, 3), np.float32)
    for cell in (4, 16, 64):
        coarse = rng.normal(0, rng.uniform(5, 40), (height // cell + 1, width // cell + 1, 3)).astype(np.float32)
        noise += cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    return np.clip(noise + rng.uniform(60, 190, 3), 0, 255).astype(np.uint8)


def scene_with_faces(rng: np.random.Generator, faces: np.ndarray, backgrounds: list[np.ndarray],
                     real: list[np.ndarray] = (), real_share: float = 0.5) -> tuple[np.ndarray, list[dict]]:
    """A scene (see ``scene``) with 0-6 faces pasted in, exposed, blurred and compressed; and the faces' truth."""
    canvas = scene(rng, backgrounds, real, real_share)
    truth: list[dict] = []
    for _ in range(int(rng.integers(0, 7))):
        side = int(np.exp(rng.uniform(math.log(40), math.log(400))))
        centre = free_spot(rng, side, truth, SCENE_SIZE)
        if centre is None:
            continue
        paste_face(canvas, faces[rng.integers(len(faces))], centre, side, float(rng.uniform(-35, 35)))
        truth.append({"centre": centre, "side": side})
    canvas = (255 * (canvas / 255.0) ** rng.uniform(0.5, 1.8)).astype(np.uint8)
    if rng.random() < 0.5:
        canvas = cv2.GaussianBlur(canvas, (0, 0), float(rng.uniform(0.5, 2.0)))
    encoded = cv2.imencode(".jpg", canvas, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(20, 96))])[1]
    return cv2.imdecode(encoded, cv2.IMREAD_COLOR), truth  # the channel order does not matter here


def candidates(yunet, photo: np.ndarray, truth: list[dict], max_side: int) -> tuple[list[np.ndarray], list[bool]]:
    """The squares of every box YuNet raises in ``photo`` (seen at most ``max_side`` px, as the
    detector sees it), and whether each finds one of the ``truth`` faces."""
    photo, scale = detector_view(photo, max_side)
    bgr = photo if photo.ndim == 3 else cv2.cvtColor(photo, cv2.COLOR_GRAY2BGR)
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    squares, faces = [], []
    for row in yunet.detect(bgr):
        box = tuple(float(v) for v in row[:4])
        squares.append(check_square(gray, box))
        faces.append(any(box_finds_face(tuple(v / scale for v in box), face) for face in truth))
    return squares, faces


def candidate_set(data: Dataset, config: FaceCheckTrainingConfig, *,
                  on_progress: Callable[[str], None] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(N x 48 x 48 uint8 squares, N labels) of the candidates in the recipe's photos: every face
    candidate and ``config.negatives`` of the others, shuffled."""
    from fer_core.inference.yunet import YuNet

    detector = DetectorConfig()
    yunet = YuNet(detector.yunet_model, config.candidate_threshold, detector.nms_threshold)
    faces = data.subset(config.train_split).images
    rng = np.random.default_rng([config.seed, 1])
    backgrounds = scene_backgrounds()
    real = read_photos(photo_files(config.negatives_from), PHOTO_MAX_SIDE)
    squares: list[np.ndarray] = []
    labels: list[bool] = []
    for index in range(config.scenes):
        photo, truth = scene_with_faces(rng, faces, backgrounds, real, config.real_share)
        found = candidates(yunet, photo, truth, detector.detect_max_side)
        squares += found[0]
        labels += found[1]
        if on_progress and (index + 1) % 200 == 0:
            on_progress(f"scenes: {index + 1} of {config.scenes}, {len(labels)} candidates")
    for index in rng.choice(len(faces), min(config.faces_alone, len(faces)), replace=False):
        turn = float(rng.uniform(-30, 30)) if rng.random() < 0.5 else 0.0
        photo, pad = face_alone(faces[index], 4, 0.5, turn)
        middle = photo.shape[0] / 2
        found = candidates(yunet, photo, [{"centre": (middle, middle), "side": photo.shape[0] - 2 * pad}],
                           detector.detect_max_side)
        squares += found[0]
        labels += found[1]
    labels_array = np.array(labels, bool)
    others = np.flatnonzero(~labels_array)
    keep = np.concatenate([np.flatnonzero(labels_array),
                           rng.choice(others, min(config.negatives, len(others)), replace=False)])
    keep = rng.permutation(keep)
    return np.stack(squares)[keep], labels_array[keep]


def acceptance(probabilities: np.ndarray, labels: np.ndarray, threshold: float) -> dict:
    """How many face candidates and how many others ``threshold`` accepts."""
    return {"faces": int(labels.sum()), "faces_accepted": float((probabilities[labels] >= threshold).mean()),
            "others": int((~labels).sum()), "others_accepted": float((probabilities[~labels] >= threshold).mean())}


def train_face_check(data: Dataset, out_dir: str | os.PathLike,
                     config: FaceCheckTrainingConfig = FaceCheckTrainingConfig(), *,
                     on_progress: Callable[[str], None] | None = None) -> dict:
    """Make the candidates, train, export and measure the face check; writes ``FACE_CHECK_FILES``
    into ``out_dir`` (nothing there changes unless the ONNX export matches Keras); returns the card."""
    import keras

    from fer_core.inference.face_check import FaceCheck
    from fer_core.nets.face_check_net import build_face_check_net
    from fer_core.recipes.export import require_tensorflow, write_onnx
    from fer_core.recipes.roll import backup_folder, without_optimizer

    require_tensorflow("the face check's ONNX export")
    real_photos = [{"name": path.name, "sha256": file_sha256(path)} for path in photo_files(config.negatives_from)]
    squares, labels = candidate_set(data, config, on_progress=on_progress)
    x = squares.astype(np.float32)[..., None]
    held_out = max(1, int(len(labels) * config.val_fraction))
    x_val, y_val, x_train, y_train = x[:held_out], labels[:held_out], x[held_out:], labels[held_out:]
    mirrored = np.random.default_rng([config.seed, 2]).random(len(x_train)) < 0.5
    x_train[mirrored] = x_train[mirrored][:, :, ::-1]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(config.seed)
    model = build_face_check_net()
    steps = config.epochs * math.ceil(len(x_train) / config.batch_size)
    model.compile(optimizer=keras.optimizers.AdamW(keras.optimizers.schedules.CosineDecay(config.learning_rate, steps),
                                                   weight_decay=1e-4),
                  loss="binary_crossentropy", metrics=[keras.metrics.AUC(name="auc")])
    share = float(y_train.mean())
    weights = {0: 1.0, 1: config.face_share / max(share, 1e-9) * (1 - share) / (1 - config.face_share)}
    history: list[dict] = []

    class Report(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            history.append({"epoch": epoch + 1, **{k: float(v) for k, v in logs.items()}})
            if on_progress:
                on_progress(f"epoch {epoch + 1}/{config.epochs}: loss {logs.get('loss', float('nan')):.4f}, "
                            f"held-out AUC {logs.get('val_auc', float('nan')):.4f}")

    backup = backup_folder(out_dir / ".face_check_backup", config)  # an interrupted run resumes from it
    model.fit(x_train, y_train.astype(np.float32), batch_size=config.batch_size, epochs=config.epochs,
              validation_data=(x_val, y_val.astype(np.float32)), class_weight=weights, verbose=0,
              callbacks=[keras.callbacks.BackupAndRestore(str(backup)), Report()])
    with tempfile.TemporaryDirectory(dir=out_dir) as work:
        onnx_file = Path(work) / FACE_CHECK_FILES[1]
        write_onnx(model, onnx_file)
        exported = FaceCheck(onnx_file)
        probabilities = exported(x_val).reshape(-1)
        difference = float(np.abs(np.asarray(model(x_val[:256], training=False)).reshape(-1)
                                  - probabilities[:256]).max())
        if difference > PARITY:
            raise ModelError(f"the ONNX export of the face check differs from Keras by {difference:.3g} "
                             f"(> {PARITY}); nothing written")
        replace_atomically(out_dir / FACE_CHECK_FILES[0], without_optimizer(model).save)
        replace_atomically(out_dir / FACE_CHECK_FILES[1], lambda path: Path(path).write_bytes(onnx_file.read_bytes()))
    card = {
        "name": "face_check",
        "what": "the probability that a candidate box's 48 x 48 square holds a face framed like FER2013's",
        "made_by": command_line("train-face-check", data=Path(data.source).name, epochs=config.epochs,
                                seed=config.seed, **({"negatives_from": " ".join(config.negatives_from)}
                                                     if config.negatives_from else {})),
        "config": {**asdict(config), "negatives_from": list(config.negatives_from)},
        "parameters": int(model.count_params()),
        "data": {"source": Path(data.source).name, "fingerprint": data.fingerprint,
                 "candidates": int(len(labels)), "faces": int(labels.sum()), "photos_without_a_face": real_photos},
        "onnx": {"file": FACE_CHECK_FILES[1], "sha256": file_sha256(out_dir / FACE_CHECK_FILES[1]),
                 "max_difference": difference},
        "keras_sha256": file_sha256(out_dir / FACE_CHECK_FILES[0]),
        "held-out candidates": {f"{threshold:g}": acceptance(probabilities, y_val, threshold)
                                for threshold in sorted({*MEASURED_AT, config.accept})},
        "history": history,
    }
    write_json_atomically(card, out_dir / FACE_CHECK_FILES[2])
    shutil.rmtree(backup, ignore_errors=True)
    return card
