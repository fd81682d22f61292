"""A clip's motion series (scores, boxes) packed as doubles, read back as tuples.

Every finished clip stays in the clip index for as long as it is kept, so the index's memory
grows with how many clips there are and how long they run. As tuples of Python floats, a score
sample costs about 110 bytes and a box sample about 240; packed, they cost 16 and 40, and a
long clip's timeline (two samples a second) no longer dominates its whole record.
"""

from abc import abstractmethod
from array import array
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain
from typing import Self, overload

from .motion import Box

type ScoreSample = tuple[float, float]  # (seconds from the clip's start, score)
type BoxSample = tuple[float, Box]  # (seconds from the clip's start, box in 0..1)


class _Packed[Row](Sequence[Row]):
    """Rows of a fixed number of floats in one array of doubles."""

    __slots__ = ("_values",)
    _WIDTH = 1

    def __init__(self, values: array[float]) -> None:
        if len(values) % self._WIDTH:
            msg = f"{type(self).__name__} needs {self._WIDTH} numbers a row"
            raise ValueError(msg)
        self._values = values

    @classmethod
    def of(cls, samples: Iterable[Row]) -> Self:
        """Pack samples (already checked: finite numbers, valid boxes); packed ones stay."""
        if isinstance(samples, cls):
            return samples
        # From a list, the array is allocated exactly; from an iterator it would over-allocate.
        return cls(array("d", list(cls._numbers(samples))))

    @staticmethod
    @abstractmethod
    def _numbers(samples: Iterable[Row]) -> Iterable[float]:
        """Flatten samples into the numbers of their rows."""

    @abstractmethod
    def _row(self, offset: int) -> Row:
        """Build the row whose numbers start at offset."""

    def __len__(self) -> int:
        return len(self._values) // self._WIDTH

    @overload
    def __getitem__(self, index: int) -> Row: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[Row, ...]: ...
    def __getitem__(self, index: int | slice) -> Row | tuple[Row, ...]:
        # A range of row offsets does the index arithmetic: negatives, slices, IndexError.
        offsets = self._offsets()[index]
        if isinstance(offsets, range):
            return tuple(map(self._row, offsets))
        return self._row(offsets)

    def __iter__(self) -> Iterator[Row]:
        return map(self._row, self._offsets())

    def _offsets(self) -> range:
        return range(0, len(self._values), self._WIDTH)

    def __eq__(self, other: object) -> bool:
        if type(other) is type(self):
            return self._values == other._values
        if isinstance(other, tuple | list):
            return tuple(self) == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))  # equal to the tuple of its rows, so hashed like it

    def __repr__(self) -> str:
        return f"{type(self).__name__}({tuple(self)!r})"


class PackedScores(_Packed[ScoreSample]):
    """A clip's motion timeline: (offset, score) samples."""

    __slots__ = ()
    _WIDTH = 2

    @staticmethod
    def _numbers(samples: Iterable[ScoreSample]) -> Iterable[float]:
        return chain.from_iterable(samples)

    def _row(self, offset: int) -> ScoreSample:
        values = self._values
        return values[offset], values[offset + 1]


class PackedBoxes(_Packed[BoxSample]):
    """Where a clip's motion was: (offset, box) samples."""

    __slots__ = ()
    _WIDTH = 5

    @staticmethod
    def _numbers(samples: Iterable[BoxSample]) -> Iterable[float]:
        return chain.from_iterable((offset, *box) for offset, box in samples)

    def _row(self, offset: int) -> BoxSample:
        offset_s, x0, y0, x1, y1 = self._values[offset : offset + 5]
        return offset_s, (x0, y0, x1, y1)
