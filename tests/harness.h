/* Minimal test harness shared by the C tests: checks that count failures,
 * and a run configuration built from command-line style flags. */
#ifndef SGDMC_TEST_HARNESS_H
#define SGDMC_TEST_HARNESS_H

#include <hdf5.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sgdmc/core/config.h"
#include "sgdmc/core/train_options.h"
#include "sgdmc/core/problem.h"
#include "sgdmc/run/train.h"

static int harness_failures;

#define CHECK(cond, ...)                                                                   \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            harness_failures++;                                                            \
            fprintf(stderr, "%s:%d: FAILED %s: ", __FILE__, __LINE__, #cond);              \
            fprintf(stderr, __VA_ARGS__);                                                  \
            fputc('\n', stderr);                                                           \
        }                                                                                  \
    } while (0)

/* Sets config from "--a=1 --b=2"-style flags; aborts the test on a bad flag. */
static inline void harness_config(sgdmc_train_config *config, const char *flags)
{
    char buf[2048], err[512];
    snprintf(buf, sizeof buf, "%s", flags);
    for (char *tok = strtok(buf, " "); tok; tok = strtok(NULL, " ")) {
        char *eq = strchr(tok, '=');
        const char *value = eq ? eq + 1 : "true";
        if (eq)
            *eq = '\0';
        const sgdmc_option *option = sgdmc_option_find(&sgdmc_train_options, tok + 2);
        if (!option || sgdmc_option_set(option, config, value, err, sizeof err)) {
            fprintf(stderr, "test setup: bad flag %s: %s\n", tok, option ? err : "unknown");
            exit(2);
        }
    }
}

/* Sets config from defaults and flags and builds its problem (batches of at
 * most `capacity`); exits the test when the problem cannot be set up. */
static inline sgdmc_problem *harness_problem(sgdmc_train_config *config, const char *flags,
                                             int capacity)
{
    sgdmc_train_config_defaults(config);
    harness_config(config, flags);
    char err[512];
    sgdmc_problem *problem = sgdmc_problem_alloc(config, capacity, err, sizeof err);
    if (!problem) {
        fprintf(stderr, "%s: %s\n", flags, err);
        exit(2);
    }
    return problem;
}

/* Steps at[0] < ... < at[k-1], a k-subset of 1 .. top, to the next one in
 * lexicographic order (start from 1, 2, ..., k); false after the last. */
static inline bool harness_next_combination(int *at, int k, int top)
{
    int i = k - 1;
    while (i >= 0 && at[i] == top - k + 1 + i)
        i--;
    if (i < 0)
        return false;
    at[i]++;
    for (int j = i + 1; j < k; j++)
        at[j] = at[j - 1] + 1;
    return true;
}

/* Writes a data file with x [n, d] (row-major) and y [n, 1]. */
static inline void harness_write_data(const char *path, const double *x, const double *y, int n, int d)
{
    hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t xdims[2] = {(hsize_t)n, (hsize_t)d}, ydims[2] = {(hsize_t)n, 1};
    const char *names[2] = {"x", "y"};
    const double *values[2] = {x, y};
    hsize_t *dims[2] = {xdims, ydims};
    for (int i = 0; i < 2; i++) {
        hid_t space = H5Screate_simple(2, dims[i], NULL);
        hid_t dset = H5Dcreate2(file, names[i], H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT,
                                H5P_DEFAULT);
        H5Dwrite(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values[i]);
        H5Dclose(dset);
        H5Sclose(space);
    }
    H5Fclose(file);
}

/* A trainer for "--a=1 --b=2"-style flags and seed; NULL (a failed check)
 * with the reason on stderr when the flags are refused. */
static inline sgdmc_trainer *harness_trainer(const char *flags, unsigned long seed)
{
    sgdmc_train_config c;
    sgdmc_train_config_defaults(&c);
    harness_config(&c, flags);
    c.seed = seed;
    char err[512];
    sgdmc_trainer *t = sgdmc_trainer_alloc(&c, err, sizeof err);
    CHECK(t != NULL, "%s: %s", flags, err);
    return t;
}

static inline int harness_exit(const char *name)
{
    if (harness_failures)
        fprintf(stderr, "%s: %d check(s) failed\n", name, harness_failures);
    else
        printf("%s: all checks passed\n", name);
    return harness_failures ? 1 : 0;
}

#endif
