"""symserve_pipe.py — run under drip run --follow-exec (test_symserve.py shared_full_pipe): a
writer whose stderr, from its start, is a 4 KiB pipe, and a reader of that pipe that reads one
byte and exits. The writer's report does not fit: if the shared symbolizer waited on that pipe,
the reader's own report (queued behind it) would never come, and the run would hang."""
import fcntl, os, sys
r, w = os.pipe()
fcntl.fcntl(w, 1031, 4096)   # F_SETPIPE_SZ
a = os.fork()
if a == 0:                   # the writer: a program whose stderr is the pipe from its start
    os.close(r)
    os.dup2(w, 2)
    os.execv(sys.executable, [sys.executable, "-c", "pass"])
b = os.fork()
if b == 0:                   # the reader: one byte, then it exits (its report goes elsewhere)
    os.close(w)
    os.read(r, 1)
    os._exit(0)
os.close(r)
os.close(w)
os.waitpid(a, 0)
os.waitpid(b, 0)
print("done")
