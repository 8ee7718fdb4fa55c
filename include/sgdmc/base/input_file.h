/* Why an input file cannot be read, in the user's terms: every command
 * names the file and the reason (no such file, a directory, no permission)
 * before a library (HDF5, libconfig) turns it into something vaguer. */
#ifndef SGDMC_INPUT_FILE_H
#define SGDMC_INPUT_FILE_H

#include <stddef.h>

/* 0 when `path` is a readable regular file; else -1 and the reason in why
 * ("no such file or directory", "is a directory, not a file", "is not a
 * regular file" for a FIFO or device, the OS's text for permissions and the
 * like). */
int sgdmc_input_file_problem(const char *path, char *why, size_t size);

#endif
