import random
import struct
import unicodedata

import pytest
from tokenizers.normalizers import Precompiled

from assistant.charsmap import compile_charsmap

MIXED = {
    "\t": " ",  # 1-byte UTF-8
    "\x01": "",  # deletion
    "é": "e",  # 2 bytes
    "Ａ": "A",  # 3 bytes
    "ﬁ": "fi",  # 3 bytes, expands
    "。": ".",
    "😀": ":-)",  # 4 bytes
    "𝐀": "A",  # 4 bytes, supplementary-plane letter
}


def reference(mapping, text):
    return "".join(mapping.get(ch, ch) for ch in text)


def lookup(blob, key):
    """Walk the compiled trie as spm_precompiled does; the replacement for ``key`` or None."""
    (size,) = struct.unpack_from("<I", blob)
    units = struct.unpack_from(f"<{size // 4}I", blob, 4)
    pool = blob[4 + size :]

    def offset(u):
        return (u >> 10) << ((u & (1 << 9)) >> 6)

    pos = offset(units[0])
    found = None
    for c in key.encode("utf-8"):
        pos ^= c
        unit = units[pos]  # IndexError here would crash readers that skip bounds checks
        if unit & 0x800000FF != c:
            break
        pos ^= offset(unit)
        if (unit >> 8) & 1 and found is None:
            start = units[pos] & 0x7FFFFFFF
            found = pool[start : pool.index(b"\0", start)].decode("utf-8")
    return found


def test_format_header_trie_and_pool():
    blob = compile_charsmap(MIXED)
    (size,) = struct.unpack_from("<I", blob)
    assert size % (4 * 256) == 0  # whole 256-unit blocks
    pool = blob[4 + size :]
    assert pool.endswith(b"\0") and set(pool.split(b"\0")[:-1]) == {v.encode() for v in MIXED.values()}
    for key, value in MIXED.items():
        assert lookup(blob, key) == value
    for other in ["a", "E", "É", "ｂ", "中", "😁", "𝐁"]:
        assert lookup(blob, other) is None


def test_tokenizers_precompiled_normalises_like_the_map():
    norm = Precompiled(precompiled_charsmap=compile_charsmap(MIXED))
    assert norm.normalize_str("\x01Ａpple\tﬁne。") == "Apple fine."
    for text in [
        "中文客服\tＡＢＣ😀 café ﬁx 𝐀𝐀\x01",
        "\x01\x01退货。Return policy😀😀",
        "no mapped characters 你好 🙂",
        "",
        "𝐀",
        "é\x01é",
    ]:
        assert norm.normalize_str(text) == reference(MIXED, text)


def test_list_of_ints_is_accepted_too():
    norm = Precompiled(precompiled_charsmap=list(compile_charsmap(MIXED)))
    assert norm.normalize_str("Ａ\tﬁ") == "A fi"


def test_empty_map_changes_nothing():
    norm = Precompiled(precompiled_charsmap=compile_charsmap({}))
    assert norm.normalize_str("Ａ\tﬁ中😀") == "Ａ\tﬁ中😀"


@pytest.mark.parametrize("bad", [{"\0": "x"}, {"ab": "x"}, {"": "x"}, {"a": "x\0"}, {"\ud800": "x"}])
def test_rejects_what_the_format_cannot_hold(bad):
    with pytest.raises(ValueError):
        compile_charsmap(bad)


def test_quirk_grapheme_is_replaced_by_its_first_character():
    # tokenizers' Precompiled looks a whole grapheme cluster up when it is shorter than 6 bytes and,
    # on a hit, emits only the replacement of its first character: the combining acute is dropped.
    norm = Precompiled(precompiled_charsmap=compile_charsmap(MIXED))
    assert norm.normalize_str("Ａ\u0301") == "A"
    assert norm.normalize_str("Ａ\u0301\u0301") == "A\u0301\u0301"  # 7 bytes: per character


# Characters that never join the next character into a grapheme cluster, nor are joined by a previous
# one: no marks, format/control characters, Hangul jamo, regional indicators, emoji modifiers,
# halfwidth sound marks, or the few Lo characters that are Prepend or SpacingMark.
PLAIN_CATEGORIES = {"Lu", "Ll", "Lt", "Lo", "Nd", "Nl", "No", "Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po"}
PLAIN_CATEGORIES |= {"Sm", "Sc", "So", "Zs"}
NOT_PLAIN = [(0x1100, 0x11FF), (0xA960, 0xA97F), (0xD7B0, 0xD7FF), (0x1F1E6, 0x1F1FF), (0x0D4E, 0x0D4E)]
NOT_PLAIN += [(0x0E33, 0x0E33), (0x0EB3, 0x0EB3), (0x111C2, 0x111C3), (0x1193F, 0x1193F)]
NOT_PLAIN += [(0x11941, 0x11941), (0x11A3A, 0x11A3A), (0x11A84, 0x11A89), (0x11D46, 0x11D46)]


def plain(ch):
    cp = ord(ch)
    return unicodedata.category(ch) in PLAIN_CATEGORIES and not any(lo <= cp <= hi for lo, hi in NOT_PLAIN)


def test_random_nfkc_map_matches_per_code_point_reference():
    rng = random.Random(20240611)
    changed = [cp for cp in range(1, 0x30000) if unicodedata.normalize("NFKC", chr(cp)) != chr(cp)]
    cps = set(rng.sample(changed, 1500))
    while len(cps) < 4000:  # plus code points from anywhere, mostly mapped to themselves
        cp = rng.randrange(1, 0x110000)
        if not 0xD800 <= cp <= 0xDFFF:
            cps.add(cp)
    fillers = [chr(cp) for cp in [*range(0x20, 0x7F), *range(0x4E00, 0x4F00), *range(0x1F600, 0x1F650)]]
    fillers += list("абвгдежзий") + [chr(cp) for cp in range(0x300, 0x370)]  # and combining marks
    separator = "\x02"  # a control character: a grapheme boundary on both sides
    mapping = {chr(cp): unicodedata.normalize("NFKC", chr(cp)) for cp in cps}
    for ch in [*fillers, separator]:
        mapping.pop(ch, None)
    keys = sorted(mapping)

    blob = compile_charsmap(mapping)
    assert all(lookup(blob, key) == value for key, value in mapping.items())
    norm = Precompiled(precompiled_charsmap=blob)

    # tokenizers treats a grapheme cluster shorter than 6 bytes whose first character is mapped as
    # that one character (see the quirk test above), e.g. a mapped letter followed by a combining
    # mark.  The per-code-point reference would differ there, so a mapped character is followed
    # directly only by a character that cannot extend its cluster, otherwise by the separator.
    for _ in range(300):
        length = rng.randint(1, 40)
        chars = [rng.choice(keys) if rng.random() < 0.5 else rng.choice(fillers) for _ in range(length)]
        text = []
        for i, ch in enumerate(chars):
            text.append(ch)
            nxt = chars[i + 1] if i + 1 < len(chars) else None
            if ch in mapping and nxt is not None and not (plain(ch) and plain(nxt)):
                text.append(separator)
        text = "".join(text)
        assert norm.normalize_str(text) == reference(mapping, text), ascii(text)
