"""A tiny pprof (profile.proto) writer for drip's CLI tests: profiles with exactly known figures.

    build(samples, types=..., ...) -> bytes (raw protobuf); gzip it with gzip.compress if wanted.

A sample is (stack, values): stack leaf first, each frame either
  "name"                      a location with one line in function `name`
  ("callee", "caller", ...)   one location holding inline frames, callee first
  "0x1234@libfoo.so"          an unsymbolized location: an address in a mapping, no lines
values: one int per sample type.
Options cover what real writers differ in: packed or unpacked repeated fields, the string table
before or after the rest, unknown fields sprinkled in, default_sample_type, drop_frames, mappings.
"""


def varint(v):
    if v < 0:
        v += 1 << 64
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def key(field, wt):
    return varint(field << 3 | wt)


def f_varint(field, v):
    return key(field, 0) + varint(v)


def f_bytes(field, b):
    return key(field, 2) + varint(len(b)) + b


def f_packed(field, vals, packed=True):
    if packed:
        return f_bytes(field, b"".join(varint(v) for v in vals)) if vals else b""
    return b"".join(f_varint(field, v) for v in vals)


class Builder:
    def __init__(self):
        self.strings = [""]
        self.index = {"": 0}
        self.functions = {}   # name -> id
        self.locations = {}   # key -> (id, encoded)
        self.mappings = {}    # file -> id

    def s(self, text):
        if text not in self.index:
            self.index[text] = len(self.strings)
            self.strings.append(text)
        return self.index[text]

    def func(self, name):
        if name not in self.functions:
            self.functions[name] = len(self.functions) + 1
        return self.functions[name]

    def mapping(self, file):
        if file not in self.mappings:
            self.mappings[file] = len(self.mappings) + 1
        return self.mappings[file]

    def loc(self, frame):
        if frame in self.locations:
            return self.locations[frame][0]
        lid = len(self.locations) + 1
        body = f_varint(1, lid)
        if isinstance(frame, str) and frame.startswith("0x") and "@" in frame:
            addr, file = frame.split("@", 1)
            body += f_varint(2, self.mapping(file)) + f_varint(3, int(addr, 16))
        else:
            names = (frame,) if isinstance(frame, str) else frame
            body += f_varint(2, self.mapping("/usr/bin/prog")) + f_varint(3, 0x1000 + 16 * lid)
            for i, n in enumerate(names):
                body += f_bytes(4, f_varint(1, self.func(n)) + f_varint(2, 10 + i))
        self.locations[frame] = (lid, body)
        return lid


def build(samples, types=(("inuse_space", "bytes"),), default_type=None, packed=True,
          strings_first=False, unknown_fields=False, drop_frames=None, keep_frames=None,
          time_nanos=0, period=1, main_file="/usr/bin/prog", comments=()):
    b = Builder()
    b.mapping(main_file)
    out = []
    for t, u in types:
        out.append(f_bytes(1, f_varint(1, b.s(t)) + f_varint(2, b.s(u))))
    for stack, values in samples:
        ids = [b.loc(fr) for fr in stack]
        body = f_packed(1, ids, packed) + f_packed(2, values, packed)
        if unknown_fields:
            body += f_bytes(15, b"ignored") + f_varint(16, 7)
        out.append(f_bytes(2, body))
    for file, mid in sorted(b.mappings.items(), key=lambda kv: kv[1]):
        body = f_varint(1, mid) + f_varint(2, 0x400000 * mid) + f_varint(3, 0x400000 * mid + 0x100000)
        body += f_varint(5, b.s(file))
        if file == main_file:
            body += f_varint(7, 1) + f_varint(8, 1) + f_varint(9, 1)
        out.append(f_bytes(3, body))
    for frame, (lid, body) in sorted(b.locations.items(), key=lambda kv: kv[1][0]):
        out.append(f_bytes(4, body))
    for name, fid in sorted(b.functions.items(), key=lambda kv: kv[1]):
        body = f_varint(1, fid) + f_varint(2, b.s(name)) + f_varint(3, b.s(name)) + f_varint(4, b.s("prog.c"))
        out.append(f_bytes(5, body))
    tail = []
    if drop_frames:
        tail.append(f_varint(7, b.s(drop_frames)))
    if keep_frames:
        tail.append(f_varint(8, b.s(keep_frames)))
    if time_nanos:
        tail.append(f_varint(9, time_nanos))
    tail.append(f_bytes(11, f_varint(1, b.s("space")) + f_varint(2, b.s("bytes"))))
    tail.append(f_varint(12, period))
    for c in comments:
        tail.append(f_varint(13, b.s(c)))
    if default_type:
        tail.append(f_varint(14, b.s(default_type)))
    if unknown_fields:
        tail.append(f_bytes(99, b"\x01\x02\x03") + key(98, 5) + b"\0\0\0\0" + key(97, 1) + b"\0" * 8)
    strings = [f_bytes(6, s.encode()) for s in b.strings]
    parts = strings + out + tail if strings_first else out + tail + strings
    return b"".join(parts)
