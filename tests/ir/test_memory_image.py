"""The ``$readmemh`` memory image: one word per weight at address ``j * N + n``, its exact
round trip, and bad images named by file and line."""

import numpy as np
import pytest

from spikeforge.ir.errors import ConfigError
from spikeforge.ir.memory_image import hex_digits, hex_to_weights, weights_to_hex


def test_image_is_one_word_per_weight_in_address_order():
    weights = np.array([[1, -2, 3], [-32, 31, 0]])  # w[j, n] at address j * 3 + n
    text = weights_to_hex(weights, 6)  # 6-bit two's complement, 2 hex digits
    assert text == "01\n3e\n03\n20\n1f\n00\n"
    assert [hex_digits(b) for b in (2, 4, 5, 8, 9, 16)] == [1, 1, 2, 2, 3, 4]
    assert np.array_equal(hex_to_weights(text, (2, 3), 6, "w"), weights)


def test_hex_words_round_trip_for_16_bit_weights():
    weights = np.array([[-32768, -1, 0], [1, 32767, -300]])
    text = weights_to_hex(weights, 16)
    assert text.split()[:2] == ["8000", "ffff"]
    assert np.array_equal(hex_to_weights(text, (2, 3), 16, "w"), weights)


def test_reading_skips_blank_lines_and_comments():
    assert hex_to_weights("// core 0\n01\n\n  3e \n", (1, 2), 6, "w").tolist() == [[1, -2]]


@pytest.mark.parametrize("text, message", [
    ("01\n02\n", "core0.hex: holds 2 words, expected 3 (shape [1, 3])"),
    ("01\nzz\n03\n", "core0.hex: line 2: 'zz' is not a hex word"),
    ("01\n-1\n03\n", "core0.hex: line 2: '-1' is not a hex word"),
    ("01\n40\n03\n", "core0.hex: line 2: '40' does not fit 6 bits"),
    ("01\n001\n03\n", "core0.hex: line 2: '001' does not fit 6 bits"),
], ids=["word-count", "not-hex", "minus-sign", "too-large", "too-many-digits"])
def test_bad_images_are_named_by_file_and_line(text, message):
    with pytest.raises(ConfigError) as error:
        hex_to_weights(text, (1, 3), 6, "core0.hex")
    assert str(error.value) == message
