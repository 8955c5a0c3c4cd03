/* shared_root.c — a malloc'd block whose only pointer lives in a shared file mapping (a memfd
 * here): valgrind scans that mapping (reachable), drip does not (definitely lost), since a file
 * truncated under a shared mapping would fault the scan. docs/run.md: where drip and valgrind differ. */
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int main(void)
{
    int fd = memfd_create("drip-shared-root", 0);
    if (fd < 0 || ftruncate(fd, 1 << 16) != 0)
        return 1;
    void **region = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (region == MAP_FAILED)
        return 1;
    region[100] = malloc(400);
    return 0;
}
