"""Hostile input and concurrent use: the only outcomes are a result or the project's own error."""

from __future__ import annotations

import io
import threading

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from fer_core.data.loading import load_dataset
from fer_core.data.photos import load_rgb
from fer_core.errors import DatasetError, ImageError

FUZZ = settings(max_examples=150, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _encoded(fmt: str) -> bytes:
    rng = np.random.default_rng(0)
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (40, 56, 3), dtype=np.uint8)).save(buffer, fmt)
    return buffer.getvalue()


VALID = {"JPEG": _encoded("JPEG"), "PNG": _encoded("PNG"), "GIF": _encoded("GIF"), "BMP": _encoded("BMP")}


def _decode_or_project_error(data: bytes) -> None:
    try:
        rgb = load_rgb(data)
    except ImageError as error:
        assert str(error)
    else:
        assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3


@FUZZ
@given(st.binary(min_size=0, max_size=4096))
def test_random_bytes_never_escape_as_another_exception(data):
    _decode_or_project_error(data)


@FUZZ
@given(fmt=st.sampled_from(sorted(VALID)), edits=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)),
                                                         min_size=1, max_size=12),
       cut=st.one_of(st.none(), st.integers(0, 10_000)))
def test_mutated_and_truncated_images_give_a_result_or_an_image_error(fmt, edits, cut):
    data = bytearray(VALID[fmt])
    for position, value in edits:
        data[position % len(data)] = value
    if cut is not None:
        data = data[: cut % len(data)]
    _decode_or_project_error(bytes(data))


@FUZZ
@given(st.text(alphabet=st.sampled_from(list("0123456789 ,\n-.abcUsagePrivateTestemotionpixels\"")), max_size=3000))
def test_random_csv_text_gives_a_dataset_or_a_dataset_error(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("fuzz") / "random.csv"
    path.write_text(text)
    try:
        data = load_dataset(path, use_cache=False)
    except DatasetError as error:
        assert str(path) in str(error)
    else:
        assert data.images.shape[1:] == (48, 48) and len(data.images) == len(data.labels)


def test_eight_threads_sharing_one_predictor_get_the_single_threaded_answers(tiny_model_path, astronaut_jpeg):
    from fer_core.inference.predictor import Predictor

    predictor = Predictor.load(tiny_model_path)
    photo = astronaut_jpeg.read_bytes()
    rng = np.random.default_rng(1)
    inputs = [photo] + [rng.integers(0, 256, (n, 48, 48)).astype(np.uint8) for n in (1, 2, 3, 5)]

    def answer(item):
        if isinstance(item, bytes):
            return np.array([list(f.probabilities.values()) for f in predictor.predict(item)])
        return predictor.classify(item)

    expected = [answer(item) for item in inputs]
    results, failures = {}, []

    def worker(thread: int) -> None:
        try:
            for call in range(50):
                index = (thread + call) % len(inputs)
                results[(thread, call)] = (index, answer(inputs[index]))
        except Exception as error:  # noqa: BLE001 - the test reports any failure
            failures.append(repr(error))

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not failures, failures
    assert len(results) == 8 * 50
    for index, got in results.values():
        np.testing.assert_array_equal(got, expected[index])


@pytest.mark.parametrize("edits, cut", [([(2, 0)], 18), ([(30, 4)], None)])  # once escaped as OSError
def test_bmp_with_a_broken_header_is_an_image_error(edits, cut):
    data = bytearray(VALID["BMP"])
    for position, value in edits:
        data[position] = value
    with pytest.raises(ImageError, match="damaged or truncated"):
        load_rgb(bytes(data[:cut] if cut is not None else data))
