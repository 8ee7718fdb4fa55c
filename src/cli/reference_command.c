/* `sgdmc reference --widths=0,1,2 [--format=text|json] [train flags]`:
 * prints R*(w) for each width. */
#include "sgdmc/cli/reference_command.h"

#include <errno.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sgdmc/base/error.h"
#include "exit_status.h"
#include "sgdmc/base/options.h"
#include "sgdmc/core/train_options.h"
#include "sgdmc/core/problem.h"
#include "sgdmc/minimum/rstar.h"

#define MAX_WIDTHS 256
#define MAX_WIDTH 1024

static void print_help(FILE *out);

/* What --widths and --format set. */
typedef struct {
    int widths[MAX_WIDTHS], count;
    int format; /* index into format_names */
} reference_flags;

static const char *const format_names[] = {"text", "json", NULL};
enum { FORMAT_TEXT, FORMAT_JSON };

/* "0,1,2": the widths to solve (train's own --widths is per layer) */
static int set_widths(const sgdmc_option *option, void *target, const char *value, char *err,
                      size_t errlen)
{
    (void)option;
    reference_flags *f = target;
    f->count = 0;
    const char *p = value;
    if (!*p)
        SGDMC_FAIL("empty list (e.g. --widths=0,1,2,4)");
    for (;;) {
        char *end;
        errno = 0;
        const long w = strtol(p, &end, 10);
        if (end == p || errno || w < 0 || w > MAX_WIDTH || (*end && *end != ','))
            SGDMC_FAIL("'%s' is not a comma-separated list of widths 0..%d", value, MAX_WIDTH);
        if (f->count == MAX_WIDTHS)
            SGDMC_FAIL("more than %d widths", MAX_WIDTHS);
        f->widths[f->count++] = (int)w;
        if (!*end)
            return 0;
        p = end + 1;
    }
fail:
    return -1;
}

static void format_widths(const sgdmc_option *option, const void *target, char *buf,
                          size_t size)
{
    (void)option;
    const reference_flags *f = target;
    buf[0] = '\0';
    for (int k = 0; k < f->count; k++) {
        const size_t used = strlen(buf);
        snprintf(buf + used, size - used, "%s%d", k ? "," : "", f->widths[k]);
    }
}

static const sgdmc_option_type widths_type = {set_widths, format_widths, false, false, NULL};

static const sgdmc_option flag_list[] = {
    {"widths", "W1,W2,...", NULL, "required", NULL, "the widths (>= 0), e.g. 0,1,2,4,8,16,32",
     &widths_type, 0, 0, 0, false, NULL, 0},
    {"format", "NAME", "text", NULL, NULL,
     "text: one line 'WIDTH RSTAR' per width; json: one list [{\"width\": W, \"rstar\": R, "
     "\"lower_bound\": L}, ...], L the least risk of a CPWL with at most W breakpoints (a class "
     "containing the networks') the search found: R* - L bounds the error of R* as far as that "
     "search is global",
     &sgdmc_option_choice, offsetof(reference_flags, format), 0, 0, false, format_names, 0},
};
static const sgdmc_option_table reference_flags_table = {
    flag_list, sizeof flag_list / sizeof *flag_list, 0, 0};

static void print_help(FILE *out)
{
    fputs("usage: sgdmc reference --widths=W1,W2,... [--format=text|json] [train flags]\n"
          "\n"
          "Prints R*(w), the global-minimum risk E (f(X) - g(X))^2 of one-hidden-layer\n"
          "ReLU networks of width w, for each width, on the problem that the `sgdmc train`\n"
          "flags define (--target, --target constant value, --teacher_width,\n"
          "--teacher_seed, ...). Supported: input_dim 1, --input=uniform, --loss=mse,\n"
          "--l2=0, --activation=relu, targets constant, square, sin, and teachers of\n"
          "depth 1. Flags that do not change the problem (optimizer, depth, width, ...)\n"
          "are an error: they would have no effect.\n"
          "\n"
          "flags:\n",
          out);
    sgdmc_options_print_help(&reference_flags_table, out);
    fputs("\n"
          "exit status: 0 done; 2 bad flags or an unsupported problem; 1 out of memory.\n",
          out);
}

int sgdmc_reference_main(int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            print_help(stdout);
            return EXIT_SUCCESS;
        }
    sgdmc_train_config config;
    sgdmc_train_config_defaults(&config);
    reference_flags f = {.count = -1};
    sgdmc_options_set_defaults(&reference_flags_table, &f);
    /* --widths here lists the widths to solve: this command's table comes first */
    const sgdmc_option_group groups[] = {{&reference_flags_table, &f},
                                         {&sgdmc_train_options, &config}};
    if (sgdmc_options_parse(argc, argv, "reference", groups, 2, NULL, NULL))
        return SGDMC_EXIT_USAGE;
    char err[1024];
    const int *widths = f.widths;
    const int count = f.count;
    const bool json = f.format == FORMAT_JSON;
    if (count < 0) {
        fprintf(stderr, "sgdmc reference: --widths is required (e.g. --widths=0,1,2,4,8)\n");
        return SGDMC_EXIT_USAGE;
    }
    char outside[512];
    sgdmc_options_given_outside(&sgdmc_train_options, &config, SGDMC_DEFINES_PROBLEM, outside,
                                sizeof outside);
    if (outside[0]) {
        fprintf(stderr,
                "sgdmc reference: %s: no effect here (R*(w) is for one-hidden-layer students "
                "of each --widths; only flags that define the problem apply)\n",
                outside);
        return SGDMC_EXIT_USAGE;
    }
    if (sgdmc_train_config_check(&config, err, sizeof err) ||
        sgdmc_train_config_check_ignored(&config, err, sizeof err)) {
        fprintf(stderr, "sgdmc reference: %s\n", err);
        return SGDMC_EXIT_USAGE;
    }
    const char *why = sgdmc_rstar_unsupported_reason(&config);
    if (why) {
        fprintf(stderr, "sgdmc reference: unsupported problem: %s\n", why);
        return SGDMC_EXIT_USAGE;
    }
    sgdmc_problem *problem = sgdmc_problem_alloc(&config, 1, err, sizeof err);
    if (!problem) {
        fprintf(stderr, "sgdmc reference: %s\n", err);
        return EXIT_FAILURE;
    }
    double *rstar = malloc((size_t)count * sizeof *rstar);
    double *lower = malloc((size_t)count * sizeof *lower);
    int status = rstar && lower ? EXIT_SUCCESS : EXIT_FAILURE;
    if (status != EXIT_SUCCESS)
        fprintf(stderr, "sgdmc reference: out of memory\n");
    for (int k = 0; k < count && status == EXIT_SUCCESS; k++)
        if (sgdmc_rstar_1d_network(problem, &config, widths[k], &rstar[k], &lower[k], NULL, NULL,
                                   NULL, err, sizeof err)) {
            fprintf(stderr, "sgdmc reference: --widths: %s\n", err);
            status = EXIT_FAILURE;
        }
    if (status == EXIT_SUCCESS) {
        if (json) {
            fputc('[', stdout);
            for (int k = 0; k < count; k++) {
                printf("%s{\"width\": %d, \"rstar\": %.17g, \"lower_bound\": %.17g}",
                       k ? ", " : "", widths[k], rstar[k], lower[k]);
            }
            fputs("]\n", stdout);
        } else {
            for (int k = 0; k < count; k++)
                printf("%d %.17g\n", widths[k], rstar[k]);
        }
    }
    free(rstar);
    free(lower);
    sgdmc_problem_free(problem);
    return status;
}
