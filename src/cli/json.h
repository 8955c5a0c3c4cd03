/* json.h — a small JSON reader for the CLI: parses a whole document (drip's JSON leak report)
 * into a tree of malloc'd nodes. Not for the traced process (it allocates). */
#ifndef DRIP_CLI_JSON_H
#define DRIP_CLI_JSON_H

#include <stddef.h>

enum json_type { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT };

struct json {
    enum json_type type;
    double num;          /* JSON_NUMBER, JSON_BOOL (0/1) */
    char *str;           /* JSON_STRING: decoded, NUL-terminated (an embedded \u0000 ends it) */
    struct json **items; /* JSON_ARRAY and JSON_OBJECT: n values */
    char **keys;         /* JSON_OBJECT: n keys */
    size_t n;
};

/* Parses text (len bytes). Returns the tree, or NULL with "offset N: what" in err. */
struct json *json_parse(const char *text, size_t len, char *err, size_t errlen);
/* Reads and parses a file; NULL with a one-line message (naming the file) in err. */
struct json *json_load(const char *path, char *err, size_t errlen);
void json_free(struct json *j);

/* The member `key` of an object, or NULL (also when j is not an object). */
const struct json *json_get(const struct json *j, const char *key);
/* The string of a JSON_STRING member, or NULL. */
const char *json_str(const struct json *j, const char *key);
/* The number of a JSON_NUMBER member, or dflt. */
double json_num(const struct json *j, const char *key, double dflt);

#endif
