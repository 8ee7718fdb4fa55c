/* sgdmc: the command line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sgdmc/h5io.h"
#include "sgdmc/options.h"
#include "sgdmc/report.h"
#include "sgdmc/train.h"

#define EXIT_USAGE 2

static void print_usage(FILE *out)
{
    fputs("usage: sgdmc COMMAND [--flag=value ...]\n"
          "\n"
          "Measures how often SGD-type optimizers reach a global minimizer of small\n"
          "neural networks.\n"
          "\n"
          "commands:\n"
          "  train     train one network and print its result as one JSON object\n"
          "\n"
          "  sgdmc --version       print the version\n"
          "  sgdmc COMMAND --help  list the command's flags with defaults and meaning\n",
          out);
}

static void print_train_help(FILE *out)
{
    fputs("usage: sgdmc train [--flag=value | --flag value | --switch ...]\n"
          "\n"
          "Trains one network and prints one JSON object: status (converged,\n"
          "not_converged, diverged), final_risk, min_risk, risk_gap, dist_to_min,\n"
          "grad_norm, min_grad_norm, dead_init, dead_final, steps, seconds and, with\n"
          "--trajectory, the risk and gradient norm at log-spaced steps.\n"
          "\n"
          "flags:\n",
          out);
    sgdmc_options_print_help(out);
}

/* Parses `sgdmc train` flags into config; prints the error and returns -1. */
static int parse_train_flags(int argc, char **argv, sgdmc_train_config *config)
{
    char err[512];
    const sgdmc_option *seen[128];
    int seen_count = 0;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (strncmp(arg, "--", 2) != 0 || !arg[2]) {
            fprintf(stderr, "sgdmc train: unexpected argument '%s' (flags look like --name=value)\n",
                    arg);
            return -1;
        }
        char name[64];
        const char *eq = strchr(arg, '=');
        size_t len = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
        if (len >= sizeof name) {
            fprintf(stderr, "sgdmc train: unknown flag '%.*s'\n", (int)(len + 2), arg);
            return -1;
        }
        memcpy(name, arg + 2, len);
        name[len] = '\0';
        const sgdmc_option *option = sgdmc_option_find(name);
        if (!option) {
            const char *guess = sgdmc_option_suggest(name);
            fprintf(stderr, "sgdmc train: unknown flag '--%s'%s%s%s (see sgdmc train --help)\n",
                    name, guess ? "; did you mean --" : "", guess ? guess : "", guess ? "?" : "");
            return -1;
        }
        const char *value;
        if (eq)
            value = eq + 1;
        else if (sgdmc_option_is_switch(option))
            value = "true";
        else if (i + 1 < argc)
            value = argv[++i];
        else {
            fprintf(stderr, "sgdmc train: --%s: missing value\n", name);
            return -1;
        }
        for (int j = 0; j < seen_count; j++)
            if (seen[j] == option) {
                fprintf(stderr, "sgdmc train: --%s: given twice\n", name);
                return -1;
            }
        if (seen_count < 128)
            seen[seen_count++] = option;
        if (sgdmc_option_set(option, config, value, err, sizeof err)) {
            fprintf(stderr, "sgdmc train: --%s: %s\n", name, err);
            return -1;
        }
    }
    return 0;
}

static int run_train(int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            print_train_help(stdout);
            return EXIT_SUCCESS;
        }
    sgdmc_train_config config;
    sgdmc_train_config_defaults(&config);
    if (parse_train_flags(argc, argv, &config))
        return EXIT_USAGE;
    char err[1024];
    sgdmc_trainer *trainer = sgdmc_trainer_alloc(&config, err, sizeof err);
    if (!trainer) {
        fprintf(stderr, "sgdmc train: %s\n", err);
        return EXIT_USAGE;
    }
    sgdmc_result result;
    if (sgdmc_trainer_run(trainer, &result)) {
        fprintf(stderr, "sgdmc train: out of memory during the run\n");
        sgdmc_trainer_free(trainer);
        return EXIT_FAILURE;
    }
    int status = EXIT_SUCCESS;
    if (config.save_file[0] &&
        sgdmc_h5_write_params(config.save_file, sgdmc_trainer_arch(trainer),
                              sgdmc_trainer_params(trainer), err, sizeof err)) {
        fprintf(stderr, "sgdmc train: --save: %s\n", err);
        status = EXIT_FAILURE;
    } else {
        sgdmc_result_write_json(stdout, &result);
    }
    sgdmc_result_free(&result);
    sgdmc_trainer_free(trainer);
    return status;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_usage(stderr);
        return EXIT_USAGE;
    }
    const char *command = argv[1];
    if (!strcmp(command, "--help") || !strcmp(command, "-h") || !strcmp(command, "help")) {
        print_usage(stdout);
        return EXIT_SUCCESS;
    }
    if (!strcmp(command, "--version")) {
        printf("sgdmc %s\n", SGDMC_VERSION);
        return EXIT_SUCCESS;
    }
    if (!strcmp(command, "train"))
        return run_train(argc - 2, argv + 2);
    fprintf(stderr, "sgdmc: unknown command '%s' (commands: train; see sgdmc --help)\n", command);
    return EXIT_USAGE;
}
