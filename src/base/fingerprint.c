/* SHA-256 of files through OpenSSL's EVP interface (fingerprint.h). */
#include "sgdmc/base/fingerprint.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "sgdmc/base/error.h"

int sgdmc_fingerprint_file(const char *path, char *hex, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    EVP_MD_CTX *context = EVP_MD_CTX_new();
    if (!f)
        SGDMC_FAIL("%s: cannot read: %s", path, strerror(errno));
    if (!context || EVP_DigestInit_ex(context, EVP_sha256(), NULL) != 1)
        SGDMC_FAIL("%s: cannot start a SHA-256 digest", path);
    unsigned char block[1 << 16];
    size_t got;
    while ((got = fread(block, 1, sizeof block, f)) > 0)
        if (EVP_DigestUpdate(context, block, got) != 1)
            SGDMC_FAIL("%s: SHA-256 failed", path);
    if (ferror(f))
        SGDMC_FAIL("%s: read error: %s", path, strerror(errno));
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (EVP_DigestFinal_ex(context, digest, &length) != 1 || length != 32)
        SGDMC_FAIL("%s: SHA-256 failed", path);
    for (unsigned int i = 0; i < length; i++)
        snprintf(hex + 2 * i, 3, "%02x", digest[i]);
    EVP_MD_CTX_free(context);
    fclose(f);
    return 0;
fail:
    EVP_MD_CTX_free(context);
    if (f)
        fclose(f);
    return -1;
}

int sgdmc_fingerprint_bytes(const void *bytes, size_t length, char *hex)
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    if (EVP_Digest(bytes, length, digest, &size, EVP_sha256(), NULL) != 1 || size != 32)
        return -1;
    for (unsigned int i = 0; i < size; i++)
        snprintf(hex + 2 * i, 3, "%02x", digest[i]);
    return 0;
}
