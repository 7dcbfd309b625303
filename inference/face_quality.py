"""Image measures shared by the face analyzers: size-independent sharpness of a face crop,
and conversion of arbitrary array-likes to the contiguous uint8 RGB that the models need."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from domain.faces import Box

SHARPNESS_SIDE = 64


def as_rgb(image: Any) -> np.ndarray:
    """A C-contiguous (H, W, 3) uint8 view or copy; grey images are expanded."""
    array = np.asarray(image)
    if array.dtype != np.uint8:
        raise ValueError("images must be uint8")
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    if array.ndim != 3 or array.shape[2] != 3:
        raise ValueError("images must be (H, W, 3) RGB")
    return np.ascontiguousarray(array)


def face_sharpness(image: np.ndarray, box: Box) -> float:
    """Variance of the Laplacian of the face's luma, resampled to 64x64 first: without the
    resampling a large face would look sharper than a small one of the same focus."""
    height, width = image.shape[:2]
    left, top = max(0, int(box.left)), max(0, int(box.top))
    right, bottom = min(width, round(box.right)), min(height, round(box.bottom))
    if right - left < 4 or bottom - top < 4:
        return 0.0
    grey = cv2.cvtColor(image[top:bottom, left:right], cv2.COLOR_RGB2GRAY)
    # INTER_AREA when shrinking averages away sensor noise; upsampling small faces must
    # not invent detail, which linear interpolation does not.
    shrinking = grey.shape[0] > SHARPNESS_SIDE
    patch = cv2.resize(grey, (SHARPNESS_SIDE, SHARPNESS_SIDE),
                       interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)
    return float(cv2.Laplacian(patch.astype(np.float32), cv2.CV_32F).var())
