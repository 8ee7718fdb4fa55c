/* sgdmc's one error path: a function that can fail takes `char *err, size_t
 * errlen`, writes one line there and returns -1 (or NULL) from its `fail:`
 * label, where it also releases what it holds. */
#ifndef SGDMC_ERROR_H
#define SGDMC_ERROR_H

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>

/* Writes the message into err[errlen] and jumps to `fail`. */
#define SGDMC_FAIL(...)                                                                    \
    do {                                                                                   \
        snprintf(err, errlen, __VA_ARGS__);                                                \
        goto fail;                                                                         \
    } while (0)

/* Whether a failed stat() of a path (its errno) says that nothing is there
 * (ENOENT, ENOTDIR: a verdict on the path) rather than that it cannot be
 * looked at now (EACCES, EIO, ESTALE on a network file system: ask again). */
static inline bool sgdmc_errno_says_absent(int error)
{
    return error == ENOENT || error == ENOTDIR;
}

#endif
