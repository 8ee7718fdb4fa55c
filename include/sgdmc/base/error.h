/* sgdmc's one error path: a function that can fail takes `char *err, size_t
 * errlen`, writes one line there and returns -1 (or NULL) from its `fail:`
 * label, where it also releases what it holds. */
#ifndef SGDMC_ERROR_H
#define SGDMC_ERROR_H

#include <stdio.h>

/* Writes the message into err[errlen] and jumps to `fail`. */
#define SGDMC_FAIL(...)                                                                    \
    do {                                                                                   \
        snprintf(err, errlen, __VA_ARGS__);                                                \
        goto fail;                                                                         \
    } while (0)

#endif
