"""Augmentation (model/augment.py): the map's geometry, seeding, value range, errors."""

import numpy as np
import pytest

from spikeforge.ir.errors import ConfigError
from spikeforge.model.augment import Augmentation, bilinear_sample, elastic_field

SHAPE = (9, 9)


def dot_image(r, c, value=200):
    x = np.zeros(SHAPE, dtype=np.uint8)
    x[r, c] = value
    return x.reshape(1, -1)


def test_identity_and_whole_pixel_shifts_move_pixels_unchanged():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (20, 81)).astype(np.uint8)
    np.testing.assert_array_equal(Augmentation()(x, SHAPE, rng), x)
    out = Augmentation(max_shift=2)(x, SHAPE, np.random.default_rng(1))
    # every output row is its input moved by (dy, dx) in -2..2, zeros shifted in
    for a, b in zip(x.reshape(-1, 9, 9), out.reshape(-1, 9, 9)):
        padded = np.pad(a, 2)
        assert any(np.array_equal(b, padded[2 + dy:11 + dy, 2 + dx:11 + dx])
                   for dy in range(-2, 3) for dx in range(-2, 3))


def test_rotation_by_90_degrees_moves_a_dot_to_the_rotated_place():
    # output q samples the input at c + R(theta) (q - c): a dot at (r, c) relative to the
    # centre appears where R(theta) maps it back, here (row, col) offsets (-3, 0) -> (0, -3)
    aug = Augmentation(max_rotation=90.0)
    x = dot_image(1, 4)

    class Fixed:  # draws theta = +90 degrees exactly (uniform(-90, 90) at its top)
        def uniform(self, lo, hi, n):
            return np.full(n, hi) if hi == 90.0 else np.full(n, 1.0 if hi == 1.0 else 0.0)

        def integers(self, lo, hi, size):
            return np.zeros(size, dtype=np.int64)

    out = aug(x, SHAPE, Fixed()).reshape(SHAPE)
    assert out[4, 7] == 200 and out.sum() == 200


def test_same_seed_same_images_and_values_stay_in_range():
    x = np.random.default_rng(0).integers(0, 256, (10, 784)).astype(np.uint8)
    aug = Augmentation(1, 10.0, 0.1, 0.2, 8.0, 4.0)
    a = aug(x, (28, 28), np.random.default_rng(5))
    b = aug(x, (28, 28), np.random.default_rng(5))
    c = aug(x, (28, 28), np.random.default_rng(6))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.dtype == np.uint8 and a.shape == x.shape


def test_nearest_keeps_the_intensities_bilinear_blurs():
    rng = np.random.default_rng(0)
    x = np.where(rng.random((50, 784)) < 0.2, 255, 0).astype(np.uint8)
    near = Augmentation(1, 10.0, 0.1, 0.2, 8.0, nearest=True)(x, (28, 28), np.random.default_rng(1))
    assert set(np.unique(near)) <= {0, 255}
    blur = Augmentation(1, 10.0, 0.1, 0.2, 8.0)(x, (28, 28), np.random.default_rng(1))
    assert len(np.unique(blur)) > 10


def test_bilinear_sample_interpolates_and_is_zero_outside():
    img = np.arange(9, dtype=np.float64).reshape(1, 3, 3)
    r = np.array([[[0.5, 1.0, -1.0]]])
    c = np.array([[[0.5, 2.0, 0.0]]])
    np.testing.assert_allclose(bilinear_sample(img, r, c), [[[2.0, 5.0, 0.0]]])
    # half a pixel outside: half the border value
    np.testing.assert_allclose(bilinear_sample(img, np.array([[[-0.5]]]), np.array([[[1.0]]])),
                               [[[0.5]]])


def test_elastic_field_is_smooth_and_scaled_by_alpha():
    d1 = elastic_field(4, (28, 28), 1.0, 4.0, np.random.default_rng(0))
    d8 = elastic_field(4, (28, 28), 8.0, 4.0, np.random.default_rng(0))
    np.testing.assert_allclose(d8, 8 * d1, rtol=1e-6)
    # neighbours move together: differences are far smaller than the values
    assert np.abs(np.diff(d1, axis=3)).mean() < 0.3 * np.abs(d1).mean()


@pytest.mark.parametrize("kwargs, name", [({"max_rotation": -1}, "max_rotation"),
                                          ({"max_scale": 1.0}, "max_scale"),
                                          ({"max_shift": 1.5}, "max_shift"),
                                          ({"elastic_sigma": 0}, "elastic_sigma")])
def test_bad_parameters_are_config_errors(kwargs, name):
    with pytest.raises(ConfigError, match=name):
        Augmentation(**kwargs)


def test_wrong_image_size_is_a_config_error():
    with pytest.raises(ConfigError, match="x: expected"):
        Augmentation(1)(np.zeros((2, 80), dtype=np.uint8), SHAPE, np.random.default_rng(0))
