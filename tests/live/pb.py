"""A small, independent decoder of pprof's profile.proto (gzipped or raw), for the tests: it
shares no code with drip's encoder, so the two checking each other means something."""
import gzip


def _varint(b, i):
    v = shift = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << shift
        shift += 7
        if not c & 0x80:
            return v, i


def fields(b):
    """Yields (field number, wire type, value) of one message; value is int or bytes."""
    i = 0
    while i < len(b):
        key, i = _varint(b, i)
        f, w = key >> 3, key & 7
        if w == 0:
            v, i = _varint(b, i)
        elif w == 2:
            n, i = _varint(b, i)
            v = b[i:i + n]
            i += n
            if len(v) != n:
                raise ValueError("truncated")
        elif w == 1:
            v = int.from_bytes(b[i:i + 8], "little")
            i += 8
        elif w == 5:
            v = int.from_bytes(b[i:i + 4], "little")
            i += 4
        else:
            raise ValueError("wire type %d" % w)
        yield f, w, v


def _packed(v, w):
    if w == 0:
        return [v]
    out, i = [], 0
    while i < len(v):
        x, i = _varint(v, i)
        out.append(x)
    return out


def _msg(b):
    d = {}
    for f, w, v in fields(b):
        d.setdefault(f, []).append((w, v))
    return d


def decode(data):
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    top = _msg(data)
    strings = [v.decode() for _, v in top.get(6, [])]
    s = lambda i: strings[i]  # noqa: E731

    def one(m, f, default=0):
        return m[f][0][1] if f in m else default

    prof = {"strings": strings}
    prof["sample_type"] = [(s(one(_msg(v), 1)), s(one(_msg(v), 2))) for _, v in top.get(1, [])]
    pt = _msg(top[11][0][1]) if 11 in top else {}
    prof["period_type"] = (s(one(pt, 1)), s(one(pt, 2))) if pt else None
    prof["period"] = one(top, 12)
    prof["default_sample_type"] = s(one(top, 14))
    prof["time_nanos"] = one(top, 9)
    prof["duration_nanos"] = one(top, 10)
    funcs = {}
    for _, v in top.get(5, []):
        m = _msg(v)
        funcs[one(m, 1)] = {"name": s(one(m, 2)), "system_name": s(one(m, 3)), "filename": s(one(m, 4))}
    locs = {}
    for _, v in top.get(4, []):
        m = _msg(v)
        lines = []
        for _, lv in m.get(4, []):
            lm = _msg(lv)
            lines.append((funcs[one(lm, 1)]["name"], funcs[one(lm, 1)]["filename"], one(lm, 2)))
        locs[one(m, 1)] = {"mapping": one(m, 2), "address": one(m, 3), "lines": lines}
    prof["mappings"] = []
    for _, v in top.get(3, []):
        m = _msg(v)
        prof["mappings"].append({"id": one(m, 1), "start": one(m, 2), "limit": one(m, 3), "offset": one(m, 4),
                                 "filename": s(one(m, 5)), "build_id": s(one(m, 6)),
                                 "has_functions": one(m, 7), "has_line_numbers": one(m, 9)})
    prof["samples"] = []
    for _, v in top.get(2, []):
        m = _msg(v)
        ids = [x for w, b in m.get(1, []) for x in _packed(b, w)]
        vals = [x for w, b in m.get(2, []) for x in _packed(b, w)]
        labels = {}
        for _, lv in m.get(3, []):
            lm = _msg(lv)
            labels[s(one(lm, 1))] = one(lm, 3)
        frames = [ln for i in ids for ln in locs[i]["lines"]]
        prof["samples"].append({"functions": [f[0] for f in frames], "frames": frames, "values": vals,
                                "labels": labels, "locations": [locs[i] for i in ids]})
    return prof
