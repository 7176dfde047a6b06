"""Image augmentation for training on few images: shifts, small affine maps, elastic distortion.

numpy and torch only (no torchvision), seeded by a :class:`numpy.random.Generator`.

Each output pixel ``q = (row, col)`` of an ``h x w`` image samples the input at

    p = c + A (q - c) + s + d(q),       A = R(theta) [[1, k], [0, 1]] diag(1 / m, 1 / m),

with ``c`` the image centre, ``theta`` uniform in ``±max_rotation`` degrees, shear ``k``
uniform in ``±max_shear``, scale ``m`` uniform in ``1 ± max_scale``, a whole-pixel shift ``s``
(each axis uniform in ``-max_shift..max_shift``) and the elastic displacement ``d`` of Simard
et al. 2003 ("Best practices for convolutional neural networks applied to visual document
analysis"): a field of uniform(-1, 1) values per pixel and axis, smoothed by a Gaussian of
``elastic_sigma`` pixels and multiplied by ``elastic_alpha``. The value at ``p`` is bilinear
between the 4 neighbouring pixels (outside the image: 0) and rounded back to the input's
integer grid, so pixels below half a level stay exactly 0 (silent under the silent-zero TTFS
code) and a pure whole-pixel shift moves pixels without changing them. Bilinear reading blurs
(fewer saturated pixels, i.e. later TTFS input spikes); ``nearest`` reads the nearest pixel
instead, which keeps the images' mix of intensities.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from spikeforge.ir.errors import ConfigError


def _gaussian_kernel(sigma: float) -> torch.Tensor:
    radius = max(1, int(math.ceil(3 * sigma)))
    x = torch.arange(-radius, radius + 1, dtype=torch.float32)
    k = torch.exp(-0.5 * (x / sigma) ** 2)
    return k / k.sum()


def elastic_field(n: int, shape: tuple, alpha: float, sigma: float,
                  rng: np.random.Generator) -> np.ndarray:
    """``[n, 2, h, w]`` displacements (rows, cols) in pixels: uniform(-1, 1) noise smoothed by a
    Gaussian of ``sigma`` pixels (separable, zero padding), times ``alpha``."""
    h, w = shape
    noise = torch.from_numpy(rng.uniform(-1.0, 1.0, (n * 2, 1, h, w)).astype(np.float32))
    k = _gaussian_kernel(sigma)
    r = len(k) // 2
    smooth = torch.nn.functional.conv2d(noise, k.view(1, 1, -1, 1), padding=(r, 0))
    smooth = torch.nn.functional.conv2d(smooth, k.view(1, 1, 1, -1), padding=(0, r))
    return (alpha * smooth).reshape(n, 2, h, w).numpy().astype(np.float64)


def bilinear_sample(images: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``images [n, h, w]`` read at real coordinates ``rows, cols [n, h, w]`` (bilinear,
    0 outside the image), float64."""
    n, h, w = images.shape
    padded = np.zeros((n, h + 2, w + 2), dtype=np.float64)   # a ring of zeros outside
    padded[:, 1:-1, 1:-1] = images
    r = np.clip(rows + 1, 0, h + 1)                           # stay inside the ring
    c = np.clip(cols + 1, 0, w + 1)
    r0 = np.floor(r).astype(np.int64)
    c0 = np.floor(c).astype(np.int64)
    fr, fc = r - r0, c - c0
    b = np.arange(n)[:, None, None]
    r1, c1 = np.minimum(r0 + 1, h + 1), np.minimum(c0 + 1, w + 1)
    return ((1 - fr) * (1 - fc) * padded[b, r0, c0] + (1 - fr) * fc * padded[b, r0, c1]
            + fr * (1 - fc) * padded[b, r1, c0] + fr * fc * padded[b, r1, c1])


@dataclass(frozen=True)
class Augmentation:
    """Random distortions of training images (see the module docstring for the map).
    All zero: the identity."""

    max_shift: int = 0            #: whole pixels, each axis
    max_rotation: float = 0.0     #: degrees
    max_scale: float = 0.0        #: relative: scale in [1 - s, 1 + s]
    max_shear: float = 0.0        #: shear factor
    elastic_alpha: float = 0.0    #: pixels (Simard's alpha)
    elastic_sigma: float = 4.0    #: pixels (Simard's sigma)
    nearest: bool = False         #: read the nearest pixel instead of bilinear (no blur)

    def __post_init__(self):
        for name in ("max_shift", "max_rotation", "max_scale", "max_shear", "elastic_alpha"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name}: must be >= 0, got {getattr(self, name)!r}")
        if not isinstance(self.max_shift, (int, np.integer)):
            raise ConfigError(f"max_shift: must be a whole number of pixels, got {self.max_shift!r}")
        if self.max_scale >= 1:
            raise ConfigError(f"max_scale: must be below 1, got {self.max_scale!r}")
        if self.elastic_sigma <= 0:
            raise ConfigError(f"elastic_sigma: must be > 0, got {self.elastic_sigma!r}")

    def coordinates(self, n: int, shape: tuple, rng: np.random.Generator):
        """Source coordinates ``(rows, cols)``, each ``[n, h, w]``, of ``n`` random maps."""
        h, w = shape
        cy, cx = (h - 1) / 2, (w - 1) / 2
        qy, qx = np.meshgrid(np.arange(h) - cy, np.arange(w) - cx, indexing="ij")
        th = np.deg2rad(rng.uniform(-self.max_rotation, self.max_rotation, n))
        k = rng.uniform(-self.max_shear, self.max_shear, n)
        m = rng.uniform(1 - self.max_scale, 1 + self.max_scale, n)
        s = rng.integers(-self.max_shift, self.max_shift + 1, (n, 2))
        cos, sin = np.cos(th) / m, np.sin(th) / m            # R(theta) [[1, k], [0, 1]] / m
        a = np.stack([np.stack([cos, cos * k - sin], 1), np.stack([sin, sin * k + cos], 1)], 1)
        rows = cy + s[:, 0, None, None] + a[:, 0, 0, None, None] * qy + a[:, 0, 1, None, None] * qx
        cols = cx + s[:, 1, None, None] + a[:, 1, 0, None, None] * qy + a[:, 1, 1, None, None] * qx
        if self.elastic_alpha:
            d = elastic_field(n, shape, self.elastic_alpha, self.elastic_sigma, rng)
            rows, cols = rows + d[:, 0], cols + d[:, 1]
        return rows, cols

    def __call__(self, x: np.ndarray, shape: tuple, rng: np.random.Generator,
                 max_value: int | None = None) -> np.ndarray:
        """``x [n, h*w]`` (flattened images of ``shape``) distorted, same dtype, each value
        rounded to the nearest integer and clipped to ``0..max_value`` (default: the dtype's
        maximum for integer images)."""
        x = np.asarray(x)
        h, w = shape
        if x.ndim != 2 or x.shape[1] != h * w:
            raise ConfigError(f"x: expected [n, {h * w}] images of shape {tuple(shape)}, "
                              f"got {list(x.shape)}")
        if max_value is None:
            max_value = np.iinfo(x.dtype).max if np.issubdtype(x.dtype, np.integer) else None
        rows, cols = self.coordinates(len(x), shape, rng)
        if self.nearest:  # copies of input values: the intensity (spike time) mix is kept
            rows, cols = np.rint(rows), np.rint(cols)
        out = bilinear_sample(x.reshape(-1, h, w).astype(np.float64), rows, cols)
        out = np.rint(out)
        out = np.clip(out, 0, max_value) if max_value is not None else np.maximum(out, 0)
        return out.reshape(len(x), h * w).astype(x.dtype)
