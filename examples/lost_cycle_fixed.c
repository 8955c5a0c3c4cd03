/*
 * lost_cycle_fixed.c: the fixed twin of lost_cycle.c. Before dropping the ring,
 * elect_leader() breaks it (the last peer stops pointing at the first) and
 * frees it like an ordinary list.
 *
 * expected: nothing definite, indirect, possible or reachable; no threads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { PEER_COUNT = 4 };

/* What the peers elect; allocated before them, pointed to by each of them. 32 bytes. */
struct election {
    unsigned round;
    char topic[28];
};

/* One member of the ring; 48 bytes on x86-64. */
struct peer {
    struct peer *next;
    const struct election *election;
    unsigned id;
    char name[28];
};

/* Returns a new election record; exits on OOM. */
static __attribute__((noinline)) struct election *new_election(unsigned round)
{
    struct election *e = malloc(sizeof *e);
    if (e == NULL)
        exit(1);
    e->round = round;
    snprintf(e->topic, sizeof e->topic, "leader, round %u", round);
    return e;
}

/* Returns a new peer with the given id and no successor; exits on OOM. */
static __attribute__((noinline)) struct peer *make_peer(unsigned id, const struct election *e)
{
    struct peer *p = malloc(sizeof *p);
    if (p == NULL)
        exit(1);
    p->next = NULL;
    p->election = e;
    p->id = id;
    snprintf(p->name, sizeof p->name, "peer-%u", id);
    return p;
}

/* Frees the ring that first belongs to: breaks it after its last peer, then frees in order. */
static void free_ring(struct peer *first)
{
    struct peer *p = first->next;

    first->next = NULL;                 /* break the cycle: now it is a list from p */
    free(first);
    while (p != NULL && p != first) {
        struct peer *next = p->next;
        free(p);
        p = next;
    }
}

/* Builds a ring of PEER_COUNT peers, walks it once around, returns the highest id. */
static __attribute__((noinline)) unsigned elect_leader(void)
{
    struct peer *first = NULL, *last = NULL;
    struct election *e = new_election(1);

    for (unsigned i = 0; i < PEER_COUNT; i++) {
        struct peer *p = make_peer(100 + i * 7 % 5, e);
        if (first == NULL)
            first = p;
        else
            last->next = p;
        last = p;
    }
    last->next = first;                 /* close the ring */

    unsigned leader = first->id;
    for (struct peer *p = first->next; p != first; p = p->next)
        if (p->id > leader)
            leader = p->id;

    free_ring(first);                   /* FIX */
    free(e);
    return leader;
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);   /* no stdio buffer on the heap */
    unsigned leader = elect_leader();
    printf("lost_cycle_fixed: elected peer %u from a ring of %d, freed the ring\n",
           leader, PEER_COUNT);
    return 0;
}
