/* trunc_lib.c — a data-only shared library (built without start files, so it has no code the
 * loader runs at exit): 64 KiB of initialised data that stays file-backed until written.
 * unreadable.c loads a copy of it and truncates that copy. */
char drip_trunc_data[65536] = {1};
