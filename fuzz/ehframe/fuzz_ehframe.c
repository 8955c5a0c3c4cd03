/* fuzz_ehframe.c — libFuzzer target for drip's DWARF CFA interpreter (src/preload/ehframe.c):
 * the input is a CIE's initial instructions and an FDE's program, in a heap buffer of exactly its
 * size (so ASan sees any read past the end the FDE's length sets), run to a target location and
 * to the end; then LEB128 over all of it. Checks beyond ASan/UBSan: a program that stopped is
 * marked unsupported, and a run to the end never leaves more than 8 remembered rows. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ehframe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    uint8_t *buf = malloc(size);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    size_t split = buf[0] % (size - 1) + 1;   /* CIE instructions [2, split), FDE's [split, size) */
    struct drip__cie c = {.code_align = 1 + (buf[1] & 3), .data_align = buf[1] & 4 ? -4 : -8,
                          .fde_enc = buf[1] & 8 ? 0x1b : 0x03, .has_z = 1, .insns = buf + 2,
                          .end = buf + (split > 2 ? split : 2)};
    for (int run = 0; run < 2; run++) {
        struct drip__cfa st;
        memset(&st, 0, sizeof st);
        drip__cfa_execute(&st, &c, c.insns, c.end, 0, UINTPTR_MAX);
        st.initial = st.row;
        st.initial_set = 1;
        drip__cfa_execute(&st, &c, buf + split, buf + size, 0x1000,
                          run ? UINTPTR_MAX : 0x1000 + (uintptr_t)buf[2] * 4u);
        if (st.stopped && !st.unsupported)
            abort();
    }
    for (int s = 0; s < 2; s++) {
        const uint8_t *p = buf;
        while (p < buf + size) {
            const uint8_t *before = p;
            if (s)
                (void)drip__sleb(&p, buf + size);
            else
                (void)drip__uleb(&p, buf + size);
            if (p <= before || p > buf + size)
                abort();
        }
    }
    free(buf);
    return 0;
}
