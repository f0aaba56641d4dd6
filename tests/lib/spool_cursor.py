"""Reads a spool's cursor file (user/stream/spool_cursor.h): two 512-byte slots written in
turn, "hwcursor SEQ SEG OFF N H1 .. HN SUM", the valid slot with the higher SEQ wins; the
older one-line form "SEG OFF H1 .. HN" is read too. Python standard library only."""

SLOT = 512
FNV0 = 1469598103934665603  # the project's FNV-1a start value (user/lib/hash.h)
PRIME = 1099511628211


def _fnv(data):
    h = FNV0
    for b in data:
        h = ((h ^ b) * PRIME) & 0xFFFFFFFFFFFFFFFF
    return h


def _slot(raw):
    """(seq, seg, off, hold) of one slot, or None when it is not whole or its sum is wrong."""
    if not raw.startswith(b"hwcursor "):
        return None
    words = raw.split(b" ")
    try:
        seq, seg, off, n = (int(w) for w in words[1:5])
        hold = [int(w) for w in words[5:5 + n]]
        sum_word = words[5 + n].rstrip(b"\n")
    except (ValueError, IndexError):
        return None
    text_len = len(b" ".join(words[:5 + n])) + 1
    if len(sum_word) != 16 or int(sum_word, 16) != _fnv(raw[:text_len]):
        return None
    return seq, seg, off, hold


def read(path):
    """(seg, off, hold) of the cursor file at path; None when it holds no cursor."""
    with open(path, "rb") as f:
        data = f.read(2 * SLOT)
    best = None
    for i in range(2):
        got = _slot(data[i * SLOT:(i + 1) * SLOT])
        if got and (best is None or got[0] > best[0]):
            best = got
    if best:
        return best[1], best[2], best[3]
    words = data.split(b"\n", 1)[0].split()
    if len(words) >= 2 and all(w.isdigit() for w in words):
        return int(words[0]), int(words[1]), [int(w) for w in words[2:]]
    return None
