#!/usr/bin/env python3
"""End-to-end test of one program of the leak catalogue (examples/).

Usage: test_examples.py [--valgrind] NAME

NAME is an example (lost_list) or its fixed twin (lost_list_fixed). The test runs
build/bin/examples/NAME under `drip run --json` and checks the exact figures drip must report:

  - the blocks allocated by the example's own code (the records whose stack[0] is in
    examples/NAME.c), per kind and per allocating function: bytes, blocks, and the leading
    functions of the stack;
  - the summary: definite, indirect and possible are exactly the example's own figures (no
    record of any other origin may be classified as a leak); reachable is the example's own
    figure plus whatever the C runtime still holds (listed, not judged);
  - the threads still running at exit: how many, their start routine, and the function that
    created them;
  - the text report on stderr: one line per leak record and the SUMMARY line.

A fixed twin must have no record of its own and no running thread.

The twins fixed with libdrip-safe (growing_cache_lru, session_map_ttl, endless_worker_group,
see SAFE_TWINS) are held to more: a record is theirs when any frame of its allocation stack is
in NAME.c or in libdrip-safe (so a block libdrip-safe allocated for them and never gave back
counts, even reachable), glibc's per-thread TLS vector excepted; no thread may be running or
unjoined at exit; their stdout must show the figures of the workload. Each of their tests first
runs the leaky original under drip and checks the original's own expectations (those of its
test, example_<original>), so one test shows drip flagging the leaky program and not its twin.

per_request (drip/drip.h's per-request figures) must print, under drip, the exact allocations,
bytes and live blocks of every request and route, and leak its audit records, definitely lost,
with the handler in the stack; run without drip, it must say that the figures are unavailable.

With --valgrind the same expectations are checked against valgrind memcheck instead of drip
(threads and the text report excepted, valgrind does not report them in this form): that is
how the figures below were verified, and how to re-verify them after editing an example.
valgrind reports glibc's per-thread TLS vector (calloc from _dl_allocate_tls from
pthread_create) of a thread still running at exit as "possibly lost", because the thread
descriptor holds a pointer into the block rather than to its start; drip says the same (it
classifies as valgrind does). That record is glibc's, not the example's, and is ignored in
both modes.
"""
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)

import driptest  # noqa: E402

LEAK_KINDS = ("definite", "indirect", "possible")

# What each example must report, as designed and as verified with valgrind 3.19:
#   "leaks":   (kind, bytes, blocks, leading functions of the allocation stack), one entry per
#              (kind, stack[0] function); the first function is the one that called the allocator;
#   "threads": (start routine, function that called pthread_create), one per running thread.
EXPECT = {
    "growing_cache": {
        "leaks": [("reachable", 16384, 256, ["cache_insert", "cache_get", "main"])],
    },
    "endless_worker": {
        "leaks": [("reachable", 65536, 1, ["worker_buffer_new", "worker_main"])],
        "threads": [("worker_main", "start_worker")],
    },
    "callback_capture": {
        "leaks": [
            ("reachable", 262144, 4, ["load_payload", "handle_request", "main"]),
            ("reachable", 128, 4, ["request_new", "handle_request", "main"]),
            ("reachable", 64, 4, ["make_closure", "on_shutdown", "handle_request", "main"]),
        ],
    },
    "session_map": {
        "leaks": [("reachable", 28800, 300, ["session_open", "serve_connection", "main"])],
    },
    "interior_pointer": {
        "leaks": [("possible", 1048576, 1, ["load_index", "open_section", "main"])],
    },
    "lost_pointer": {
        "leaks": [("definite", 1792, 7, ["make_message", "read_messages", "main"])],
    },
    "lost_list": {
        "leaks": [
            ("definite", 32, 1, ["make_node", "count_words", "main"]),
            ("indirect", 288, 9, ["make_node", "count_words", "main"]),
        ],
    },
    "lost_cycle": {
        "leaks": [
            ("definite", 48, 1, ["make_peer", "elect_leader", "main"]),
            ("indirect", 144, 3, ["make_peer", "elect_leader", "main"]),
            # allocated before the ring, so met first in address order: demoted when the ring's
            # leader reaches it
            ("indirect", 32, 1, ["new_election", "elect_leader", "main"]),
        ],
    },
    "event_log": {
        "leaks": [("reachable", 32768, 1, ["log_append", "log_event", "main"])],
    },
    "worker_pool": {
        "leaks": [("reachable", 384, 6, ["job_new", "pool_submit", "main"])],
        "threads": [("pool_worker", "pool_start")] * 4,
    },
}
for _name in list(EXPECT):
    EXPECT[_name + "_fixed"] = {}       # a fixed twin: nothing of its own, no thread left

# Who holds each record (issue #16; run with --retainers): per (kind, allocating function) the
# root (kind, symbol: the global, or the function of the stack frame; file, line of the
# definition or of the frame's call; thread start routine for a stack), the offsets of the
# pointers inside the root, the hops (allocating function, bytes, blocks, offsets inside that
# hop's blocks of the pointers to the next hop; for the record itself, the offsets of the links
# between its own blocks), blocks covered and other paths; then the top retainers (root
# symbol, retained bytes, retained blocks). The fixed twins name none of these roots. (Stack
# roots: tests/live/test_retain.py stack_roots, where the thread waits at a known call; the
# endless worker may be stopped anywhere in its loop, its buffer in a register or on the stack.)
RETAIN = {
    "growing_cache": {
        "paths": {("reachable", "cache_insert"): (("global", "g_cache", "growing_cache.c", 37, None), (0, 0),
                                                  [("cache_insert", 16384, 256, 0, 0)], 256, 0)},
        # a linked list: 256 entries linked through `next` at offset 0
        "retainers": [("g_cache", 16384, 256)],
        "text": ["held by: global `g_cache` (growing_cache.c:37) in growing_cache, at offset 0",
                 "   -> these 256 blocks, linked through offset 0",
                 "   16,384 bytes in 256 blocks: global `g_cache` (growing_cache.c:37) in growing_cache"],
    },
    "session_map": {
        # 64 buckets of 8 bytes: the heads lie at offsets 0..504 of g_sessions
        "paths": {("reachable", "session_open"): (("global", "g_sessions", "session_map.c", 40, None), (0, 504),
                                                  [("session_open", 28800, 300, 0, 0)], 300, 0)},
        "retainers": [("g_sessions", 28800, 300)],
    },
    "callback_capture": {
        # g_shutdown.hooks[0..3] -> closure (its `req` at offset 8) -> request (its payload
        # pointer at offset 24) -> the 64 KiB payload: the closure holds 256 KiB it never uses
        "paths": {
            ("reachable", "load_payload"): (("global", "g_shutdown", "callback_capture.c", 50, None), (0, 24),
                                            [("make_closure", 64, 4, 8, 8), ("request_new", 128, 4, 24, 24),
                                             ("load_payload", 262144, 4, None, None)], 4, 0),
            ("reachable", "request_new"): (("global", "g_shutdown", "callback_capture.c", 50, None), (0, 24),
                                           [("make_closure", 64, 4, 8, 8), ("request_new", 128, 4, None, None)], 4, 0),
            ("reachable", "make_closure"): (("global", "g_shutdown", "callback_capture.c", 50, None), (0, 24),
                                            [("make_closure", 64, 4, None, None)], 4, 0),
        },
        "retainers": [("g_shutdown", 262336, 12)],
        "text": ["held by: global `g_shutdown` (callback_capture.c:50) in callback_capture, at offsets 0..24",
                 "   -> 64 bytes in 4 blocks allocated at make_closure (callback_capture.c:77), at offset 8",
                 "   -> 128 bytes in 4 blocks allocated at request_new (callback_capture.c:55), at offset 24",
                 "   -> these 4 blocks"],
    },
    "event_log": {
        "paths": {("reachable", "log_append"): (("global", "g_log", "event_log.c", 42, None), (0, 0),
                                                [("log_append", 32768, 1, None, None)], 1, 0)},
        "retainers": [("g_log", 32768, 1)],
    },
    "interior_pointer": {
        # possibly lost: held by an interior pointer, so no root retains it (the dominator tree
        # is over start pointers, as reachability is)
        "paths": {("possible", "load_index"): (("global", "g_section", "interior_pointer.c", 29, None), (0, 0),
                                               [("load_index", 1048576, 1, None, None)], 1, 0)},
        "retainers": [],
    },
}


def root_names(name):
    """The root symbols of an example's expected paths (its fixed twin must name none)."""
    return {v[0][1] for v in RETAIN.get(name, {}).get("paths", {}).values()}


# log_roots (LeakSanitizer's log_pointers): the chain of blocks from the root word to a record's
# first block. growing_cache's first entry (lowest address) is the list's tail: 256 blocks from
# g_cache, the middle 225 left out; interior_pointer's block hangs right off g_section.
WHY = {
    "growing_cache": r"why: block 0x[0-9a-f]+ is reached from root word 0x[0-9a-f]+ \(global `g_cache` "
                     r"\(growing_cache.c:37\) in growing_cache\)(?: -> 0x[0-9a-f]+ \(\+0\)){16} -> \.\.\. 225 more"
                     r"(?: -> 0x[0-9a-f]+ \(\+0\)){14} -> 0x[0-9a-f]+$",
    "interior_pointer": r"why: block (0x[0-9a-f]+) is reached from root word 0x[0-9a-f]+ \(global `g_section` "
                        r"\(interior_pointer.c:29\) in interior_pointer\) -> \1$",
}


def check_why(name, binary):
    if name not in WHY:
        return
    res = driptest.run([binary], ["--log-roots", "--show-reachable"], timeout=50)
    lines = [re.sub(r"^==\d+==\s+", "", l) for l in res.err.splitlines() if "why:" in l]
    own = [l for l in lines if re.search(WHY[name], l)]
    driptest.eq(len(own), 1, "%s: --log-roots prints the chain from the root to the record's first block" % name)


def check_retention(report, name, binary, err=""):
    own = {}
    for r in report["leaks"]:
        if is_own(r, name, binary) and "retained_by" in r:
            own[(r["kind"], functions(r)[0])] = r["retained_by"]
    twin_of = name[:-len("_fixed")] if name.endswith("_fixed") else SAFE_TWINS.get(name)
    if twin_of in RETAIN:
        held = {r["retained_by"]["root"]["symbol"] for r in report["leaks"] if "retained_by" in r}
        held |= {x["root"]["symbol"] for x in report.get("retainers", [])}
        driptest.eq(sorted(held & root_names(twin_of)), [],
                    "%s: no record is held by %s's roots any more" % (name, twin_of))
        return
    want = RETAIN.get(name)
    if not want:
        return
    for key, (root, root_off, path, covered, others) in sorted(want["paths"].items()):
        rb = own.get(key)
        driptest.check(rb is not None, "%s: the %s record allocated in %s has a retention path" % (name, *key))
        if rb is None:
            continue
        ro = rb["root"]
        driptest.eq((ro["kind"], ro["symbol"], os.path.basename(ro["file"] or ""), ro["line"], ro.get("thread_start")),
                    root, "%s: root of %s/%s (kind, symbol, file, line, thread start)" % (name, *key))
        driptest.eq((rb["root_offset_min"], rb["root_offset_max"]), root_off,
                    "%s: offsets of the pointers inside the root of %s/%s" % (name, *key))
        driptest.eq([(h["function"], h["bytes"], h["blocks"], h["offset_min"], h["offset_max"]) for h in rb["path"]],
                    path, "%s: hops of %s/%s (function, bytes, blocks, offsets)" % (name, *key))
        driptest.eq((rb["blocks_covered"], rb["other_paths"]), (covered, others),
                    "%s: blocks covered, other paths of %s/%s" % (name, *key))
    got = [(x["root"]["symbol"], x["retained_bytes"], x["retained_blocks"]) for x in report.get("retainers", [])
           if x["root"]["symbol"] in root_names(name)]
    driptest.eq(got, want["retainers"], "%s: top retainers (root, retained bytes, blocks)" % name)
    lines = [re.sub(r"^==\d+== ", "", l).rstrip() for l in err.splitlines()]
    tids = [t["tid"] for t in report.get("threads") or []]
    for line in want.get("text", []):
        line = line.replace("%TID", str(tids[0]) if tids else "?")
        driptest.check(any(l.endswith(line) for l in lines), "%s: the text report says \"%s\"" % (name, line.strip()))


# The twins fixed with libdrip-safe, and their leaky originals.
SAFE_TWINS = {
    "growing_cache_lru": "growing_cache",
    "session_map_ttl": "session_map",
    "endless_worker_group": "endless_worker",
}
for _name in SAFE_TWINS:
    EXPECT[_name] = {}

# per_request: 4 rounds of /users (3 allocs: 64 + 256 + 1,024 bytes, all freed), /health (1 alloc,
# 32 bytes, freed), /login (2 allocs: 512 freed + a 48-byte audit record never freed).
PER_REQUEST_ROUTES = [("/users", 3, 1344, 0, 0), ("/health", 1, 32, 0, 0), ("/login", 2, 560, 1, 48)]
PER_REQUEST_ROUNDS = 4
EXPECT["per_request"] = {
    "leaks": [("definite", 48 * PER_REQUEST_ROUNDS, PER_REQUEST_ROUNDS,
               ["audit_record_new", "handle_login", "serve_request", "serve_all", "main"])],
}


def per_request_stdout():
    lines = []
    for i in range(PER_REQUEST_ROUNDS * len(PER_REQUEST_ROUTES)):
        path, allocs, nbytes, objs, live = PER_REQUEST_ROUTES[i % len(PER_REQUEST_ROUTES)]
        lines.append("request %2d: route %s: %d alloc%s, %d bytes, %d still live (%d bytes)"
                     % (i + 1, path, allocs, "" if allocs == 1 else "s", nbytes, objs, live))
    for path, allocs, nbytes, objs, live in PER_REQUEST_ROUTES:
        lines.append("average route %s: %d requests, %.2f allocs, %.2f bytes, %.2f still live "
                     "(%.2f bytes) per request" % (path, PER_REQUEST_ROUNDS, allocs, nbytes, objs, live))
    lines.append("bench route /users: 1000 calls, 3.00 allocs/op, 1344.00 bytes/op")
    return lines


# What each program prints on stdout when run under drip (whole lines, in order).
STDOUT = {
    # the last eviction is of key 1225: key 1224, the oldest, was hit just before (LRU, not FIFO)
    "growing_cache_lru": ["growing_cache_lru: 514 requests, 257 misses, 225 evictions (last: key 1225), 32 entries "
                          "cached (514 served), 32 freed at shutdown"],
    "session_map_ttl": ["session_map_ttl: served 300 connections, at most 30 sessions in the map, "
                        "30 at shutdown, 270 expired, 300 freed"],
    "endless_worker_group": ["endless_worker_group: 3 jobs done; worker cancelled and joined, "
                             "0 stuck"],
    "per_request": per_request_stdout(),
}
# ... and without drip (per_request's figures come from drip).
STDOUT_UNTRACKED = {
    "per_request": ["per_request: not running under drip: per-request figures are unavailable "
                    "(run it with drip run)",
                    "per_request: served 12 requests"],
}

# Programs whose records are their own when any frame of the stack is theirs (see the docstring).
STRICT = set(SAFE_TWINS) | {"per_request"}

# How the text report words each kind (valgrind's words; LSan-style text has the same numbers).
TEXT_KIND = {"definite": "definitely lost", "indirect": "indirectly lost",
             "possible": "possibly lost"}


def fmt(n):
    return "{:,}".format(n)


def functions(record):
    return [f.get("function") for f in record.get("stack") or []]


def describe(record):
    return "%s %d bytes in %d blocks at %s" % (
        record["kind"], record["bytes"], record["blocks"], " <- ".join(map(str, functions(record)[:6])))


def frame_is_own(frame, name, binary):
    if os.path.basename(frame.get("file") or "") == name + ".c":
        return True
    module = frame.get("module")
    return bool(module) and os.path.realpath(module) == os.path.realpath(binary)


def is_libdrip_safe(frame):
    return os.path.basename(frame.get("module") or "").startswith("libdrip-safe.so")


def is_own(record, name, binary):
    """True when the block was allocated by the example's own code (stack[0] in NAME.c); for
    the STRICT programs, when any frame is in NAME.c or in libdrip-safe (glibc's thread TLS
    vector excepted)."""
    stack = record.get("stack") or [{}]
    if name in STRICT:
        return not is_thread_tls(record) and any(
            frame_is_own(f, name, binary) or is_libdrip_safe(f) for f in stack)
    return frame_is_own(stack[0], name, binary)


def is_thread_tls(record):
    """glibc's per-thread TLS vector: allocated by the dynamic linker inside pthread_create."""
    return any("pthread_create" in (f or "") for f in functions(record))


def check_leaks(report, name, binary, want, valgrind):
    leaks = report["leaks"]
    summary = {k: dict(v) for k, v in report["summary"].items()}
    if True:   # both modes: drip classifies glibc's record as valgrind does
        for r in [r for r in leaks if not is_own(r, name, binary) and is_thread_tls(r)]:
            print("note: glibc thread TLS vector ignored: " + describe(r))
            summary[r["kind"]]["bytes"] -= r["bytes"]
            summary[r["kind"]]["blocks"] -= r["blocks"]
        leaks = [r for r in leaks if is_own(r, name, binary) or not is_thread_tls(r)]
    if valgrind:
        # without drip, drip.h's lookup of drip's entry points fails: glibc keeps that dlsym's
        # error (reachable from its TLS; valgrind shows it with --run-libc-freeres=no)
        for r in [r for r in leaks if any(f in ("_dlerror_run", "_dl_lookup_symbol_x")
                                          for f in functions(r))]:
            print("note valgrind: glibc's dlerror result ignored: " + describe(r))
            summary[r["kind"]]["bytes"] -= r["bytes"]
            summary[r["kind"]]["blocks"] -= r["blocks"]
            leaks.remove(r)
    own = [r for r in leaks if is_own(r, name, binary) and r["kind"] != "suppressed"]
    other = [r for r in leaks if not is_own(r, name, binary) and r["kind"] != "suppressed"]

    # The example's own records, per (kind, allocating function).
    got = {}
    for r in own:
        key = (r["kind"], functions(r)[0])
        b, n = got.get(key, (0, 0))
        got[key] = (b + r["bytes"], n + r["blocks"])
    expected = {(k, fns[0]): (b, n) for k, b, n, fns in want}
    for key in sorted(expected):
        driptest.eq(got.get(key, (0, 0)), expected[key],
                    "%s: %s blocks allocated in %s (bytes, blocks)" % (name, key[0], key[1]))
    for key in sorted(set(got) - set(expected)):
        driptest.check(False, "%s: unexpected %s record(s) allocated in %s: %r"
                       % (name, key[0], key[1], got[key]))
    for k, b, n, fns in want:
        for r in own:
            if (r["kind"], functions(r)[0]) == (k, fns[0]):
                driptest.eq(functions(r)[:len(fns)], fns,
                            "%s: stack of the %s record allocated in %s" % (name, k, fns[0]))

    # Records that the example did not allocate itself: the C runtime's. They may be reachable
    # (a libc cache, a joined thread's TLS kept in glibc's stack cache), never a leak.
    for r in other:
        if r["kind"] == "reachable":
            print("note runtime block still reachable: " + describe(r))
        else:
            driptest.check(False, "%s: a block the example did not allocate is reported as a "
                           "leak: %s" % (name, describe(r)))

    # The summary: leaks are exactly the example's own; reachable adds the runtime's blocks.
    for kind in LEAK_KINDS + ("reachable", "suppressed"):
        want_bytes = sum(b for k, b, n, f in want if k == kind)
        want_blocks = sum(n for k, b, n, f in want if k == kind)
        if kind == "reachable":
            want_bytes += sum(r["bytes"] for r in other if r["kind"] == kind)
            want_blocks += sum(r["blocks"] for r in other if r["kind"] == kind)
        s = summary[kind]
        driptest.eq((s["bytes"], s["blocks"]), (want_bytes, want_blocks),
                    "%s: summary %s (bytes, blocks)" % (name, kind))


def check_threads(report, name, want):
    running = [t for t in report.get("threads") or [] if t.get("state") == "running"]
    unjoined = [t for t in report.get("threads") or [] if t.get("state") == "unjoined"]
    driptest.eq(len(unjoined), 0, "%s: threads finished but never joined or detached" % name)
    driptest.eq(len(running), len(want), "%s: threads running at exit" % name)
    driptest.eq(sorted(t.get("start_routine") for t in running), sorted(w[0] for w in want),
                "%s: start routines of the running threads" % name)
    driptest.eq(sorted((functions(t) or [None])[0] for t in running), sorted(w[1] for w in want),
                "%s: functions that created the running threads (creation stack[0])" % name)


TEXT_RECORD = re.compile(r"([\d,]+)(?: \([\d,]+ direct, [\d,]+ indirect\))? bytes in ([\d,]+) blocks? are "
                         r"(definitely lost|indirectly lost|possibly lost)")
TEXT_SUMMARY = re.compile(r"^(?:==\d+== )?\s*(definitely lost|indirectly lost|possibly lost|still reachable|suppressed): "
                          r"([\d,]+) bytes in ([\d,]+) blocks", re.M)
SUMMARY_KIND = {"definitely lost": "definite", "indirectly lost": "indirect", "possibly lost": "possible",
                "still reachable": "reachable", "suppressed": "suppressed"}


def num(s):
    return int(s.replace(",", ""))


def check_text(err, name, want, report):
    """The text report on stderr: one line per leak record (and no other), the LEAK SUMMARY
    (suppressed included) as in the JSON report, and the SUMMARY line."""
    kinds = {v: k for k, v in TEXT_KIND.items()}
    text = sorted((kinds[m.group(3)], num(m.group(1)), num(m.group(2))) for m in TEXT_RECORD.finditer(err))
    records = sorted((r["kind"], r["bytes"], r["blocks"]) for r in report["leaks"]
                     if r["kind"] in LEAK_KINDS and "suppressed_by" not in r)
    driptest.eq(text, records, "%s: the text report's leak records are the JSON report's, no other" % name)
    summary = {SUMMARY_KIND[m.group(1)]: (num(m.group(2)), num(m.group(3))) for m in TEXT_SUMMARY.finditer(err)}
    driptest.eq(summary, {k: (v["bytes"], v["blocks"]) for k, v in report["summary"].items()},
                "%s: LEAK SUMMARY lines (suppressed included) match the JSON summary" % name)
    for kind, nbytes, nblocks, fns in want:
        if kind not in TEXT_KIND:
            continue
        # valgrind prints a definite record that holds others as "320 (32 direct, 288 indirect)".
        line = re.compile(r"(?:%s|[\d,]+ \(%s direct, [\d,]+ indirect\)) bytes in %s blocks? are %s"
                          % (fmt(nbytes), fmt(nbytes), fmt(nblocks), TEXT_KIND[kind]))
        driptest.check(line.search(err) is not None, "%s: stderr has \"%s bytes in %s blocks are %s\""
                       % (name, fmt(nbytes), fmt(nblocks), TEXT_KIND[kind]))
    driptest.check("SUMMARY: drip:" in err, "%s: stderr has the SUMMARY: drip: line" % name)


def check_stdout(out, name, want, what="stdout"):
    lines = out.splitlines()
    driptest.eq(lines, want, "%s: %s" % (name, what))


def check_under_drip(name, binary, want):
    """Runs binary under drip and checks want; returns drip's result (None without a report)."""
    res = driptest.run([binary], ["--retainers"], timeout=50)
    print("drip exit status %d (%s)" % (res.rc, name))
    driptest.check(res.report is not None, "%s: drip wrote a JSON report" % name)
    if res.report is None:
        sys.stdout.write(res.err[-4000:])
        return None
    check_leaks(res.report, name, binary, want.get("leaks", []), valgrind=False)
    check_threads(res.report, name, want.get("threads", []))
    check_text(res.err, name, want.get("leaks", []), res.report)
    check_retention(res.report, name, binary, res.err)
    check_why(name, binary)
    return res


def check_original(twin):
    """The leaky original of a libdrip-safe twin: drip must report what example_<original> checks."""
    original = SAFE_TWINS[twin]
    binary = os.path.join(driptest.EXAMPLES, original)
    print("--- %s's leaky original, %s (its own test: example_%s)" % (twin, original, original))
    driptest.check(os.access(binary, os.X_OK), "%s: %s is built" % (original, binary))
    if not os.access(binary, os.X_OK):
        return
    res = check_under_drip(original, binary, EXPECT[original])
    if res is not None:
        s = res.report["summary"]
        flagged = sum(s[k]["blocks"] for k in LEAK_KINDS + ("reachable",)) > 0
        driptest.check(flagged, "%s: drip flags the leaky original %s" % (twin, original))
    print("--- %s" % twin)


def main(argv):
    valgrind = "--valgrind" in argv
    args = [a for a in argv if a != "--valgrind"]
    if len(args) != 1 or args[0] not in EXPECT:
        sys.exit("usage: test_examples.py [--valgrind] NAME\nNAME: " + " ".join(sorted(EXPECT)))
    name = args[0]
    want = EXPECT[name]
    binary = os.path.join(driptest.EXAMPLES, name)
    driptest.check(os.access(binary, os.X_OK), "%s: %s is built" % (name, binary))
    if not os.access(binary, os.X_OK):
        driptest.finish()

    if valgrind:
        import shutil
        import vgreport
        if not shutil.which(vgreport.VALGRIND):
            driptest.skip("valgrind is not installed (apt-get install valgrind): nothing to compare with")
        rc, report = vgreport.run([binary], timeout=50)
        print("valgrind exit status %d" % rc)
        check_leaks(report, name, binary, want.get("leaks", []), valgrind=True)
        print("note valgrind: threads and the text report are checked under drip only")
        driptest.finish()

    if name in SAFE_TWINS:
        check_original(name)
    res = check_under_drip(name, binary, want)
    if res is None:
        driptest.finish()
    if name in STDOUT:
        check_stdout(res.out, name, STDOUT[name], "stdout under drip")
    if name in STDOUT_UNTRACKED:
        import subprocess
        p = subprocess.run([binary], capture_output=True, text=True, timeout=50)
        driptest.eq(p.returncode, 0, "%s: exit status without drip" % name)
        check_stdout(p.stdout, name, STDOUT_UNTRACKED[name], "stdout without drip")
    if driptest.failures:
        sys.stdout.write("--- drip's stderr (last 4000 characters)\n" + res.err[-4000:])
    driptest.finish()


if __name__ == "__main__":
    main(sys.argv[1:])
