/* Text a value may hold (plain_text.h). */
#include "sgdmc/base/plain_text.h"

#include <stdbool.h>

/* Length of the valid UTF-8 sequence at s (1-4), or 0: no overlong forms,
 * no surrogates, nothing above U+10FFFF. */
static size_t utf8_sequence(const unsigned char *s)
{
    if (s[0] < 0x80)
        return 1;
    size_t n;
    unsigned long code;
    if (s[0] >= 0xC2 && s[0] <= 0xDF) {
        n = 2;
        code = s[0] & 0x1F;
    } else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        n = 3;
        code = s[0] & 0x0F;
    } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        n = 4;
        code = s[0] & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0; /* also stops at the terminating NUL */
        code = code << 6 | (s[i] & 0x3F);
    }
    const unsigned long least[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (code < least[n] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF))
        return 0;
    return n;
}

const char *sgdmc_plain_text_problem(const char *text)
{
    const unsigned char *s = (const unsigned char *)text;
    while (*s) {
        if (*s < 0x20 || *s == 0x7F)
            return "holds a control character (a newline, tab or the like)";
        const size_t n = utf8_sequence(s);
        if (!n)
            return "is not valid UTF-8";
        s += n;
    }
    return NULL;
}

const char *sgdmc_text_file_problem(const char *text, size_t length, int *line)
{
    const unsigned char *s = (const unsigned char *)text, *end = s + length;
    *line = 1;
    while (s < end) {
        if (*s == '\0')
            return "holds a NUL byte";
        /* a sequence cut by the file's end meets the NUL after it and fails */
        const size_t n = utf8_sequence(s);
        if (!n || (size_t)(end - s) < n)
            return "is not valid UTF-8";
        *line += *s == '\n';
        s += n;
    }
    return NULL;
}
