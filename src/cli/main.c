/* sgdmc: the command line. */
#include <float.h>
#include <limits.h>
#include <math.h>
#include <mpi.h>
#include <stdbool.h>
#include <stddef.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exit_status.h"
#include "sgdmc/core/h5io.h"
#include "sgdmc/base/build_id.h"
#include "sgdmc/base/cancel.h"
#include "sgdmc/base/numeric_libraries.h"
#include "sgdmc/base/options.h"
#include "sgdmc/core/train_options.h"
#include "sgdmc/cli/reference_command.h"
#include "sgdmc/run/report.h"
#include "sgdmc/base/stop_signal.h"
#include "sgdmc/study/study_config.h"
#include "sgdmc/study/progress.h"
#include "sgdmc/core/lanes.h"
#include "sgdmc/study/results_file.h"
#include "sgdmc/study/study_run.h"
#include "sgdmc/summary/summarize.h"
#include "sgdmc/run/train.h"


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
          "  sgdmc COMMAND --help  list the command's flags with defaults and meaning\n"
          "                        (also: sgdmc help COMMAND)\n",
          out);
}

static void print_train_help(FILE *out)
{
    fputs("usage: sgdmc train [--flag=value | --flag value | --switch ...]\n"
          "\n"
          "Trains one network and prints one JSON object: status (converged,\n"
          "not_converged, undecided, diverged), final_risk, R*'s bracket min_risk_lo ..\n"
          "min_risk, certified_nonconvergent, end_state, dead neurons, Gram measures,\n"
          "steps, seconds and more (docs/cli.md, Output) and, with --trajectory, the\n"
          "risk and gradient norm at log-spaced steps.\n"
          "\n"
          "flags:\n",
          out);
    sgdmc_options_print_help(&sgdmc_train_options, out);
}

static int run_train(int argc, char **argv, sgdmc_rstar_cache *rstar_cache)
{
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            print_train_help(stdout);
            return EXIT_SUCCESS;
        }
    sgdmc_train_config config;
    sgdmc_train_config_defaults(&config);
    const sgdmc_option_group flags[] = {{&sgdmc_train_options, &config}};
    if (sgdmc_options_parse(argc, argv, "train", flags, 1, NULL, NULL))
        return SGDMC_EXIT_USAGE;
    char err[1024];
    if (sgdmc_train_config_check(&config, err, sizeof err) ||
        sgdmc_train_config_check_ignored(&config, err, sizeof err)) {
        fprintf(stderr, "sgdmc train: %s\n", err);
        return SGDMC_EXIT_USAGE;
    }
    const char *const inputs[] = {config.data_file, config.init_file};
    if (config.save_file[0] && sgdmc_h5_check_save_target(config.save_file, inputs, 2, err,
                                                          sizeof err)) {
        fprintf(stderr, "sgdmc train: --save: %s\n", err);
        return SGDMC_EXIT_USAGE;
    }
    sgdmc_trainer *trainer = sgdmc_trainer_alloc(&config, err, sizeof err);
    if (!trainer) {
        fprintf(stderr, "sgdmc train: %s\n", err);
        return SGDMC_EXIT_USAGE;
    }
    sgdmc_trainer_set_rstar_cache(trainer, rstar_cache);
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

typedef struct {
    char output[SGDMC_PATH_MAX];
    bool resume, force, dry_run, print_default, quiet;
    sgdmc_progress_style progress;
    int lanes;
    double chunk_seconds;
    unsigned char given[9]; /* which of the flags below were given */
} study_command;

#define STUDY(member) offsetof(study_command, member)
static const sgdmc_option study_flag_list[] = {
    {"output", "FILE.h5", NULL, "NAME.h5, NAME from the config", NULL, "the results file",
     &sgdmc_option_path, STUDY(output), 0, 0, false, NULL, 0},
    {"resume", "", "false", NULL, NULL,
     "continue FILE.h5 with the tasks not yet done (starts it if it does not exist); the "
     "config must be the same",
     &sgdmc_option_bool, STUDY(resume), 0, 0, false, NULL, 0},
    {"force", "", "false", NULL, NULL, "replace an existing FILE.h5", &sgdmc_option_bool,
     STUDY(force), 0, 0, false, NULL, 0},
    {"dry-run", "", "false", NULL, NULL,
     "print the number of tasks and the estimated cost; run nothing", &sgdmc_option_bool,
     STUDY(dry_run), 0, 0, false, NULL, 0},
    {"print-default", "", "false", NULL, NULL, "print the built-in default study's config",
     &sgdmc_option_bool, STUDY(print_default), 0, 0, false, NULL, 0},
    {"progress", "STYLE", "auto", NULL, NULL,
     "rank 0's progress on stderr: bar (one line redrawn every second, also under mpirun), "
     "lines (a line after 1 s, then every 10 s), auto (bar on a terminal, else lines) or none",
     &sgdmc_option_choice, STUDY(progress), 0, 0, false, sgdmc_progress_style_names, 0},
    {"quiet", "", "false", NULL, NULL, "no progress output (--progress=none)",
     &sgdmc_option_bool, STUDY(quiet), 0, 0, false, NULL, 0},
    {"lanes", "K", SGDMC_STRINGIFY(SGDMC_LANES), NULL, NULL,
     "train up to K seeds of a grid cell at once, one per SIMD lane (1: one at a time); the "
     "results are the same bits either way, cells of width 32 or more run one at a time",
     &sgdmc_option_int, STUDY(lanes), 1, SGDMC_LANES, false, NULL, 0},
    {"chunk-seconds", "S", SGDMC_STRINGIFY(SGDMC_CHUNK_SECONDS), NULL, NULL,
     "work handed to a rank at once, in seconds of its measured task time: smaller balances "
     "the end better, larger asks less of rank 0 (docs/study.md, \"How many ranks\")",
     &sgdmc_option_double, STUDY(chunk_seconds), 0.0, 3600.0, SGDMC_MIN_EXCLUSIVE, NULL, 0},
};
static const sgdmc_option_table study_flags = {
    study_flag_list, sizeof study_flag_list / sizeof *study_flag_list, STUDY(given),
    sizeof((study_command *)0)->given};

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
          "flags:\n",
          out);
    sgdmc_options_print_help(&study_flags, out);
    fputs("\n"
          "exit status: 0 every task done; 75 stopped by SIGTERM/SIGINT/SIGHUP/SIGUSR1 before\n"
          "the end (run the same command with --resume); 76 a rank fell silent for 8 s (a dead\n"
          "node: every rank stopped, --resume completes); 2 bad command line or config; 1 other\n"
          "failures.\n",
          out);
}

/* The study command line: its flags and the config file. */
static int parse_study_flags(int argc, char **argv, study_command *c, const char **config)
{
    sgdmc_options_set_defaults(&study_flags, c);
    const sgdmc_option_group groups[] = {{&study_flags, c}};
    if (sgdmc_options_parse(argc, argv, "study", groups, 1, config, "config file"))
        return -1;
    if (c->resume && c->force) {
        fprintf(stderr, "sgdmc study: --resume and --force contradict each other\n");
        return -1;
    }
    const bool given_progress = sgdmc_option_given(&study_flags, c, "progress");
    if (c->quiet && given_progress && c->progress != SGDMC_PROGRESS_NONE) {
        fprintf(stderr, "sgdmc study: --quiet and --progress=%s contradict each other\n",
                sgdmc_progress_style_names[c->progress]);
        return -1;
    }
    if (c->quiet)
        c->progress = SGDMC_PROGRESS_NONE;
    char others[256] = "";
    for (size_t i = 0; i < study_flags.count; i++)
        if (c->given[i] && strcmp(study_flag_list[i].name, "print-default") &&
            (!c->dry_run || strcmp(study_flag_list[i].name, "dry-run")))
            snprintf(others + strlen(others), sizeof others - strlen(others), "%s--%s",
                     others[0] ? ", " : "", study_flag_list[i].name);
    if (c->print_default && (others[0] || *config)) {
        fprintf(stderr, "sgdmc study: --print-default prints the built-in config and runs "
                "nothing: %s%s%s has no effect with it\n",
                others, others[0] && *config ? " and " : "", *config ? *config : "");
        return -1;
    }
    if (c->dry_run && (c->resume || c->force)) {
        fprintf(stderr, "sgdmc study: --dry-run runs nothing and writes nothing: --%s has no "
                "effect with it\n", c->resume ? "resume" : "force");
        return -1;
    }
    return 0;
}

static int print_dry_run(const sgdmc_study *study, const char *output, int lanes,
                         sgdmc_rstar_cache *rstar_cache)
{
    printf("study %s: %ld tasks (%ld grid cells x %ld seeds), results file %s of %.3g MB "
           "(%lld bytes at most)\n",
           study->name, study->tasks, study->cells, study->seeds, output,
           (double)sgdmc_results_file_bytes(study) / 1e6, sgdmc_results_file_bytes(study));
    /* played on this machine's cores (what `mpirun -n CORES` here would take, which a
     * user can check: tests/bench/play_vs_real.py), and on 64 and 1024 ranks */
    const long cores = sysconf(_SC_NPROCESSORS_ONLN);
    const int ranks[3] = {cores > 0 && cores < 65536 ? (int)cores : 1, 64, 1024};
    double rstar_seconds, rstar_at[3], wall_at[3];
    const double seconds = sgdmc_study_estimate_seconds(study, lanes, rstar_cache, &rstar_seconds,
                                                        ranks, rstar_at, wall_at, 3);
    if (seconds < 0.0) {
        fprintf(stderr, "sgdmc study: --dry-run: %s\n",
                sgdmc_stop_signal_received() ? "stopped by a signal"
                                             : "cannot time the grid cells");
        return EXIT_FAILURE;
    }
    printf("estimated cost: %.3g core-seconds (%.3g core-hours), %.3g s per run on average;\n"
           "about %.3g s of wall time on the %d cores of this machine (the dispatch played on "
           "%d ranks; %.3g s were the cost spread evenly)\n",
           seconds, seconds / 3600.0, seconds / (double)study->tasks, wall_at[0], ranks[0],
           ranks[0], seconds / (double)ranks[0]);
    /* counted once above; ranks do not share R*: each computes the problems of
     * the cells it works on, as many times as the dispatch, played, says */
    printf("of which %.3g s are R* (each problem's, a process's one-off set-up), counted once; "
           "ranks do not share it: a rank computes it for each problem it works on, so more "
           "ranks compute more of it",
           rstar_seconds);
    if (seconds > 0.0)
        printf(" (about %+.1f%% at 64 ranks, %+.1f%% at 1024)",
               100.0 * (rstar_at[1] - rstar_seconds) / seconds,
               100.0 * (rstar_at[2] - rstar_seconds) / seconds);
    printf("\n");
    for (int i = 1; i < 3; i++) {
        const double work = seconds - rstar_seconds + rstar_at[i];
        printf("the dispatch played with these times on %d ranks: done after about %.3g s of "
               "wall time (%.3g h), the ranks busy %.1f%% of it\n",
               ranks[i], wall_at[i], wall_at[i] / 3600.0,
               wall_at[i] > 0.0 ? 100.0 * work / (ranks[i] * wall_at[i]) : 0.0);
    }
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

/* This process's rank as its launcher set it before MPI_Init (mpirun,
 * srun with PMIx or PMI-2), 0 when it was started alone. The launcher's own
 * variable comes first: a batch script's SLURM_PROCID (0) is inherited by
 * every rank mpirun starts inside it. */
static long launched_rank(void)
{
    const char *names[] = {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        const char *value = getenv(names[i]);
        if (value && *value)
            return strtol(value, NULL, 10);
    }
    return 0;
}

/* Parses the study's flags; every rank parses the same command line, and
 * only the first rank reports what is wrong with it (once, not once per
 * rank). The others' messages go to /dev/null: flags are parsed before
 * MPI_Init, so that --help and --print-default need no MPI. */
static int parse_study_flags_once(int argc, char **argv, study_command *c, const char **config)
{
    const int saved_stderr = launched_rank() > 0 ? dup(STDERR_FILENO) : -1;
    const int null = saved_stderr >= 0 ? open("/dev/null", O_WRONLY) : -1;
    if (null >= 0) {
        fflush(stderr);
        dup2(null, STDERR_FILENO);
        close(null);
    }
    const int failed = parse_study_flags(argc, argv, c, config);
    if (saved_stderr >= 0) {
        fflush(stderr);
        dup2(saved_stderr, STDERR_FILENO);
        close(saved_stderr);
        /* the launcher ends the job at the first rank that exits non-zero: the
         * others wait, so that the first rank (perhaps started later on another
         * node) gets to say what is wrong */
        if (failed)
            sleep(3);
    }
    return failed;
}

/* Loads the study on every rank; the lowest failing rank reports its
 * failure. 0, or the exit status: a config error on any rank, or a signal
 * during the check of the cells (75: run again, as any study stopped early). */
static int load_study(const char *config, sgdmc_study *study, int me)
{
    char err[2048];
    const int failed = config ? sgdmc_study_load(config, study, err, sizeof err)
                                 : sgdmc_study_parse(sgdmc_default_study, "(default study)",
                                                     study, err, sizeof err);
    /* any rank's error stops them all (a data file missing on one node), and
     * the first failing rank says why */
    int mine[3] = {failed != 0 && failed != SGDMC_CANCELLED, failed == SGDMC_CANCELLED,
                   failed ? -me : INT_MIN},
        all[3];
    MPI_Allreduce(mine, all, 3, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (failed && -me == all[2] && me == 0)
        fprintf(stderr, "sgdmc study: %s\n", err);
    else if (failed && -me == all[2])
        fprintf(stderr, "sgdmc study: rank %d: %s\n", me, err);
    if (!all[0] && !all[1])
        return 0;
    return all[0] ? SGDMC_EXIT_USAGE : SGDMC_EXIT_RESUME;
}

static int run_study(int argc, char **argv, sgdmc_rstar_cache *rstar_cache)
{
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            print_study_help(stdout);
            return EXIT_SUCCESS;
        }
    study_command c = {0};
    const char *config = NULL;
    if (parse_study_flags_once(argc, argv, &c, &config))
        return SGDMC_EXIT_USAGE;
    if (c.print_default) {
        fputs(sgdmc_default_study, stdout);
        return EXIT_SUCCESS;
    }
    prefer_quick_singleton();
    /* before MPI_Init: a SIGTERM while MPI starts up stops the study too */
    sgdmc_stop_signal_install();
    MPI_Init(NULL, NULL);
    int me;
    MPI_Comm_rank(MPI_COMM_WORLD, &me);
    sgdmc_study study;
    int status = EXIT_SUCCESS;
    const int loaded = load_study(config, &study, me);
    if (loaded) {
        status = loaded;
    } else {
        if (!c.output[0])
            snprintf(c.output, sizeof c.output, "%s.h5", study.name);
        if (c.dry_run) {
            status = me == 0 ? print_dry_run(&study, c.output, c.lanes, rstar_cache) : EXIT_SUCCESS;
        } else {
            const sgdmc_study_options options = {.output = c.output,
                                                 .resume = c.resume,
                                                 .force = c.force,
                                                 .progress = c.progress == SGDMC_PROGRESS_NONE
                                                                 ? NULL
                                                                 : stderr,
                                                 .progress_style = c.progress,
                                                 .lanes = c.lanes,
                                                 .chunk_seconds = c.chunk_seconds,
                                                 .rstar_cache = rstar_cache};
            char err[2048];
            const sgdmc_study_outcome outcome =
                sgdmc_study_run(MPI_COMM_WORLD, &study, &options, err, sizeof err);
            if (outcome != SGDMC_STUDY_COMPLETE && me == 0 && err[0])
                fprintf(stderr, "sgdmc study: %s\n", err);
            if (outcome == SGDMC_STUDY_LOST_RANK) {
                /* the others cannot finish together without the lost rank */
                fflush(NULL);
                MPI_Abort(MPI_COMM_WORLD, SGDMC_EXIT_LOST_RANK);
            }
            if (outcome == SGDMC_STUDY_WRITE_FAILED) {
                fflush(NULL);
                _exit(err[0] ? EXIT_FAILURE : SGDMC_EXIT_RESUME);
            }
            status = outcome == SGDMC_STUDY_COMPLETE      ? EXIT_SUCCESS
                     : outcome == SGDMC_STUDY_INTERRUPTED ? SGDMC_EXIT_RESUME
                                                          : EXIT_FAILURE;
        }
        sgdmc_study_free(&study);
    }
    MPI_Finalize();
    return status;
}

typedef struct {
    sgdmc_summary_format format;
    double grad_eps;
    long at_step;
    bool pool_hi;
} summarize_command;

#define SUMMARIZE(member) offsetof(summarize_command, member)
static const sgdmc_option summarize_flag_list[] = {
    {"format", "NAME", "table", NULL, NULL,
     "table for reading, csv (a header line, empty fields where unknown) or json",
     &sgdmc_option_choice, SUMMARIZE(format), 0, 0, false, sgdmc_summary_format_names, 0},
    {"grad_eps", "E", "1e-3", NULL, NULL,
     "p_stationary counts runs with min_grad_norm <= E (paper 003's stationarity)",
     &sgdmc_option_double, SUMMARIZE(grad_eps), 0, DBL_MAX, false, NULL, 0},
    {"at-step", "K", NULL, "the end of every run", NULL,
     "every run as it was at its last recorded trajectory step <= K: its verdict against the "
     "same R* bracket and its end state from the recorded risk and gradient norm (no dead "
     "counts, no certificate: the trajectory does not record them); needs output.trajectory",
     &sgdmc_option_long, SUMMARIZE(at_step), 0, 1e15, false, NULL, 0},
    {"pool-hi", "", "false", NULL, NULL,
     "tighten R*'s upper bound of each cell to the lowest final risk of any done run of the same "
     "problem and architecture (cells equal in every grid key that defines the problem, the "
     "network or the R* estimate), and judge verdicts and certificates against it; "
     "min_risk_used says which bound each cell used",
     &sgdmc_option_bool, SUMMARIZE(pool_hi), 0, 0, false, NULL, 0},
};
static const sgdmc_option_table summarize_flags = {
    summarize_flag_list, sizeof summarize_flag_list / sizeof *summarize_flag_list, 0, 0};

static void print_summarize_help(FILE *out)
{
    fputs("usage: sgdmc summarize FILE.h5 [--format=table|csv|json] [--grad_eps=E] [--at-step=K]\n"
          "                       [--pool-hi]\n"
          "\n"
          "For every grid cell of a study's results file (seeds pooled; only rows\n"
          "marked done count, so it works on a study still running or stopped): runs,\n"
          "done, converged, diverged, P(converged) with its exact 95% Clopper-Pearson\n"
          "interval, the share of runs with a dead first-layer neuron at initialization\n"
          "and at the end (each with its interval), the share with min_grad_norm <= E\n"
          "with its interval, and the median final risk (a diverged run's NaN risk\n"
          "counts as infinite).\n"
          "\n"
          "flags:\n",
          out);
    sgdmc_options_print_help(&summarize_flags, out);
}

static int run_summarize(int argc, char **argv, sgdmc_rstar_cache *rstar_cache)
{
    (void)rstar_cache;
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            print_summarize_help(stdout);
            return EXIT_SUCCESS;
        }
    summarize_command c = {.at_step = -1}; /* -1: not given, every run at its end */
    sgdmc_options_set_defaults(&summarize_flags, &c);
    const char *path = NULL;
    const sgdmc_option_group groups[] = {{&summarize_flags, &c}};
    if (sgdmc_options_parse(argc, argv, "summarize", groups, 1, &path, "results file"))
        return SGDMC_EXIT_USAGE;
    if (!path) {
        fprintf(stderr, "sgdmc summarize: a results file is required (sgdmc summarize FILE.h5 "
                        "[flags]; see sgdmc summarize --help)\n");
        return SGDMC_EXIT_USAGE;
    }
    char err[2048];
    const sgdmc_summary_options options = {
        .grad_eps = c.grad_eps, .at_step = c.at_step, .pool_hi = c.pool_hi};
    if (sgdmc_summarize(path, c.format, &options, stdout, err, sizeof err)) {
        fprintf(stderr, "sgdmc summarize: %s\n", err);
        return EXIT_FAILURE;
    }
    return EXIT_SUCCESS;
}

static int run_reference(int argc, char **argv, sgdmc_rstar_cache *rstar_cache)
{
    (void)rstar_cache;
    return sgdmc_reference_main(argc, argv);
}

static const struct {
    const char *name;
    int (*run)(int argc, char **argv, sgdmc_rstar_cache *rstar_cache);
} commands[] = {
    {"train", run_train},
    {"study", run_study},
    {"summarize", run_summarize},
    {"reference", run_reference},
};

/* What a command printed must have reached its reader: a full disk or a
 * closed pipe behind stdout (sgdmc train > /dev/full) fails the command
 * instead of losing its output silently. */
static int stdout_written(int status)
{
    errno = 0;
    if ((fflush(stdout) == 0 && !ferror(stdout)) || status != EXIT_SUCCESS)
        return status; /* a command that failed has said why */
    fprintf(stderr, "sgdmc: cannot write to standard output: %s\n",
            errno ? strerror(errno) : "write error");
    return EXIT_FAILURE;
}

static int run_command(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "sgdmc: a command is required: train, study, summarize or reference "
                        "(see sgdmc --help)\n");
        return SGDMC_EXIT_USAGE;
    }
    const char *command = argv[1];
    if (!strcmp(command, "help") && argc == 3)
        for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
            if (!strcmp(argv[2], commands[i].name)) {
                /* `sgdmc help COMMAND` is `sgdmc COMMAND --help`, which needs no R* cache */
                char flag[] = "--help";
                char *help[] = {flag, NULL};
                return commands[i].run(1, help, NULL);
            }
    if (!strcmp(command, "help") && argc > 2) {
        fprintf(stderr, "sgdmc: help takes one command: train, study, summarize or reference "
                        "('%s' given)\n",
                argv[2]);
        return SGDMC_EXIT_USAGE;
    }
    const bool about = !strcmp(command, "--help") || !strcmp(command, "-h") ||
                       !strcmp(command, "--version");
    if (about && argc > 2) {
        /* `sgdmc --version train ...` runs nothing: say so rather than ignore the rest */
        fprintf(stderr, "sgdmc: %s takes nothing after it ('%s' given; a command's flags: sgdmc "
                        "COMMAND --help)\n",
                command, argv[2]);
        return SGDMC_EXIT_USAGE;
    }
    if (!strcmp(command, "--help") || !strcmp(command, "-h") || !strcmp(command, "help")) {
        print_usage(stdout);
        return EXIT_SUCCESS;
    }
    if (!strcmp(command, "--version")) {
        char libraries[SGDMC_NUMERIC_LIBRARIES_SIZE];
        sgdmc_numeric_libraries(libraries, sizeof libraries);
        printf("sgdmc %s (build %s)\ncomputes with %s\n", SGDMC_VERSION, SGDMC_BUILD,
               libraries);
        return EXIT_SUCCESS;
    }
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++) {
        if (strcmp(command, commands[i].name))
            continue;
        /* the process's one R* cache: every trainer of this process shares it */
        sgdmc_rstar_cache *rstar_cache = sgdmc_rstar_cache_alloc();
        if (!rstar_cache) {
            fprintf(stderr, "sgdmc %s: out of memory\n", command);
            return EXIT_FAILURE;
        }
        const int status = commands[i].run(argc - 2, argv + 2, rstar_cache);
        sgdmc_rstar_cache_free(rstar_cache);
        return status;
    }
    const char *names[sizeof commands / sizeof *commands + 1];
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        names[i] = commands[i].name;
    names[sizeof commands / sizeof *commands] = NULL;
    const char *guess = sgdmc_names_suggest(names, command);
    fprintf(stderr,
            "sgdmc: unknown command '%s'%s%s%s (commands: train, study, summarize, reference; "
            "see sgdmc --help)\n",
            command, guess ? "; did you mean " : "", guess ? guess : "", guess ? "?" : "");
    return SGDMC_EXIT_USAGE;
}

int main(int argc, char **argv) { return stdout_written(run_command(argc, argv)); }
