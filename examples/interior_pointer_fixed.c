/*
 * interior_pointer_fixed.c: the fixed twin of interior_pointer.c. The program
 * keeps the pointer to the start of the index next to the pointer into it, and
 * frees the index through the base pointer when it is done.
 *
 * expected: nothing definite, indirect, possible or reachable; no threads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    INDEX_SIZE = 1 << 20,               /* the whole index: 1 MiB */
    SECTION_OFFSET = 1 << 19,           /* the section we need starts half-way in */
    SECTION_SIZE = 4096,
};

/* The index (owned: free through base) and the section the program uses. */
static struct {
    char *base;
    const char *section;
} g_index;

/* Returns a new INDEX_SIZE-byte index that the caller owns; exits on OOM. */
static __attribute__((noinline)) char *load_index(void)
{
    char *index = malloc(INDEX_SIZE);
    if (index == NULL)
        exit(1);
    for (size_t i = 0; i < INDEX_SIZE; i += SECTION_SIZE)
        snprintf(index + i, SECTION_SIZE, "section at offset %zu", i);
    return index;
}

/* Loads the index and points g_index.section at the section the program needs. */
static __attribute__((noinline)) void open_section(void)
{
    g_index.base = load_index();        /* FIX: keep the owner's pointer */
    g_index.section = g_index.base + SECTION_OFFSET;
}

/* Frees the index; the section pointer dies with it. */
static void close_section(void)
{
    free(g_index.base);
    g_index.base = NULL;
    g_index.section = NULL;
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);   /* no stdio buffer on the heap */
    open_section();
    printf("interior_pointer_fixed: using \"%s\", then freeing the index\n",
           g_index.section);
    close_section();
    return 0;
}
