/* `sgdmc reference --widths=0,1,2 [--format=text|json] [train flags]`:
 * prints R*(w) for each width. */
#include "sgdmc/reference_command.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sgdmc/options.h"
#include "sgdmc/problem.h"
#include "sgdmc/rstar.h"

#define EXIT_USAGE 2
#define MAX_WIDTHS 256
#define MAX_WIDTH 1024

static void print_help(FILE *out)
{
    fputs("usage: sgdmc reference --widths=W1,W2,... [--format=text|json] [train flags]\n"
          "\n"
          "Prints R*(w), the global-minimum risk E (f(X) - g(X))^2 of one-hidden-layer\n"
          "ReLU networks of width w, for each width, on the problem that the `sgdmc train`\n"
          "flags define (--target, --target constant value, --teacher_width,\n"
          "--teacher_seed, ...). Supported: input_dim 1, --input=uniform, --loss=mse,\n"
          "--l2=0, --activation=relu, targets constant, square, sin, and teachers of\n"
          "depth 1. Flags that do not change the problem (optimizer, width, ...) are\n"
          "accepted and ignored.\n"
          "\n"
          "  --widths=W1,W2,...  the widths (>= 0), e.g. 0,1,2,4,8,16,32\n"
          "  --format=text       one line 'WIDTH RSTAR' per width (default)\n"
          "  --format=json       one JSON list [{\"width\": W, \"rstar\": R,\n"
          "                      \"lower_bound\": L}, ...]: L is the least risk of a\n"
          "                      CPWL with at most W breakpoints (a class containing the\n"
          "                      networks') the search found; R* - L bounds the error\n"
          "                      of R* as far as that search is global\n"
          "\n"
          "exit status: 0 done; 2 bad flags or an unsupported problem; 1 out of memory.\n",
          out);
}

/* Parses "0,1,2"; -1 with a message on a bad list. */
static int parse_widths(const char *value, int *widths, int *count)
{
    *count = 0;
    const char *p = value;
    if (!*p) {
        fprintf(stderr, "sgdmc reference: --widths: empty list (e.g. --widths=0,1,2,4)\n");
        return -1;
    }
    for (;;) {
        char *end;
        errno = 0;
        const long w = strtol(p, &end, 10);
        if (end == p || errno || w < 0 || w > MAX_WIDTH || (*end && *end != ',')) {
            fprintf(stderr,
                    "sgdmc reference: --widths: '%s' is not a comma-separated list of widths "
                    "0..%d\n",
                    value, MAX_WIDTH);
            return -1;
        }
        if (*count == MAX_WIDTHS) {
            fprintf(stderr, "sgdmc reference: --widths: more than %d widths\n", MAX_WIDTHS);
            return -1;
        }
        widths[(*count)++] = (int)w;
        if (!*end)
            return 0;
        p = end + 1;
    }
}

/* What --widths and --format set. */
typedef struct {
    int widths[MAX_WIDTHS], count;
    bool have_widths, json, have_format;
} reference_flags;

static int own_flag(const char *name, const char *value, void *context)
{
    reference_flags *f = context;
    if (!strcmp(name, "widths")) {
        if (f->have_widths) {
            fprintf(stderr, "sgdmc reference: --widths: given twice\n");
            return -1;
        }
        f->have_widths = true;
        return parse_widths(value, f->widths, &f->count);
    }
    if (f->have_format) {
        fprintf(stderr, "sgdmc reference: --format: given twice\n");
        return -1;
    }
    f->have_format = true;
    if (strcmp(value, "text") && strcmp(value, "json")) {
        fprintf(stderr, "sgdmc reference: --format: '%s' is not text or json\n", value);
        return -1;
    }
    f->json = !strcmp(value, "json");
    return 0;
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
    /* --widths here lists the widths to solve, not train's per-layer widths */
    static const char *const own[] = {"widths", "format", NULL};
    reference_flags f = {.count = 0};
    if (sgdmc_options_parse(argc, argv, "reference", &config, own, own_flag, &f))
        return EXIT_USAGE;
    char err[1024];
    const int *widths = f.widths;
    const int count = f.count;
    const bool json = f.json;
    if (!f.have_widths) {
        fprintf(stderr, "sgdmc reference: --widths is required (e.g. --widths=0,1,2,4,8)\n");
        return EXIT_USAGE;
    }
    if (sgdmc_train_config_check(&config, err, sizeof err)) {
        fprintf(stderr, "sgdmc reference: %s\n", err);
        return EXIT_USAGE;
    }
    const char *why = sgdmc_rstar_unsupported_reason(&config);
    if (why) {
        fprintf(stderr, "sgdmc reference: unsupported problem: %s\n", why);
        return EXIT_USAGE;
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
                                   err, sizeof err)) {
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
