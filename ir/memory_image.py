"""The weight memory image: one ``$readmemh`` word per weight, address ``j * n_neurons + n``.

Written once here for every consumer: the artifact's ``core<k>.hex`` files, ``spikeforge
verilog``'s ``weights.hex`` and the board flow. Each line holds one two's-complement word of
``weight_bits`` bits as ``ceil(weight_bits / 4)`` hex digits.
"""

from __future__ import annotations

import math

import numpy as np

from spikeforge.ir.errors import ConfigError

ORDER = "j*N+n"  #: address of weight ``w[j, n]`` in a core of ``N`` neurons


def hex_digits(weight_bits: int) -> int:
    return math.ceil(weight_bits / 4)


def weights_to_hex(weights: np.ndarray, weight_bits: int) -> str:
    """``$readmemh`` text of ``weights[j, n]`` (row-major: address ``j * N + n``)."""
    mask = (1 << weight_bits) - 1
    digits = hex_digits(weight_bits)
    return "".join(f"{int(w) & mask:0{digits}x}\n" for w in np.asarray(weights).reshape(-1))


def hex_to_weights(text: str, shape, weight_bits: int, name: str) -> np.ndarray:
    """Parse :func:`weights_to_hex` output back to signed weights of ``shape``; errors name
    ``name`` and the line."""
    words = [line.strip() for line in text.splitlines()]
    words = [w for w in words if w and not w.startswith("//")]
    expected = int(np.prod(shape))
    if len(words) != expected:
        raise ConfigError(f"{name}: holds {len(words)} words, expected {expected} "
                          f"(shape {list(shape)})")
    digits = hex_digits(weight_bits)
    values = np.empty(expected, dtype=np.int64)
    for address, word in enumerate(words):
        if not all(ch in "0123456789abcdefABCDEF" for ch in word):
            raise ConfigError(f"{name}: line {address + 1}: {word!r} is not a hex word")
        value = int(word, 16)
        if len(word) > digits or value >= (1 << weight_bits):
            raise ConfigError(f"{name}: line {address + 1}: {word!r} does not fit "
                              f"{weight_bits} bits")
        values[address] = value - (1 << weight_bits) if value >> (weight_bits - 1) else value
    return values.reshape(shape)
