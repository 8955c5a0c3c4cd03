/*
 * lost_list_fixed.c: the fixed twin of lost_list.c. count_words() frees its
 * list, node by node, before it returns.
 *
 * expected: nothing definite, indirect, possible or reachable; no threads.
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

/* Frees every node of the list starting at head; accepts NULL. */
static void free_list(struct node *head)
{
    while (head != NULL) {
        struct node *next = head->next;     /* read before free */
        free(head);
        head = next;
    }
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
    free_list(head);    /* FIX: the list dies with the function that owns it */
    return count;
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);   /* no stdio buffer on the heap */
    int words = count_words("the quick brown fox jumps over the lazy sleeping dog");
    printf("lost_list_fixed: counted %d words, freed the list\n", words);
    return 0;
}
