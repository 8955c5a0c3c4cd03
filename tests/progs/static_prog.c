/* static_prog.c — linked with -static: LD_PRELOAD cannot reach it, drip run must say so. */
int main(void) { return 0; }
