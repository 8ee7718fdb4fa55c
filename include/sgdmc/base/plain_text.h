/* Text a value may hold: every value ends up in one line of an error
 * message, in a JSON object and in a UTF-8 string of the results file, so a
 * newline or an invalid byte in one would split the message or spoil the file. */
#ifndef SGDMC_PLAIN_TEXT_H
#define SGDMC_PLAIN_TEXT_H

#include <stddef.h>

/* NULL when `text` is valid UTF-8 without control characters (U+0000-U+001F,
 * U+007F); else what is wrong, as a phrase ("holds a control character (a
 * newline, tab or the like)", "is not valid UTF-8"). */
const char *sgdmc_plain_text_problem(const char *text);

/* For a whole file of `length` bytes: NULL, or what is wrong ("holds a NUL
 * byte", "is not valid UTF-8") and its 1-based line in *line. Control
 * characters other than NUL are left to the parser. */
const char *sgdmc_text_file_problem(const char *text, size_t length, int *line);

#endif
