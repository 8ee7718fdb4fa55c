/* Content fingerprints of input files: the SHA-256 of a file's bytes (OpenSSL's
 * libcrypto), so that a study knows its data and --init files by what they
 * hold, not where they lie: a moved study still resumes, an edited file does
 * not silently continue. */
#ifndef SGDMC_FINGERPRINT_H
#define SGDMC_FINGERPRINT_H

#include <stddef.h>

/* 64 hex digits and the terminating 0. */
#define SGDMC_FINGERPRINT_SIZE 65

/* The SHA-256 of the file at `path` as lowercase hex into hex[65]; -1 with a
 * message naming the file and the OS reason. */
int sgdmc_fingerprint_file(const char *path, char *hex, char *err, size_t errlen);

/* The SHA-256 of `length` bytes as lowercase hex into hex[65]; -1 if
 * libcrypto fails. */
int sgdmc_fingerprint_bytes(const void *bytes, size_t length, char *hex);

#endif
