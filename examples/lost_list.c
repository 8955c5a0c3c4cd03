/*
 * lost_list.c: a linked list whose head pointer is lost. The head block is
 * definitely lost (nothing points to it); every other node is still pointed to,
 * but only from a lost block, so it is indirectly lost. Fix the head and the
 * indirect leaks go away with it.
 *
 * count_words() builds a list of the 10 words of a sentence, counts them, and
 * returns the count without freeing the list: its only pointer to the head was
 * a local variable.
 *
 * expected (drip and valgrind --leak-check=full agree):
 *   32 bytes in 1 blocks definitely lost in make_node    (the head)
 *   288 bytes in 9 blocks indirectly lost in make_node   (the other 9 nodes)
 *   both via count_words, called from main; nothing possible or reachable;
 *   no threads.
 *
 * Fixed twin: lost_list_fixed.c frees the list before returning.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One word of the sentence; 32 bytes on x86-64. */
struct node {
    struct node *next;
    int len;
    char word[20];
};

/* Returns a new node holding word (truncated to fit) in front of next; exits on OOM. */
static __attribute__((noinline)) struct node *make_node(const char *word, int len, struct node *next)
{
    struct node *n = malloc(sizeof *n);
    if (n == NULL)
        exit(1);
    n->next = next;
    n->len = len < (int)sizeof n->word - 1 ? len : (int)sizeof n->word - 1;
    memcpy(n->word, word, n->len);
    n->word[n->len] = '\0';
    return n;
}

/* Returns the number of space-separated words in text. */
static __attribute__((noinline)) int count_words(const char *text)
{
    struct node *head = NULL;
    int count = 0;

    for (const char *p = text; *p != '\0';) {
        int len = (int)strcspn(p, " ");
        if (len > 0)
            head = make_node(p, len, head);
        p += len;
        p += strspn(p, " ");
    }
    for (struct node *n = head; n != NULL; n = n->next)
        count++;
    head = NULL;        /* BUG: the list is dropped, not freed */
    return count;
}

/*
 * A leak checker scans the stack conservatively: every word counts, including
 * dead frames that the next call has not overwritten yet. Zero the region the
 * calls above used, so that no stale copy of a lost pointer turns a definite
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
    int words = count_words("the quick brown fox jumps over the lazy sleeping dog");
    scrub_stack();
    printf("lost_list: counted %d words, lost the list that held them\n", words);
    return 0;
}
