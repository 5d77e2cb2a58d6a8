"""The arithmetic the project's linear models share: unit-length rows, and softmax over a linear layer.

The components keep a fitted logistic regression as plain arrays (no pickle) and score with them here,
as scikit-learn's multinomial model does: P = softmax(x . weights + bias).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def unit_rows(vectors: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    unit: npt.NDArray[np.float32] = (vectors / np.maximum(norms, 1e-9)).astype(np.float32)
    return unit


def probabilities(
    vectors: npt.NDArray[np.float32], weights: npt.NDArray[np.float32], bias: npt.NDArray[np.float32]
) -> npt.NDArray[np.float32]:
    """For each vector (made unit length), the probability of each class: shape (len(vectors), classes)."""
    logits = unit_rows(vectors) @ weights.T + bias
    logits -= logits.max(axis=1, keepdims=True)
    exponentials = np.exp(logits)
    chances: npt.NDArray[np.float32] = exponentials / exponentials.sum(axis=1, keepdims=True)
    return chances
