"""Writes the seed corpus of the pprof reader's fuzz target into fuzz/corpus/pprof/.

    python3 fuzz/make_corpus.py [GO_HEAP_PROFILE]

Seeds: profiles in each shape the reader must take (packed/unpacked, string table first,
unknown fields, inline frames, unsymbolized locations, drop_frames, default_sample_type, gzip in
one or two members) and a real Go heap profile (raw and gzipped) when given; plus a few inputs it
must reject (empty, text, truncated). File names say what each one is.
"""
import gzip
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "cli"))
import pprofgen as pg  # noqa: E402

OUT = os.path.join(HERE, "corpus", "pprof")
TYPES = (("alloc_objects", "count"), ("alloc_space", "bytes"), ("inuse_objects", "count"), ("inuse_space", "bytes"))
SAMPLES = [(["malloc_a", "worker", "main"], [3, 4096, 1, 1024]),
           (["malloc_b", ("inl", "worker"), "main"], [2, 2048, 2, 2048]),
           (["0x1234@/usr/lib/libjemalloc.so.2", "0x5678@/usr/lib/libfoo.so", "main"], [1, 512, 1, 512]),
           (["rec", "rec", "rec", "main"], [5, 5000, 0, 0])]


def main():
    os.makedirs(OUT, exist_ok=True)
    seeds = {
        "plain.pb": pg.build(SAMPLES, types=TYPES),
        "unpacked.pb": pg.build(SAMPLES, types=TYPES, packed=False),
        "strings-first.pb": pg.build(SAMPLES, types=TYPES, strings_first=True),
        "unknown-fields.pb": pg.build(SAMPLES, types=TYPES, unknown_fields=True),
        "allocs-default-type.pb": pg.build(SAMPLES, types=TYPES, default_type="alloc_space", time_nanos=1 << 60,
                                           comments=("a comment", "#hidden")),
        "drop-frames.pb": pg.build([(["malloc", "xmalloc", "parse", "main"], [100]), (["malloc", "main"], [10])],
                                   drop_frames="x?malloc", keep_frames="parse"),
        "one-type.pb": pg.build([(["leak", "main"], [4096])]),
        "negative.pb": pg.build([(["a", "main"], [-4096]), (["b", "main"], [1 << 40])]),
    }
    seeds["plain.pb.gz"] = gzip.compress(seeds["plain.pb"], mtime=0)
    seeds["two-members.pb.gz"] = gzip.compress(seeds["plain.pb"][:50], mtime=0) + gzip.compress(seeds["plain.pb"][50:], mtime=0)
    seeds["reject-empty"] = b""
    seeds["reject-text"] = b"hello world\n"
    seeds["reject-legacy.heap"] = b"heap profile: 1: 2 [3: 4] @ heapprofile\n"
    seeds["reject-truncated.pb"] = seeds["plain.pb"][:len(seeds["plain.pb"]) // 2]
    seeds["reject-truncated.pb.gz"] = seeds["plain.pb.gz"][:len(seeds["plain.pb.gz"]) // 2]
    seeds["reject-bad-location.pb"] = seeds["one-type.pb"] + pg.f_bytes(2, pg.f_packed(1, [99]) + pg.f_packed(2, [1]))
    if len(sys.argv) > 1:
        go = open(sys.argv[1], "rb").read()
        raw = gzip.decompress(go) if go[:2] == b"\x1f\x8b" else go
        seeds["go-heap.pb.gz"] = gzip.compress(raw, mtime=0)
        seeds["go-heap.pb"] = raw
    for name, data in seeds.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
    print("%d seeds in %s" % (len(seeds), OUT))


if __name__ == "__main__":
    main()
