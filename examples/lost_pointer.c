/*
 * lost_pointer.c: the oldest leak in C. A pointer to a heap block is overwritten
 * before the block is freed, so nothing in the program can ever reach it again.
 *
 * read_messages() reads 8 messages into the same variable; each new message
 * overwrites the pointer to the previous one, and only the last one is freed.
 *
 * expected (drip and valgrind --leak-check=full agree):
 *   1,792 bytes in 7 blocks definitely lost in make_message
 *         (called from read_messages, called from main)
 *   nothing indirect, possible or reachable; no threads.
 *
 * Fixed twin: lost_pointer_fixed.c frees each message before reading the next.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MESSAGE_SIZE = 256, MESSAGE_COUNT = 8 };

/* Returns a new MESSAGE_SIZE-byte message that the caller owns; exits on OOM. */
static __attribute__((noinline)) char *make_message(int seq)
{
    char *msg = malloc(MESSAGE_SIZE);
    if (msg == NULL)
        exit(1);
    snprintf(msg, MESSAGE_SIZE, "message %d: hello from the network", seq);
    return msg;
}

/* Returns a small checksum of msg, standing in for real work on it. */
static unsigned checksum(const char *msg)
{
    unsigned sum = 0;
    for (size_t i = 0; msg[i] != '\0'; i++)
        sum = sum * 31 + (unsigned char)msg[i];
    return sum;
}

/* Reads MESSAGE_COUNT messages and returns their combined checksum. */
static __attribute__((noinline)) unsigned read_messages(void)
{
    unsigned sum = 0;
    char *msg = NULL;

    for (int i = 0; i < MESSAGE_COUNT; i++) {
        msg = make_message(i);    /* BUG: the previous message is still allocated */
        sum ^= checksum(msg);
    }
    free(msg);            /* only the last one */
    msg = NULL;
    return sum;
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
    setvbuf(stdout, NULL, _IONBF, 0);    /* no stdio buffer on the heap */
    unsigned sum = read_messages();
    scrub_stack();
    printf("lost_pointer: read %d messages (checksum %08x), freed only the last\n",
           MESSAGE_COUNT, sum);
    return 0;
}
