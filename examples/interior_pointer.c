/*
 * interior_pointer.c: only a pointer into the middle of a huge block is kept.
 *
 * load_index() reads a 1 MiB index into one block, and the program keeps only
 * a pointer to the section it needs, 512 KiB into the block. The pointer to the
 * start of the block is gone, so the block can never be freed; but a pointer
 * into its middle is still live, so a conservative checker cannot tell this
 * apart from a program that does pointer arithmetic on purpose. valgrind and
 * drip call it "possibly lost".
 *
 * expected (drip and valgrind --leak-check=full agree):
 *   1,048,576 bytes in 1 blocks possibly lost in load_index
 *   (called from open_section, called from main);
 *   nothing definite, indirect or reachable; no threads.
 *
 * Fixed twin: interior_pointer_fixed.c keeps the base pointer and frees it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    INDEX_SIZE = 1 << 20,               /* the whole index: 1 MiB */
    SECTION_OFFSET = 1 << 19,           /* the section we need starts half-way in */
    SECTION_SIZE = 4096,
};

/* The section the program keeps using: points 512 KiB into the index block. */
static const char *g_section;

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

/* Loads the index and points g_section at the section the program needs. */
static __attribute__((noinline)) void open_section(void)
{
    char *index = load_index();
    g_section = index + SECTION_OFFSET;     /* BUG: the only pointer kept is an interior one */
    index = NULL;
}

/*
 * A leak checker scans the stack conservatively: every word counts, including
 * dead frames that the next call has not overwritten yet. Zero the region the
 * calls above used, so that no stale copy of the base pointer turns a possible
 * leak into a reachable one. Real programs do not need this; a deterministic
 * example does.
 */
static __attribute__((noinline)) void scrub_stack(void)
{
    char dirt[16384];
    explicit_bzero(dirt, sizeof dirt);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);   /* no stdio buffer on the heap */
    open_section();
    scrub_stack();
    printf("interior_pointer: using \"%s\", kept no pointer to the start of the index\n",
           g_section);
    return 0;
}
