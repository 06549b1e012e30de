"""tools/pair_scores.py: combinations are scored as the mean of their members' probabilities."""

from __future__ import annotations

import sys

import numpy as np

from conftest import REPO

sys.path.insert(0, str(REPO / "tools"))

from pair_scores import agreement_with, combination_scores  # noqa: E402


def _one_hot(classes: list[int]) -> np.ndarray:
    return np.eye(7)[classes]


def test_a_pair_is_scored_on_the_mean_of_its_members_and_with_the_mirror():
    labels = np.array([0, 1, 2])
    # a is right on faces 0 and 1; b is confidently right on face 2 and barely wrong on face 1.
    a = 0.6 * _one_hot([0, 1, 3]) + 0.4 / 7
    b = 0.55 * _one_hot([0, 2, 2]) + 0.45 / 7
    mirrored_b = _one_hot([0, 1, 2])  # b's mirror is right on every face
    rows = combination_scores({"a": (a, a), "b": (b, mirrored_b)}, labels)
    assert len(rows) == 1
    names, plain, tta = rows[0]
    assert names == ("a", "b")
    assert plain == np.mean(((a + b) / 2).argmax(1) == labels)
    assert tta == 1.0  # the mirror tips face 2, which the plain mean gets wrong
    assert plain < tta


def test_every_combination_of_two_or_more_is_scored():
    labels = np.array([3])
    predictions = {name: (_one_hot([3]), _one_hot([3])) for name in "abcd"}
    rows = combination_scores(predictions, labels)
    assert len(rows) == 6 + 4 + 1
    assert {len(names) for names, _, _ in rows} == {2, 3, 4}
    assert all(plain == tta == 1.0 for _, plain, tta in rows)


def test_agreement_counts_fixed_and_broken_answers():
    labels = np.array([0, 1, 2, 3])
    reference = _one_hot([0, 1, 5, 5])   # right, right, wrong, wrong
    other = _one_hot([0, 6, 2, 5])       # agrees on 0 and 3, breaks 1, fixes 2
    assert agreement_with(reference, other, labels) == {"agree": 0.5, "fixed": 1, "broken": 1}
