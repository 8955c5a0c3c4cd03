/*
 * lost_cycle.c: an unreachable cycle. Four peers form a ring (each points to
 * the next, the last back to the first), and the only pointer into the ring
 * from outside is dropped. Every block is still pointed to, but only from
 * inside the ring, so no one can reach any of them.
 *
 * A scanner that only asks "does anything point at this block?" would call all
 * four indirect and report no definite leak at all. valgrind (and drip) pick one
 * block of the cycle as its leader and report it as definitely lost, the rest
 * as indirectly lost, so the cycle shows up as one leak with a stack.
 *
 * The peers share an election record, allocated before them (at a lower
 * address): only the ring points to it. A checker that visits lost blocks in
 * address order meets the record first, with nothing pointing to it from
 * outside yet, and calls it a leader; when the ring's leader then reaches it,
 * the record must be demoted to indirectly lost.
 *
 * expected (drip and valgrind --leak-check=full agree):
 *   48 bytes in 1 blocks definitely lost in make_peer
 *   144 bytes in 3 blocks indirectly lost in make_peer
 *   32 bytes in 1 blocks indirectly lost in new_election
 *   all via elect_leader, called from main; nothing possible or reachable;
 *   no threads.
 *
 * Fixed twin: lost_cycle_fixed.c breaks the ring, then frees it.
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
    struct peer *p = first->next;
    for (; p != first; p = p->next)
        if (p->id > leader)
            leader = p->id;

    first = last = p = NULL;            /* BUG: the ring is dropped, not freed */
    e = NULL;
    return leader;
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
    unsigned leader = elect_leader();
    scrub_stack();
    printf("lost_cycle: elected peer %u from a ring of %d, lost the ring\n",
           leader, PEER_COUNT);
    return 0;
}
