/*
 * tsan_main.c - runs every libdrip-safe stress test in one process built with
 * -fsanitize=thread (the safe_tsan test).  Any data race aborts the run
 * (TSAN_OPTIONS=halt_on_error=1 is set by ctest).
 */
int safe_lru_stress_run(void);
int safe_ttlmap_stress_run(void);
int safe_ref_stress_run(void);
int safe_ctx_stress_run(void);
int safe_group_stress_run(void);
int safe_registry_stress_run(void);

int main(void)
{
    int failed = 0;
    failed += safe_lru_stress_run() != 0;
    failed += safe_ttlmap_stress_run() != 0;
    failed += safe_ref_stress_run() != 0;
    failed += safe_ctx_stress_run() != 0;
    failed += safe_group_stress_run() != 0;
    failed += safe_registry_stress_run() != 0;
    return failed ? 1 : 0;
}
