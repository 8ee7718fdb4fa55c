/* Input files' reasons (input_file.h). */
#include "sgdmc/base/input_file.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int sgdmc_input_file_problem(const char *path, char *why, size_t size)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        snprintf(why, size, "%s", errno == ENOENT ? "no such file or directory" : strerror(errno));
        return -1;
    }
    if (S_ISDIR(st.st_mode)) {
        snprintf(why, size, "is a directory, not a file");
        return -1;
    }
    /* a FIFO would block the reader forever, a device never end */
    if (!S_ISREG(st.st_mode)) {
        snprintf(why, size, "is not a regular file (a FIFO, device or socket)");
        return -1;
    }
    if (access(path, R_OK) != 0) {
        snprintf(why, size, "%s", strerror(errno));
        return -1;
    }
    return 0;
}
