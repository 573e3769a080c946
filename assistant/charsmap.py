"""Compile a per-code-point normalisation map into SentencePiece's ``precompiled_charsmap``.

The result loads into Hugging Face ``tokenizers`` with
``tokenizers.normalizers.Precompiled(precompiled_charsmap=compile_charsmap(mapping))``
(and is the same blob SentencePiece keeps in ``normalizer_spec.precompiled_charsmap``).

Binary layout::

    uint32 LE      size in bytes of the trie array (4 * number of units)
    uint32 LE[]    the trie: a darts-clone double array
    bytes          the "normalized" blob: every distinct replacement in UTF-8, each followed by NUL

The trie maps the UTF-8 bytes of each key to the byte offset of its replacement in the blob (a
replacement is read up to the next NUL, so an empty replacement is a lone NUL and deletes the key).
A unit of the double array reads as::

    has_leaf = (unit >> 8) & 1
    value    = unit & 0x7FFFFFFF
    label    = unit & (0x80000000 | 0xFF)
    offset   = (unit >> 10) << ((unit & (1 << 9)) >> 6)

A lookup starts with ``pos = offset(a[0])``; for each byte ``c`` it does ``pos ^= c``, stops unless
``label(a[pos]) == c``, then ``pos ^= offset(a[pos])``; if that unit has its leaf bit,
``value(a[pos])`` is the result for the bytes read so far.  So every node owns a "base" (its position
XOR its offset), its child for byte ``c`` sits at ``base ^ c`` and its value, if the node ends a key,
at ``base ^ 0`` with bit 31 set (a label no byte can equal).  Bases are unique across nodes, so a
label match can only come from the node's own child.  Offsets below 2**21 are stored as
``offset << 10``; larger ones must have their low 8 bits clear and are stored as
``((offset >> 8) << 10) | (1 << 9)``.  The array is padded to whole 256-unit blocks, so a lookup of
any byte from any node reads inside the array (readers do not all bounds-check).

Readers stop at a NUL byte in the input, so U+0000 cannot be a key; a replacement may not contain
U+0000 either, since NUL ends it in the blob.
"""

from __future__ import annotations

import struct
from collections import deque

__all__ = ["compile_charsmap"]

_VALUE_FLAG = 1 << 31
_HAS_LEAF = 1 << 8
_EXTENDED = 1 << 9
_MAX_UNITS = 1 << 29
_WINDOW = 16 * 256


def _encode_offset(offset: int) -> int | None:
    """The offset bits of a unit, or None when ``offset`` cannot be stored."""
    if offset < 1 << 21:
        return offset << 10
    if offset < 1 << 29 and not offset & 0xFF:
        return ((offset >> 8) << 10) | _EXTENDED
    return None


def _double_array(root: dict) -> list[int]:
    """Lay out the byte trie ``root`` (byte -> child node; key 0 -> value) as darts-clone units."""
    units: list[int] = []
    used = bytearray()
    nxt: list[int] = []  # nxt[i] == i when i is free, else a later position to look from

    def grow() -> None:
        if len(used) >= _MAX_UNITS:
            raise ValueError("mapping too large for a darts-clone double array")
        n = len(used)
        used.extend(bytes(256))
        units.extend([0] * 256)
        nxt.extend(range(n, n + 256))

    def take(i: int) -> None:
        used[i] = 1
        nxt[i] = i + 1

    def first_free(i: int) -> int:
        j = i
        while True:
            if j >= len(used):
                grow()
            if nxt[j] == j:
                break
            j = nxt[j]
        while i != j:  # path compression
            nxt[i], i = j, nxt[i]
        return j

    grow()
    take(0)  # the root unit
    queue = deque([(0, root)])
    while queue:
        pos, node = queue.popleft()
        labels = sorted(node)
        lead = labels[0] if labels else 0
        # Like darts-clone, only the last few blocks are searched: holes further back are given up.
        f = first_free(max(0, len(used) - _WINDOW))
        while True:
            # base is in f's 256-block, so every base ^ byte lies inside the array.  Slot ``base``
            # itself is reserved even when the node has no value, which keeps bases unique.
            if pos ^ f < 1 << 21:
                base, step = f ^ lead, f + 1
            else:  # a long offset needs its low 8 bits clear: one candidate per block
                base, step = (f & ~0xFF) | (pos & 0xFF), (f | 0xFF) + 1
            bits = _encode_offset(pos ^ base)
            if bits is not None and not used[base] and not any(used[base ^ c] for c in labels):
                break
            f = first_free(step)
        units[pos] |= bits
        take(base)
        for c in labels:
            slot = base ^ c
            take(slot)
            if c == 0:
                units[slot] = node[0] | _VALUE_FLAG
            else:
                child = node[c]
                units[slot] = c | (_HAS_LEAF if 0 in child else 0)
                queue.append((slot, child))
    return units


def compile_charsmap(mapping: dict[str, str]) -> bytes:
    """Compile ``{code point: replacement}`` into a SentencePiece ``precompiled_charsmap``.

    Every key must be a single code point other than U+0000; a replacement may be empty (the code
    point is deleted) or several code points, but may not contain U+0000.  Code points absent from
    ``mapping`` are left unchanged by the normaliser.
    """
    blob = bytearray()
    offsets: dict[str, int] = {}
    root: dict = {}
    for key, value in sorted(mapping.items()):
        if not isinstance(key, str) or len(key) != 1:
            raise ValueError(f"key {key!r} is not a single code point")
        if not isinstance(value, str):
            raise ValueError(f"replacement for {key!r} is not a str")
        if key == "\0" or "\0" in value:
            raise ValueError(f"U+0000 cannot appear in a charsmap ({key!r} -> {value!r})")
        try:
            key_bytes, value_bytes = key.encode("utf-8"), value.encode("utf-8")
        except UnicodeEncodeError as exc:  # lone surrogates
            raise ValueError(f"{key!r} -> {value!r} is not encodable as UTF-8") from exc
        if value not in offsets:
            offsets[value] = len(blob)
            blob += value_bytes + b"\0"
        node = root
        for byte in key_bytes:
            node = node.setdefault(byte, {})
        node[0] = offsets[value]
    if len(blob) >= _VALUE_FLAG:
        raise ValueError("replacements too large: offsets must fit in 31 bits")
    units = _double_array(root)
    trie = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(trie)) + trie + bytes(blob)
