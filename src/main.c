/* sgdmc: the command line. */
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sgdmc/h5io.h"
#include "sgdmc/options.h"
#include "sgdmc/reference_command.h"
#include "sgdmc/report.h"
#include "sgdmc/stop_signal.h"
#include "sgdmc/study_config.h"
#include "sgdmc/study_run.h"
#include "sgdmc/summarize.h"
#include "sgdmc/train.h"

#define EXIT_USAGE 2
/* sysexits.h's EX_TEMPFAIL: the study stopped early; run it again with --resume */
#define EXIT_RESUME 75

static void print_usage(FILE *out)
{
    fputs("usage: sgdmc COMMAND [--flag=value ...]\n"
          "\n"
          "Measures how often SGD-type optimizers reach a global minimizer of small\n"
          "neural networks.\n"
          "\n"
          "commands:\n"
          "  train     train one network and print its result as one JSON object\n"
          "  study     run a study (a grid of train flags times seeds) into one HDF5 file,\n"
          "            under mpirun or in one process\n"
          "  summarize per grid cell of a results file: runs done, P(converged) with its\n"
          "            95% interval, dead-neuron shares, median final risk\n"
          "  reference R*(width) of one-hidden-layer ReLU networks on U[0,1] for a target\n"
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

static int run_train(int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            print_train_help(stdout);
            return EXIT_SUCCESS;
        }
    sgdmc_train_config config;
    sgdmc_train_config_defaults(&config);
    if (sgdmc_options_parse(argc, argv, "train", &config, NULL, NULL, NULL))
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

static void print_study_help(FILE *out)
{
    fputs("usage: sgdmc study [CONFIG] [--output=FILE.h5] [--resume] [--force] [--dry-run]\n"
          "       sgdmc study --print-default\n"
          "       mpirun -n N sgdmc study CONFIG ...\n"
          "\n"
          "Runs every task (grid cell x seed) of the study in CONFIG, a libconfig file,\n"
          "and writes each run's results into one HDF5 file. Without CONFIG, runs the\n"
          "built-in default study. Under mpirun, rank 0 hands out tasks and trains too.\n"
          "\n"
          "  --output=FILE.h5   the results file (default: NAME.h5, NAME from the config)\n"
          "  --resume           continue FILE.h5 with the tasks not yet done (starts it\n"
          "                     if it does not exist); the config must be the same\n"
          "  --force            replace an existing FILE.h5\n"
          "  --dry-run          print the number of tasks and the estimated cost; run nothing\n"
          "  --print-default    print the built-in default study's config\n"
          "  --quiet            no progress output\n"
          "\n"
          "exit status: 0 every task done; 75 stopped by SIGTERM/SIGINT/SIGUSR1 before the end\n"
          "(run the same command with --resume); 2 bad command line or config; 1 other\n"
          "failures.\n",
          out);
}

typedef struct {
    const char *config;
    char output[SGDMC_PATH_MAX];
    bool resume, force, dry_run, print_default, quiet;
} study_command;

static int parse_study_flags(int argc, char **argv, study_command *c)
{
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (!strncmp(arg, "--output=", 9) || !strcmp(arg, "--output")) {
            const char *value = arg[8] == '=' ? arg + 9 : (i + 1 < argc ? argv[++i] : NULL);
            if (!value || !*value || strlen(value) >= sizeof c->output) {
                fprintf(stderr, "sgdmc study: --output: needs a file name\n");
                return -1;
            }
            snprintf(c->output, sizeof c->output, "%s", value);
        } else if (!strcmp(arg, "--resume")) {
            c->resume = true;
        } else if (!strcmp(arg, "--force")) {
            c->force = true;
        } else if (!strcmp(arg, "--dry-run")) {
            c->dry_run = true;
        } else if (!strcmp(arg, "--print-default")) {
            c->print_default = true;
        } else if (!strcmp(arg, "--quiet")) {
            c->quiet = true;
        } else if (!strncmp(arg, "--", 2)) {
            fprintf(stderr, "sgdmc study: unknown flag '%s' (see sgdmc study --help)\n", arg);
            return -1;
        } else if (c->config) {
            fprintf(stderr, "sgdmc study: one config file only ('%s' and '%s')\n", c->config,
                    arg);
            return -1;
        } else {
            c->config = arg;
        }
    }
    if (c->resume && c->force) {
        fprintf(stderr, "sgdmc study: --resume and --force contradict each other\n");
        return -1;
    }
    return 0;
}

static int print_dry_run(const sgdmc_study *study, const char *output)
{
    printf("study %s: %ld tasks (%ld grid cells x %ld seeds), results file %s\n", study->name,
           study->tasks, study->cells, study->seeds, output);
    const double seconds = sgdmc_study_estimate_seconds(study);
    if (seconds < 0.0) {
        fprintf(stderr, "sgdmc study: --dry-run: cannot time the grid cells\n");
        return EXIT_FAILURE;
    }
    const long cores = sysconf(_SC_NPROCESSORS_ONLN);
    printf("estimated cost: %.3g core-seconds (%.3g core-hours), %.3g s per run on average;\n"
           "about %.3g s of wall time on the %ld cores of this machine\n",
           seconds, seconds / 3600.0, seconds / (double)study->tasks, seconds / (double)cores,
           cores);
    return EXIT_SUCCESS;
}

/* A study started without a launcher runs as an MPI singleton. Open MPI
 * would spend 0.3 s of its start-up there forking a helper daemon and
 * probing high-speed transports that one process never uses (a quarter of a
 * small study's time); these two settings skip both. A launcher (mpirun,
 * srun) or the user's own OMPI_MCA_* settings are left alone. */
static void prefer_quick_singleton(void)
{
    const char *launched[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"};
    for (size_t i = 0; i < sizeof launched / sizeof *launched; i++)
        if (getenv(launched[i]))
            return;
    setenv("OMPI_MCA_ess_singleton_isolated", "1", 0);
    setenv("OMPI_MCA_pml", "ob1", 0);
}

/* Loads the study on every rank; rank 0 reports the first failure. */
static int load_study(const study_command *c, sgdmc_study *study, int me)
{
    char err[2048];
    const int failed = c->config ? sgdmc_study_load(c->config, study, err, sizeof err)
                                 : sgdmc_study_parse(sgdmc_default_study, "(default study)",
                                                     study, err, sizeof err);
    int any_failed = failed;
    MPI_Allreduce(&failed, &any_failed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (failed && me == 0)
        fprintf(stderr, "sgdmc study: %s\n", err);
    return any_failed ? -1 : 0;
}

static int run_study(int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            print_study_help(stdout);
            return EXIT_SUCCESS;
        }
    study_command c = {0};
    if (parse_study_flags(argc, argv, &c))
        return EXIT_USAGE;
    if (c.print_default) {
        fputs(sgdmc_default_study, stdout);
        return EXIT_SUCCESS;
    }
    prefer_quick_singleton();
    MPI_Init(NULL, NULL);
    sgdmc_stop_signal_install();
    int me;
    MPI_Comm_rank(MPI_COMM_WORLD, &me);
    sgdmc_study study;
    int status = EXIT_SUCCESS;
    if (load_study(&c, &study, me)) {
        status = EXIT_USAGE;
    } else {
        if (!c.output[0])
            snprintf(c.output, sizeof c.output, "%s.h5", study.name);
        if (c.dry_run) {
            status = me == 0 ? print_dry_run(&study, c.output) : EXIT_SUCCESS;
        } else {
            const sgdmc_study_options options = {.output = c.output,
                                                 .resume = c.resume,
                                                 .force = c.force,
                                                 .progress = c.quiet ? NULL : stderr};
            char err[2048];
            const sgdmc_study_outcome outcome =
                sgdmc_study_run(MPI_COMM_WORLD, &study, &options, err, sizeof err);
            if (outcome == SGDMC_STUDY_FAILED && me == 0)
                fprintf(stderr, "sgdmc study: %s\n", err);
            status = outcome == SGDMC_STUDY_COMPLETE      ? EXIT_SUCCESS
                     : outcome == SGDMC_STUDY_INTERRUPTED ? EXIT_RESUME
                                                          : EXIT_FAILURE;
        }
        sgdmc_study_free(&study);
    }
    MPI_Finalize();
    return status;
}

static void print_summarize_help(FILE *out)
{
    fputs("usage: sgdmc summarize FILE.h5 [--format=table|csv|json] [--grad_eps=E]\n"
          "\n"
          "For every grid cell of a study's results file (seeds pooled; only rows\n"
          "marked done count, so it works on a study still running or stopped): runs,\n"
          "done, converged, diverged, P(converged) with its exact 95% Clopper-Pearson\n"
          "interval, the share of runs with a dead first-layer neuron at initialization\n"
          "and at the end (each with its interval), the share with min_grad_norm <= E\n"
          "(default 1e-3; paper 003's stationarity) with its interval, and the median\n"
          "final risk (a diverged run's NaN risk counts as infinite).\n",
          out);
}

static int run_summarize(int argc, char **argv)
{
    const char *path = NULL;
    sgdmc_summary_format format = SGDMC_SUMMARY_TABLE;
    double grad_eps = 1e-3;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            print_summarize_help(stdout);
            return EXIT_SUCCESS;
        }
        if (!strncmp(arg, "--format=", 9)) {
            if (sgdmc_summary_format_parse(arg + 9, &format)) {
                fprintf(stderr, "sgdmc summarize: --format: '%s' is not table, csv or json\n",
                        arg + 9);
                return EXIT_USAGE;
            }
        } else if (!strncmp(arg, "--grad_eps=", 11)) {
            char *end;
            grad_eps = strtod(arg + 11, &end);
            if (end == arg + 11 || *end || !(grad_eps >= 0.0) || !isfinite(grad_eps)) {
                fprintf(stderr, "sgdmc summarize: --grad_eps: '%s' is not a number >= 0\n",
                        arg + 11);
                return EXIT_USAGE;
            }
        } else if (!strncmp(arg, "--", 2)) {
            fprintf(stderr, "sgdmc summarize: unknown flag '%s' (see sgdmc summarize --help)\n",
                    arg);
            return EXIT_USAGE;
        } else if (path) {
            fprintf(stderr, "sgdmc summarize: one results file only ('%s' and '%s')\n", path,
                    arg);
            return EXIT_USAGE;
        } else {
            path = arg;
        }
    }
    if (!path) {
        print_summarize_help(stderr);
        return EXIT_USAGE;
    }
    char err[2048];
    if (sgdmc_summarize(path, format, grad_eps, stdout, err, sizeof err)) {
        fprintf(stderr, "sgdmc summarize: %s\n", err);
        return EXIT_FAILURE;
    }
    return EXIT_SUCCESS;
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
    if (!strcmp(command, "study"))
        return run_study(argc - 2, argv + 2);
    if (!strcmp(command, "summarize"))
        return run_summarize(argc - 2, argv + 2);
    if (!strcmp(command, "reference"))
        return sgdmc_reference_main(argc - 2, argv + 2);
    fprintf(stderr,
            "sgdmc: unknown command '%s' (commands: train, study, summarize, reference; see "
            "sgdmc --help)\n",
            command);
    return EXIT_USAGE;
}
