"""What crosses between layers: one boundary array as float values, or as integer codes plus the grid.

pdADMM's layers exchange the boundary arrays p_{l+1} (backward) and q_l, u_l (forward). With pdADMM-G-Q
the quantized ones lie in the finite set Δ, so :func:`encode` sends them as the index of their level
(:func:`amref.quantize.encode`: ``uint8`` for the paper's 22 levels, ``uint16`` for the code's 1,000)
together with the grid, and :func:`decode` turns them back into the same floats on arrival. Everything
else travels as it is. A :class:`Message` knows its size (:attr:`Message.nbytes`); the runners add up
those sizes to report the bytes each iteration sends.

Encoding an array that is on the grid and decoding it gives back the identical array (``decode(encode(x,
grid)) == x`` whenever ``x ∈ Δ``), which is why a runner that moves codes computes the same iterates
as one that moves floats.
"""

from __future__ import annotations

import dataclasses
import math

from ..backend import Array, dtype_name, namespace
from ..quantize import Grid
from ..quantize import decode as decode_codes
from ..quantize import encode as encode_codes

__all__ = ["decode", "encode", "Message", "message_sizeof"]


@dataclasses.dataclass(frozen=True)
class Message:
    """One boundary array on its way to a neighbouring layer.

    Attributes
    ----------
    payload : array
        The values (``grid`` None) or their integer codes.
    grid : Grid or None
        Δ, when ``payload`` holds codes.
    dtype : str
        The float dtype the receiver decodes into.
    """

    payload: Array
    grid: Grid | None
    dtype: str

    @property
    def nbytes(self) -> int:
        """Bytes of the payload (the grid is a few numbers and not counted)."""
        xp = namespace(self.payload)
        dt = self.payload.dtype
        bits = xp.finfo(dt).bits if xp.isdtype(dt, "real floating") else xp.iinfo(dt).bits
        return math.prod(self.payload.shape) * bits // 8


def encode(x: Array, grid: Grid | None = None) -> Message:
    """``x`` as a message: integer codes of ``grid`` when one is given (``x`` must lie on it), else as is."""
    if grid is None:
        return Message(x, None, dtype_name(x))
    return Message(encode_codes(x, grid), grid, dtype_name(x))


def decode(message: Message | None) -> Array | None:
    """The array a message carries (None passes through: the first and last layers lack a neighbour)."""
    if message is None:
        return None
    if message.grid is None:
        return message.payload
    return decode_codes(message.payload, message.grid, message.dtype)


def message_sizeof(message: Message) -> int:
    """``dask.sizeof`` of a message (registered by :mod:`amref.parallel.dask` for its memory accounting)."""
    return message.nbytes + 100
