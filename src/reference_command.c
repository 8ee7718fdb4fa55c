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
          "  --format=json       one JSON list [{\"width\": W, \"rstar\": R}, ...]\n"
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

int sgdmc_reference_main(int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            print_help(stdout);
            return EXIT_SUCCESS;
        }
    sgdmc_train_config config;
    sgdmc_train_config_defaults(&config);
    int widths[MAX_WIDTHS], count = 0;
    bool have_widths = false, json = false, have_format = false;
    const sgdmc_option *seen[128];
    int seen_count = 0;
    char err[1024];
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (strncmp(arg, "--", 2) != 0 || !arg[2]) {
            fprintf(stderr,
                    "sgdmc reference: unexpected argument '%s' (flags look like --name=value)\n",
                    arg);
            return EXIT_USAGE;
        }
        char name[64];
        const char *eq = strchr(arg, '=');
        const size_t len = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
        if (len >= sizeof name) {
            fprintf(stderr, "sgdmc reference: unknown flag '%.*s'\n", (int)(len + 2), arg);
            return EXIT_USAGE;
        }
        memcpy(name, arg + 2, len);
        name[len] = '\0';
        const bool own = !strcmp(name, "widths") || !strcmp(name, "format");
        const sgdmc_option *option = own ? NULL : sgdmc_option_find(name);
        if (!own && !option) {
            const char *guess = sgdmc_option_suggest(name);
            fprintf(stderr,
                    "sgdmc reference: unknown flag '--%s'%s%s%s (see sgdmc reference --help)\n",
                    name, guess ? "; did you mean --" : "", guess ? guess : "",
                    guess ? "?" : "");
            return EXIT_USAGE;
        }
        const char *value;
        if (eq)
            value = eq + 1;
        else if (option && sgdmc_option_is_switch(option))
            value = "true";
        else if (i + 1 < argc)
            value = argv[++i];
        else {
            fprintf(stderr, "sgdmc reference: --%s: missing value\n", name);
            return EXIT_USAGE;
        }
        if (!strcmp(name, "widths")) {
            if (have_widths) {
                fprintf(stderr, "sgdmc reference: --widths: given twice\n");
                return EXIT_USAGE;
            }
            have_widths = true;
            if (parse_widths(value, widths, &count))
                return EXIT_USAGE;
            continue;
        }
        if (!strcmp(name, "format")) {
            if (have_format) {
                fprintf(stderr, "sgdmc reference: --format: given twice\n");
                return EXIT_USAGE;
            }
            have_format = true;
            if (strcmp(value, "text") && strcmp(value, "json")) {
                fprintf(stderr, "sgdmc reference: --format: '%s' is not text or json\n", value);
                return EXIT_USAGE;
            }
            json = !strcmp(value, "json");
            continue;
        }
        for (int j = 0; j < seen_count; j++)
            if (seen[j] == option) {
                fprintf(stderr, "sgdmc reference: --%s: given twice\n", name);
                return EXIT_USAGE;
            }
        if (seen_count < 128)
            seen[seen_count++] = option;
        if (sgdmc_option_set(option, &config, value, err, sizeof err)) {
            fprintf(stderr, "sgdmc reference: --%s: %s\n", name, err);
            return EXIT_USAGE;
        }
    }
    if (!have_widths) {
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
    int status = rstar ? EXIT_SUCCESS : EXIT_FAILURE;
    if (!rstar)
        fprintf(stderr, "sgdmc reference: out of memory\n");
    for (int k = 0; k < count && status == EXIT_SUCCESS; k++)
        if (sgdmc_rstar_1d(problem, &config, widths[k], &rstar[k], NULL, err, sizeof err)) {
            fprintf(stderr, "sgdmc reference: --widths: %s\n", err);
            status = EXIT_FAILURE;
        }
    if (status == EXIT_SUCCESS) {
        if (json) {
            fputc('[', stdout);
            for (int k = 0; k < count; k++)
                printf("%s{\"width\": %d, \"rstar\": %.17g}", k ? ", " : "", widths[k], rstar[k]);
            fputs("]\n", stdout);
        } else {
            for (int k = 0; k < count; k++)
                printf("%d %.17g\n", widths[k], rstar[k]);
        }
    }
    free(rstar);
    sgdmc_problem_free(problem);
    return status;
}
