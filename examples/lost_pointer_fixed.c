/*
 * lost_pointer_fixed.c: the fixed twin of lost_pointer.c. Each message is freed
 * once the program is done with it, before the pointer to it is overwritten.
 *
 * expected: nothing definite, indirect, possible or reachable; no threads.
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

    for (int i = 0; i < MESSAGE_COUNT; i++) {
        char *msg = make_message(i);
        sum ^= checksum(msg);
        free(msg);              /* FIX: done with it, so free it here */
    }
    return sum;
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);   /* no stdio buffer on the heap */
    unsigned sum = read_messages();
    printf("lost_pointer_fixed: read %d messages (checksum %08x), freed each one\n",
           MESSAGE_COUNT, sum);
    return 0;
}
