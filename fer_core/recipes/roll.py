"""``train-roll``: train the roll network on FER2013's own faces, turned by known angles.

FER2013's faces are upright (the dataset's authors registered them), so every training face
turned by a random angle is a labelled example for free: the network learns to say the angle.
Each turn comes with what a detector's box and a real photo add: the box a little larger or
smaller than FER2013's frame and off its centre, blur, dark or bright exposure, JPEG artefacts,
and mirror images. Then only the face's disc is kept (``nets.roll_net.ROLL_DISC``).

The turns are drawn anew for every epoch, from (seed, epoch, batch), so a run is repeatable and
resumes where it stopped (``keras.callbacks.BackupAndRestore``). The recipe writes three files:

- ``face_roll.keras``: the network (the source of the other two);
- ``face_roll.onnx``: what the app and the Live page run (ONNX Runtime and onnxruntime-web),
  checked against Keras before it is written;
- ``face_roll.json``: its card: how it was made, and its error in degrees on turned validation
  faces, for one look (what the app takes, ``inference.roll``) and for two.
"""

from __future__ import annotations

import json
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
from fer_core.data.dataset import Dataset
from fer_core.errors import ModelError
from fer_core.geometry import IMAGE_SIZE
from fer_core.nets.roll_net import ROLL_DISC, ROLL_UNIT

ROLL_FILES = ("face_roll.keras", "face_roll.onnx", "face_roll.json")
PARITY_DEGREES = 0.01  # largest allowed |Keras - ONNX| difference of a turn, in degrees


@dataclass(frozen=True)
class RollTrainingConfig:
    """How the roll network is trained and measured."""

    epochs: int = 16
    batch_size: int = 128
    learning_rate: float = 2e-3  # AdamW's peak, decayed along a cosine
    max_degrees: float = 45.0  # training turns are drawn from -max..+max
    train_split: str = "Training"
    val_split: str = "PublicTest"
    val_faces: int = 2000  # validation faces (each turned once, the same turns every run)
    seed: int = 0


@dataclass(frozen=True)
class Turn:
    """How one face is shown: turned by ``degrees`` (counterclockwise), its frame ``scale`` times
    larger, shifted by ``shift`` (x, y, pixels), mirrored, blurred, with ``gamma`` and JPEG ``quality``."""

    degrees: float
    scale: float = 1.0
    shift: tuple[float, float] = (0.0, 0.0)
    mirror: bool = False
    blur: float = 0.0
    gamma: float = 1.0
    quality: int = 100


def random_turns(count: int, rng: np.random.Generator, max_degrees: float) -> list[Turn]:
    """``count`` turns with the box, blur, exposure and JPEG variation of the module docstring."""
    degrees = rng.uniform(-max_degrees, max_degrees, count)
    scales = np.exp(rng.uniform(math.log(0.78), math.log(1.3), count))  # YuNet's box over FER2013's frame: 0.8-1.3
    shifts = np.stack([rng.uniform(-0.08, 0.08, count), rng.uniform(-0.10, 0.06, count)], axis=1) * IMAGE_SIZE
    mirrors = rng.random(count) < 0.5
    blurs = np.where(rng.random(count) < 0.4, rng.uniform(0.3, 1.3, count), 0.0)
    gammas = np.exp(rng.uniform(math.log(0.6), math.log(1.7), count))
    qualities = rng.integers(25, 101, count)
    return [Turn(float(d), float(s), (float(x), float(y)), bool(m), float(b), float(g), int(q))
            for d, s, (x, y), m, b, g, q in zip(degrees, scales, shifts, mirrors, blurs, gammas, qualities)]


def turned_face(face: np.ndarray, turn: Turn) -> np.ndarray:
    """The 48 x 48 float32 disc the network sees of ``face`` (uint8, 48 x 48) shown as ``turn``."""
    if turn.mirror:
        face = face[:, ::-1]
    pad = IMAGE_SIZE // 2
    big = cv2.copyMakeBorder(face, pad, pad, pad, pad, cv2.BORDER_REFLECT)
    centre = (pad + (IMAGE_SIZE - 1) / 2 + turn.shift[0], pad + (IMAGE_SIZE - 1) / 2 + turn.shift[1])
    matrix = cv2.getRotationMatrix2D(centre, turn.degrees, turn.scale)
    matrix[0, 2] += (IMAGE_SIZE - 1) / 2 - centre[0]
    matrix[1, 2] += (IMAGE_SIZE - 1) / 2 - centre[1]
    patch = cv2.warpAffine(big, matrix, (IMAGE_SIZE, IMAGE_SIZE), flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REFLECT)
    if turn.blur:
        patch = cv2.GaussianBlur(patch, (0, 0), turn.blur)
    if turn.gamma != 1.0:
        patch = (255 * (patch / 255.0) ** turn.gamma).astype(np.uint8)
    if turn.quality < 100:
        encoded = cv2.imencode(".jpg", patch, [cv2.IMWRITE_JPEG_QUALITY, turn.quality])[1]
        patch = cv2.imdecode(encoded, cv2.IMREAD_GRAYSCALE)
    return patch.astype(np.float32) * ROLL_DISC


def turned_batch(faces: np.ndarray, turns: list[Turn]) -> tuple[np.ndarray, np.ndarray]:
    """(N x 48 x 48 x 1 discs, N turns in ``ROLL_UNIT`` units) for faces shown as ``turns``."""
    x = np.stack([turned_face(face, turn) for face, turn in zip(faces, turns)])[..., None]
    return x, np.array([turn.degrees / ROLL_UNIT for turn in turns], np.float32)


def measure_roll(predict: Callable[[np.ndarray], np.ndarray], faces: np.ndarray, turns: list[Turn],
                 *, second_look: bool = True) -> dict:
    """Absolute error in degrees (median, 90th percentile) of one look and, with ``second_look``, of
    two looks (the second at the face turned back by the first answer, as ``inference.roll`` would
    with ``LOOKS = 2``)."""
    x, target = turned_batch(faces, turns)
    estimates = {"one look": predict(x).reshape(-1) * ROLL_UNIT}
    if second_look:
        first = estimates["one look"]
        again = [Turn(t.degrees - float(a), t.scale, t.shift, t.mirror, t.blur, t.gamma, t.quality)
                 for t, a in zip(turns, first)]
        estimates["two looks"] = first + predict(turned_batch(faces, again)[0]).reshape(-1) * ROLL_UNIT
    result = {"faces": int(len(faces))}
    for name, estimate in estimates.items():
        error = np.abs(estimate - target * ROLL_UNIT)
        result[name] = {"median_degrees": float(np.median(error)), "p90_degrees": float(np.percentile(error, 90)),
                        "within_5_degrees": float((error <= 5).mean())}
    return result


def train_roll_net(data: Dataset, out_dir: str | os.PathLike, config: RollTrainingConfig = RollTrainingConfig(),
                   *, on_epoch: Callable[[int, dict], None] | None = None) -> dict:
    """Train, export and measure the roll network; writes ``ROLL_FILES`` into ``out_dir`` (nothing
    there changes unless the ONNX export matches Keras) and returns the card."""
    import keras

    from fer_core.nets.roll_net import build_roll_net
    from fer_core.recipes.export import require_tensorflow, write_onnx

    require_tensorflow("the roll network's ONNX export")
    train = data.subset(config.train_split).images
    val = data.subset(config.val_split).images[: config.val_faces]
    val_turns = random_turns(len(val), np.random.default_rng([config.seed, 1]), config.max_degrees)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(config.seed)
    model = build_roll_net()
    steps = config.epochs * math.ceil(len(train) / config.batch_size)
    schedule = keras.optimizers.schedules.CosineDecay(config.learning_rate, steps)
    model.compile(optimizer=keras.optimizers.AdamW(schedule, weight_decay=1e-4), loss=keras.losses.Huber(0.2))
    history: list[dict] = []

    class Report(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            errors = measure_roll(lambda x: np.asarray(self.model(x, training=False)), val, val_turns,
                                  second_look=False)["one look"]
            history.append({"epoch": epoch + 1, "loss": float((logs or {}).get("loss", float("nan"))), **errors})
            if on_epoch:
                on_epoch(epoch + 1, history[-1])

    batches = turned_faces_dataset(train, config)

    class DrawEpoch(keras.callbacks.Callback):  # a resumed run draws the epoch's own turns
        def on_epoch_begin(self, epoch, logs=None):
            batches.epoch = epoch

    backup = backup_folder(out_dir / ".face_roll_backup", config)
    model.fit(batches, epochs=config.epochs, verbose=0,
              callbacks=[keras.callbacks.BackupAndRestore(str(backup)), DrawEpoch(), Report()])
    with tempfile.TemporaryDirectory(dir=out_dir) as work:
        onnx_file = Path(work) / ROLL_FILES[1]
        write_onnx(model, onnx_file)
        from fer_core.inference.roll import RollNet

        exported = RollNet(onnx_file)
        x = turned_batch(val[:256], val_turns[:256])[0]
        difference = float(np.abs(np.asarray(model(x, training=False)) - exported(x)).max()) * ROLL_UNIT
        if difference > PARITY_DEGREES:
            raise ModelError(f"the ONNX export of the roll network differs from Keras by {difference:.3g} degrees "
                             f"(> {PARITY_DEGREES}); nothing written")
        errors = measure_roll(exported, val, val_turns)
        replace_atomically(out_dir / ROLL_FILES[0], without_optimizer(model).save)
        replace_atomically(out_dir / ROLL_FILES[1], lambda path: Path(path).write_bytes(onnx_file.read_bytes()))
    card = {
        "name": "face_roll",
        "what": "how far a face is turned in the photo's plane (degrees, counterclockwise), from its 48 x 48 disc",
        "made_by": command_line("train-roll", data=Path(data.source).name, epochs=config.epochs, seed=config.seed),
        "config": asdict(config),
        "parameters": int(model.count_params()),
        "data": {"source": Path(data.source).name, "fingerprint": data.fingerprint, "train_faces": int(len(train))},
        "onnx": {"file": ROLL_FILES[1], "sha256": file_sha256(out_dir / ROLL_FILES[1]),
                 "max_difference_degrees": difference},
        "keras_sha256": file_sha256(out_dir / ROLL_FILES[0]),
        f"{config.val_split} turned by up to {config.max_degrees:g} degrees": errors,
        "history": history,
    }
    write_json_atomically(card, out_dir / ROLL_FILES[2])
    shutil.rmtree(backup, ignore_errors=True)
    return card


def turned_faces_dataset(faces: np.ndarray, config: RollTrainingConfig):
    """A ``keras.utils.PyDataset`` of turned ``faces``: batch ``index`` of epoch ``.epoch`` is drawn
    from (seed, epoch, index), so every run and every resumed run sees the same turns."""
    import keras

    class TurnedFaces(keras.utils.PyDataset):
        def __init__(self):
            super().__init__()
            self.epoch = 0

        def __len__(self) -> int:
            return math.ceil(len(faces) / config.batch_size)

        def __getitem__(self, index: int):
            order = np.random.default_rng([config.seed, 2, self.epoch]).permutation(len(faces))
            chosen = order[index * config.batch_size:(index + 1) * config.batch_size]
            rng = np.random.default_rng([config.seed, 3, self.epoch, index])
            return turned_batch(faces[chosen], random_turns(len(chosen), rng, config.max_degrees))

    return TurnedFaces()


def backup_folder(backup: Path, config) -> Path:
    """``backup``, ready for ``keras.callbacks.BackupAndRestore``: an interrupted run with the same
    settings (a dataclass) resumes from it; one left by other settings is cleared first."""
    settings = json.dumps(asdict(config), sort_keys=True)
    if (backup / "settings.json").is_file() and (backup / "settings.json").read_text() != settings:
        shutil.rmtree(backup)
    backup.mkdir(exist_ok=True)
    (backup / "settings.json").write_text(settings)
    return backup


def without_optimizer(model):
    """The same network, uncompiled: its ``.keras`` file holds the weights without the optimizer's state."""
    import keras

    plain = keras.Model.from_config(model.get_config())
    plain.set_weights(model.get_weights())
    return plain
