"""YuNet run by ONNX Runtime, decoded exactly as OpenCV's ``cv2.FaceDetectorYN`` decodes it.

The same ONNX file OpenCV runs, with its input size left free (``free_input_size``), runs about
2.5x faster under ONNX Runtime than under OpenCV's DNN module on two cores (9 ms against 25 ms
for a 960x540 copy; docs/experiments.md). The decoding below is OpenCV's, step by step, so the
faces are the ones ``cv2.FaceDetectorYN`` finds (``tests/inference/test_detector.py`` compares
them); the Live page's ``static/live/fer_live.mjs`` decodes the same way in the browser.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from fer_core.errors import ModelError

STRIDES = (8, 16, 32)
DIVISOR = 32  # the input is padded right and bottom to a multiple of this
YUNET_FREE_SIZE_FILE = "face_detection_yunet_2023mar_free_size.onnx"  # written by free_input_size


def free_input_size(path: str | Path) -> bytes:
    """The YuNet ONNX file with its input's height and width (and every output's length) left free.

    The file declares a fixed 640 x 640 input that OpenCV ignores; the graph itself works at any
    multiple of 32 (its reshapes use -1 and its upsampling a scale)."""
    import onnx

    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: the YuNet face detector model is missing; restore it from the repository")
    try:
        graph = onnx.load(str(path))
        dims = graph.graph.input[0].type.tensor_type.shape.dim
        dims[2].dim_param, dims[3].dim_param = "height", "width"
        for output in graph.graph.output:
            output.type.tensor_type.shape.dim[1].dim_param = "anchors"
        del graph.graph.value_info[:]
        onnx.checker.check_model(graph)
    except Exception:  # onnx raises DecodeError, ValidationError, IndexError... for a damaged file
        raise ModelError(f"{path}: not a YuNet ONNX model (damaged?); restore it from the repository") from None
    return graph.SerializeToString()


class YuNet:
    """One YuNet session: ``detect(bgr)`` gives OpenCV's N x 15 rows (box x, y, w, h, five
    landmarks x, y, score), best score first. Safe to call from several threads at once (ONNX
    Runtime runs a session's calls concurrently, and ``detect`` keeps no state)."""

    def __init__(self, path: str | Path, score_threshold: float, nms_threshold: float, top_k: int = 5000):
        from fer_core.inference.small_nets import cpu_session

        path = Path(path)
        if not path.is_file():
            raise ModelError(f"{path}: the YuNet face detector model is missing; restore it from the repository")
        try:
            self._session = cpu_session(str(path))
            if [o.name for o in self._session.get_outputs()][:1] != ["cls_8"]:
                raise ValueError("not YuNet's outputs")
        except Exception:  # onnxruntime raises its own types
            raise ModelError(f"{path}: not a YuNet ONNX model ONNX Runtime can run (damaged?); restore it from "
                             "the repository") from None
        if all(isinstance(d, int) for d in self._session.get_inputs()[0].shape[2:]):  # OpenCV's fixed 640 x 640
            try:
                model = free_input_size(path)
            except ImportError:
                raise ModelError(f"{path}: this YuNet file has a fixed input size; use the shipped "
                                 f"{YUNET_FREE_SIZE_FILE} or install onnx to free it") from None
            self._session = cpu_session(model)
        self._outputs = [output.name for output in self._session.get_outputs()]
        self.score_threshold, self.nms_threshold, self.top_k = score_threshold, nms_threshold, top_k

    def detect(self, bgr: np.ndarray) -> np.ndarray:
        height, width = bgr.shape[:2]
        pad_w, pad_h = ((width - 1) // DIVISOR + 1) * DIVISOR, ((height - 1) // DIVISOR + 1) * DIVISOR
        blob = np.zeros((1, 3, pad_h, pad_w), np.float32)
        blob[0, :, :height, :width] = bgr.transpose(2, 0, 1)
        out = dict(zip(self._outputs, self._session.run(None, {"input": blob})))
        rows = []
        for stride in STRIDES:
            cols = pad_w // stride
            scores = np.sqrt(np.clip(out[f"cls_{stride}"].reshape(-1), 0, 1) *
                             np.clip(out[f"obj_{stride}"].reshape(-1), 0, 1))
            keep = np.flatnonzero(scores > self.score_threshold)
            if not len(keep):
                continue
            r, c = (v.astype(np.float32) for v in np.divmod(keep, cols))
            box = out[f"bbox_{stride}"].reshape(-1, 4)[keep]
            points = out[f"kps_{stride}"].reshape(-1, 10)[keep]
            step = np.float32(stride)
            cx, cy = (c + box[:, 0]) * step, (r + box[:, 1]) * step
            w, h = np.exp(box[:, 2]) * step, np.exp(box[:, 3]) * step
            landmarks = np.empty((len(keep), 10), np.float32)
            landmarks[:, 0::2] = (points[:, 0::2] + c[:, None]) * step
            landmarks[:, 1::2] = (points[:, 1::2] + r[:, None]) * step
            rows.append(np.column_stack([cx - w / np.float32(2), cy - h / np.float32(2), w, h, landmarks,
                                         scores[keep]]).astype(np.float32))
        if not rows:
            return np.zeros((0, 15), np.float32)
        faces = np.concatenate(rows)
        boxes = [[int(v) for v in row[:4]] for row in faces]  # OpenCV suppresses on whole-pixel boxes
        keep = cv2.dnn.NMSBoxes(boxes, faces[:, 14].tolist(), self.score_threshold, self.nms_threshold,
                                top_k=self.top_k)
        return faces[np.array(keep, dtype=int).reshape(-1)]
