/* fuzz_json.c — libFuzzer target for the CLI's JSON reader (src/cli/json.c) and the converters
 * that read drip's JSON report (src/cli/sarif.c, src/cli/gensupp.c). The input is one report.
 * Checks beyond "no crash" (ASan/UBSan):
 *  - a failed parse says why, in a NUL-terminated, non-empty message;
 *  - whatever the report holds, the SARIF written from it is itself valid JSON (re-parsed here)
 *    in valid UTF-8,
 *    and the suppressions are lines that start with "leak:" or "#". */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/cli/cli.h"
#include "../../src/cli/json.h"

int die(int status, const char *fmt, ...)
{
    (void)fmt;
    return status;
}

void (*drip__after_child)(int pid);

/* 1 when buf[0..len) is valid UTF-8 (what a SARIF consumer's JSON decoder demands). */
static int valid_utf8(const unsigned char *p, size_t len)
{
    for (size_t i = 0; i < len;) {
        unsigned c = p[i];
        size_t n = c < 0x80 ? 1 : (c >= 0xc2 && c <= 0xdf) ? 2 : (c >= 0xe0 && c <= 0xef) ? 3 : (c >= 0xf0 && c <= 0xf4) ? 4 : 0;
        if (!n || i + n > len)
            return 0;
        for (size_t k = 1; k < n; k++)
            if ((p[i + k] & 0xc0) != 0x80)
                return 0;
        if ((c == 0xe0 && p[i + 1] < 0xa0) || (c == 0xed && p[i + 1] >= 0xa0) || (c == 0xf0 && p[i + 1] < 0x90) ||
            (c == 0xf4 && p[i + 1] >= 0x90))
            return 0;
        i += n;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[128];
    memset(err, 'X', sizeof err);
    err[0] = 0;
    struct json *j = json_parse((const char *)data, size, err, sizeof err);
    if (!j) {
        if (!err[0] || !memchr(err, 0, sizeof err))
            abort();
        return 0;
    }
    char *buf = NULL;
    size_t len = 0;
    FILE *o = open_memstream(&buf, &len);
    if (!o)
        abort();
    drip__sarif_write(o, j, "/src/root");
    fclose(o);
    char err2[128] = "";
    struct json *back = json_parse(buf, len, err2, sizeof err2);
    if (!back || !valid_utf8((const unsigned char *)buf, len)) {
        fprintf(stderr, "SARIF output is not UTF-8 JSON: %s\n%.*s\n", err2, (int)len, buf);
        abort();
    }
    json_free(back);
    free(buf);
    buf = NULL;
    o = open_memstream(&buf, &len);
    if (!o)
        abort();
    drip__suppress_write(o, j, "");
    fclose(o);
    for (char *line = buf; line && *line;) {
        if (strncmp(line, "leak:", 5) && line[0] != '#')
            abort();
        char *nl = strchr(line, '\n');
        if (!nl)
            abort();   /* every line ends */
        line = nl + 1;
    }
    free(buf);
    json_free(j);
    return 0;
}
