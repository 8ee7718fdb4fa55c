/* The process's one R* cache: a study whose grid cells differ only in the
 * optimizer computes each problem's R* once (every one-layer R*(k) and
 * estimate stored once, never replaced, and found by the other cells), and
 * gives the same file as without sharing. A computation cancelled in any
 * phase (the solver's sweeps and BFGS, the grid fit, the piece bound, the
 * estimate) stops within a fraction of a second and leaves no entry: the
 * same trainer asked again gives what a fresh one gives. Input files are
 * keyed by content (SHA-256, checked against the FIPS 180-2 vector of
 * "abc"), not by name. */
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "harness.h"
#include "sgdmc/base/clock.h"
#include "sgdmc/minimum/rstar_cache.h"
#include "sgdmc/run/train.h"
#include "sgdmc/study/study_run.h"

static const char config[] =
    "name = \"cache\";\n"
    "seeds = 6;\n"
    "train = { steps = 300; target = \"square\"; };\n"
    "grid = { optimizer = [\"sgd\", \"momentum\", \"adam\"]; width = [2, 3]; };\n";

/* A depth-2 cell estimates R*: the estimate is keyed by the architecture too. */
static const char estimate_config[] =
    "name = \"cache_estimate\";\n"
    "seeds = 3;\n"
    "train = { steps = 100; depth = 2; width = 2; rstar_starts = 2; rstar_iterations = 50; };\n"
    "grid = { optimizer = [\"sgd\", \"adam\"]; batch_size = [8, 16]; };\n";

static sgdmc_rstar_cache_stats run(const char *text, const char *output)
{
    sgdmc_study study;
    char err[2048];
    sgdmc_rstar_cache *cache = sgdmc_rstar_cache_alloc();
    sgdmc_rstar_cache_stats stats = {0};
    if (!cache || sgdmc_study_parse(text, "(test)", &study, err, sizeof err)) {
        CHECK(0, "setup: %s", err);
        sgdmc_rstar_cache_free(cache);
        return stats;
    }
    const sgdmc_study_options options = {.output = output, .force = true,
                                         .rstar_cache = cache};
    const double began = sgdmc_now_seconds();
    const sgdmc_study_outcome outcome = sgdmc_study_run(MPI_COMM_SELF, &study, &options, err,
                                                        sizeof err);
    const double seconds = sgdmc_now_seconds() - began;
    CHECK(outcome == SGDMC_STUDY_COMPLETE, "%s: %s", study.name, err);
    stats = sgdmc_rstar_cache_statistics(cache);
    CHECK(stats.stores == sgdmc_rstar_cache_size(cache),
          "%s: %zu results stored for %zu distinct keys", study.name, stats.stores,
          sgdmc_rstar_cache_size(cache));
    /* what computing them took, as min_risk told the cache: some time, and
     * less than the whole study's */
    CHECK(stats.seconds > 0.0 && stats.seconds < seconds, "%s: %g s computing R* results in a "
          "study of %g s", study.name, stats.seconds, seconds);
    sgdmc_study_free(&study);
    sgdmc_rstar_cache_free(cache);
    remove(output);
    return stats;
}

/* Says stop from `at` seconds on, and remembers when it first did. */
typedef struct {
    double at, said_stop;
} alarm_clock;

static int stop_at(void *context)
{
    alarm_clock *a = context;
    const double now = sgdmc_now_seconds();
    if (now < a->at)
        return 0;
    if (a->said_stop == 0.0)
        a->said_stop = now;
    return 1;
}

static sgdmc_trainer *trainer_of(const char *flags, sgdmc_rstar_cache *cache)
{
    sgdmc_train_config config;
    sgdmc_train_config_defaults(&config);
    harness_config(&config, flags);
    char err[512];
    sgdmc_trainer *trainer = sgdmc_trainer_alloc(&config, err, sizeof err);
    if (!trainer) {
        fprintf(stderr, "test setup: %s: %s\n", flags, err);
        exit(2);
    }
    sgdmc_trainer_set_rstar_cache(trainer, cache);
    return trainer;
}

/* Cancels the run's end-of-run computations at several moments of their
 * uncancelled duration; each time the run is abandoned at once, and asked
 * again (not cancelled) the same trainer gives the fresh trainer's R* and
 * bracket: nothing cancelled was kept or cached. */
static void check_cancelled_never_cached(const char *flags)
{
    sgdmc_result fresh;
    sgdmc_trainer *reference = trainer_of(flags, NULL);
    double start = sgdmc_now_seconds();
    CHECK(sgdmc_trainer_run(reference, &fresh) == 0, "%s: reference run", flags);
    const double duration = sgdmc_now_seconds() - start;
    sgdmc_trainer_free(reference);
    const double fractions[] = {0.0, 0.05, 0.2, 0.4, 0.6, 0.8, 0.95};
    for (size_t i = 0; i < sizeof fractions / sizeof *fractions; i++) {
        sgdmc_rstar_cache *cache = sgdmc_rstar_cache_alloc();
        sgdmc_trainer *trainer = trainer_of(flags, cache);
        alarm_clock alarm = {0.0, 0.0};
        sgdmc_trainer_set_poll(trainer, stop_at, &alarm);
        sgdmc_result result;
        start = sgdmc_now_seconds();
        alarm.at = start + fractions[i] * duration;
        const int status = sgdmc_trainer_run(trainer, &result);
        const double stopped = sgdmc_now_seconds();
        if (status == 0) {
            sgdmc_result_free(&result); /* finished before the alarm: nothing to check */
        } else {
            CHECK(status == SGDMC_RUN_ABANDONED, "%s: cancel at %.2f: status %d", flags,
                  fractions[i], status);
            CHECK(stopped - alarm.said_stop < 0.1,
                  "%s: cancelled at %.2f of %.2f s: stopped %.3f s after the request", flags,
                  fractions[i], duration, stopped - alarm.said_stop);
        }
        sgdmc_trainer_set_poll(trainer, NULL, NULL);
        CHECK(sgdmc_trainer_run(trainer, &result) == 0, "%s: run after the cancel", flags);
        CHECK(result.min_risk == fresh.min_risk && result.min_risk_lo == fresh.min_risk_lo &&
                  result.min_risk_source == fresh.min_risk_source,
              "%s: after a cancel at %.2f: R* in [%.17g, %.17g] (%d), fresh [%.17g, %.17g] (%d)",
              flags, fractions[i], result.min_risk_lo, result.min_risk, result.min_risk_source,
              fresh.min_risk_lo, fresh.min_risk, fresh.min_risk_source);
        const sgdmc_rstar_cache_stats stats = sgdmc_rstar_cache_statistics(cache);
        CHECK(stats.replaced == 0, "%s: a cached result was replaced", flags);
        sgdmc_result_free(&result);
        sgdmc_trainer_free(trainer);
        sgdmc_rstar_cache_free(cache);
    }
    sgdmc_result_free(&fresh);
}

static void write_bytes(const char *path, const char *bytes)
{
    FILE *f = fopen(path, "wb");
    if (!f || fputs(bytes, f) < 0 || fclose(f)) {
        fprintf(stderr, "test setup: cannot write %s\n", path);
        exit(2);
    }
}

/* The problem's key names a data file by its content. */
static void check_keys_by_content(void)
{
    char a[64], b[64], key_a[4096], key_b[4096];
    snprintf(a, sizeof a, "test_rstar_cache_a_%d.bin", (int)getpid());
    snprintf(b, sizeof b, "test_rstar_cache_b_%d.bin", (int)getpid());
    write_bytes(a, "abc");
    write_bytes(b, "abc");
    sgdmc_train_config config;
    sgdmc_train_config_defaults(&config);
    snprintf(config.data_file, sizeof config.data_file, "%s", a);
    sgdmc_options_key(&sgdmc_train_options, &config, SGDMC_DEFINES_PROBLEM, key_a, sizeof key_a);
    snprintf(config.data_file, sizeof config.data_file, "%s", b);
    sgdmc_options_key(&sgdmc_train_options, &config, SGDMC_DEFINES_PROBLEM, key_b, sizeof key_b);
    /* FIPS 180-2, appendix B.1: SHA-256("abc") */
    CHECK(strstr(key_a, "data=sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f"
                        "20015ad;") != NULL,
          "the key does not name the data by its SHA-256: %s", key_a);
    CHECK(!strcmp(key_a, key_b), "same content, other name, other key: %s vs %s", key_a, key_b);
    write_bytes(b, "abd");
    sgdmc_options_key(&sgdmc_train_options, &config, SGDMC_DEFINES_PROBLEM, key_b, sizeof key_b);
    CHECK(strcmp(key_a, key_b) != 0, "an edited file keeps its key: %s", key_b);
    remove(b);
    sgdmc_options_key(&sgdmc_train_options, &config, SGDMC_DEFINES_PROBLEM, key_b, sizeof key_b);
    CHECK(strstr(key_b, "data=unreadable:") != NULL, "a missing file's key: %s", key_b);
    config.init = SGDMC_INIT_FILE;
    snprintf(config.init_file, sizeof config.init_file, "%s", a);
    sgdmc_options_key(&sgdmc_train_options, &config, SGDMC_DEFINES_ESTIMATE, key_b,
                      sizeof key_b);
    CHECK(strstr(key_b, "init=sha256:ba7816bf") != NULL, "the --init file's key: %s", key_b);
    remove(a);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    char output[64];
    snprintf(output, sizeof output, "test_rstar_cache_%d.h5", (int)getpid());

    /* widths 2 and 3: R*(2) and R*(3) (the verdict's upper bound), the proven
     * piece bounds of 3 and 4 pieces (its lower bound) and of the fewer pieces
     * left by permanently dead neurons; 3 optimizer cells share each */
    sgdmc_rstar_cache_stats s = run(config, output);
    CHECK(s.replaced == 0, "an R* was computed twice (%zu replaced entries)", s.replaced);
    CHECK(s.stores >= 4 && s.stores <= 7, "%zu results computed, expected R*(2), R*(3) and the "
          "bounds of 1 to 4 pieces", s.stores);
    /* each of the 6 cells looks up its own width's R* and bound; the 4 cells
     * after the first of their width find them */
    CHECK(s.hits >= 8, "only %zu of %zu lookups found a shared result", s.hits, s.lookups);

    s = run(estimate_config, output);
    CHECK(s.replaced == 0, "estimate: an R* was computed twice (%zu replaced)", s.replaced);
    /* the estimate, the one-layer R*(2) the construction embeds, the bound of
     * 9 pieces (and of fewer), shared by 4 cells */
    CHECK(s.stores >= 3 && s.stores <= 6, "estimate: %zu results stored, expected the estimate, "
          "R*(2) and piece bounds", s.stores);
    CHECK(s.hits >= 6, "estimate: only %zu hits of %zu lookups", s.hits, s.lookups);

    check_keys_by_content();
    /* the one-layer solver (sweeps, BFGS, grid fit), the piece bounds */
    check_cancelled_never_cached("--target=sin --width=16 --steps=0");
    /* a deeper network: the embedded construction and the BFGS estimate */
    check_cancelled_never_cached(
        "--target=sin --depth=2 --width=6 --steps=0 --rstar_starts=6 --rstar_iterations=400");
    MPI_Finalize();
    return harness_exit("test_rstar_cache");
}
