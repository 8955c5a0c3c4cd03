#!/bin/sh
# bench/startup.sh — what drip adds to short runs (issue 13): wall time of `drip run` against the
# same command without drip, interleaved (plain, drip, plain, drip ...) so that the load of the
# machine weighs on both alike; medians over N rounds. Also the peak RSS of the traced `cat` of
# a 50 MB file (VmHWM read by a DRIP_CLI wrapper while the program waits for its report, so the
# symbolizer's own memory is not counted) against plain cat. CPU: user + system time of every
# process the run made (drip run, the program, the symbolizer), also medians: on a loaded machine
# it moves less than wall time.
#
# usage: bench/startup.sh [BUILD_DIR] [ROUNDS]     (defaults: build, 20)
set -eu
B=$(cd "${1:-build}" && pwd)
N=${2:-20}
DRIP="$B/bin/drip"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
LIBC=/lib/x86_64-linux-gnu/libc.so.6

python3 - "$DRIP" "$N" "$T" "$LIBC" <<'PY'
import os, resource, statistics, subprocess, sys, time
drip, n, tmp, libc = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
cases = [
    ("ls -la /usr/lib", ["ls", "-la", "/usr/lib"], []),
    ("python3 -c pass", ["python3", "-c", "pass"], []),
    ("nm -D libc.so.6 (--json)", ["nm", "-D", libc], ["--json", os.path.join(tmp, "x.json")]),
]
CPU = []
def once(argv):
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    wall = time.perf_counter() - t
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)   # every descendant: program and symbolizer
    CPU.append(r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime)
    return wall
# the machine's load weighs on every wall-time figure: said with them
print("load average before: %.2f %.2f %.2f" % os.getloadavg())
print("%-26s %10s %10s %10s %7s %13s %12s" % ("case", "plain ms", "drip ms", "added ms", "ratio", "plain cpu ms", "drip cpu ms"))
for name, cmd, extra in cases:
    plain, traced, pc, dc = [], [], [], []
    once(cmd); once([drip, "run"] + extra + ["--"] + cmd)   # warm the page cache and drip's name cache
    for _ in range(n):
        plain.append(once(cmd))
        pc.append(CPU[-1])
        traced.append(once([drip, "run"] + extra + ["--"] + cmd))
        dc.append(CPU[-1])
    p, d = statistics.median(plain) * 1e3, statistics.median(traced) * 1e3
    print("%-26s %10.1f %10.1f %10.1f %6.2fx %13.1f %12.1f" % (name, p, d, d - p, d / p,
          statistics.median(pc) * 1e3, statistics.median(dc) * 1e3))
print("load average after: %.2f %.2f %.2f" % os.getloadavg())
PY

head -c 50000000 /dev/urandom > "$T/big"
cat > "$T/hwm.sh" <<W
#!/bin/sh
grep VmHWM /proc/\$PPID/status | tr -s ' ' | cut -d' ' -f2 > "$T/hwm"
exec "$DRIP" "\$@"
W
chmod +x "$T/hwm.sh"
plain=$( { /usr/bin/time -f %M cat "$T/big" > /dev/null; } 2>&1 )
DRIP_CLI="$T/hwm.sh" "$DRIP" run -- cat "$T/big" > /dev/null 2>&1
echo "peak RSS of cat 50 MB: plain $plain KiB, traced $(cat "$T/hwm") KiB"
