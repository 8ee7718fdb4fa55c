/* `sgdmc summarize`: read a results file, print its per-cell statistics. */
#include "sgdmc/summary/summarize.h"

#include <errno.h>
#include <string.h>

#include "sgdmc/summary/summary_print.h"
#include "sgdmc/summary/summary_read.h"

const char *const sgdmc_summary_format_names[] = {"table", "csv", "json", NULL};

int sgdmc_summary_format_parse(const char *text, sgdmc_summary_format *format)
{
    for (int i = 0; sgdmc_summary_format_names[i]; i++)
        if (!strcmp(text, sgdmc_summary_format_names[i])) {
            *format = (sgdmc_summary_format)i;
            return 0;
        }
    return -1;
}

int sgdmc_summarize(const char *path, sgdmc_summary_format format,
                    const sgdmc_summary_options *options, FILE *out, char *err, size_t errlen)
{
    sgdmc_summary s;
    if (sgdmc_summary_read(path, options, &s, err, errlen))
        return -1;
    int status = 0;
    if (format == SGDMC_SUMMARY_JSON)
        sgdmc_summary_print_json(&s, path, out);
    else if (format == SGDMC_SUMMARY_CSV)
        sgdmc_summary_print_csv(&s, out);
    else
        status = sgdmc_summary_print_table(&s, path, out);
    errno = 0;
    if (status || fflush(out) || ferror(out)) {
        snprintf(err, errlen, "%s: cannot write the summary: %s", path,
                 errno ? strerror(errno) : "write error");
        status = -1;
    }
    sgdmc_summary_free(&s);
    return status;
}
