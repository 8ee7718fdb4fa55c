/* Fingerprints of a study's input files (study_inputs.h). */
#include "sgdmc/study/study_inputs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const sgdmc_input_keys[SGDMC_INPUT_KINDS] = {"data", "init"};

const char *sgdmc_input_path(const sgdmc_train_config *c, int kind)
{
    if (kind == SGDMC_INPUT_DATA)
        return c->data_file[0] ? c->data_file : NULL;
    return c->init == SGDMC_INIT_FILE ? c->init_file : NULL;
}

/* The distinct files hashed so far, so that each is read once. */
typedef struct {
    int count, capacity;
    char (*path)[SGDMC_PATH_MAX];
    char (*sha256)[SGDMC_FINGERPRINT_SIZE];
} seen_files;

static const char *seen_hash(const seen_files *seen, const char *path)
{
    for (int i = 0; i < seen->count; i++)
        if (!strcmp(seen->path[i], path))
            return seen->sha256[i];
    return NULL;
}

static int remember(seen_files *seen, const char *path, const char *sha256)
{
    if (seen->count == seen->capacity) {
        const int capacity = seen->capacity ? 2 * seen->capacity : 8;
        void *paths = realloc(seen->path, (size_t)capacity * sizeof *seen->path);
        if (paths)
            seen->path = paths;
        void *hashes = realloc(seen->sha256, (size_t)capacity * sizeof *seen->sha256);
        if (hashes)
            seen->sha256 = hashes;
        if (!paths || !hashes)
            return -1;
        seen->capacity = capacity;
    }
    snprintf(seen->path[seen->count], SGDMC_PATH_MAX, "%s", path);
    memcpy(seen->sha256[seen->count++], sha256, SGDMC_FINGERPRINT_SIZE);
    return 0;
}

int sgdmc_study_inputs_compute(const sgdmc_study *study, sgdmc_study_inputs *in, char *err,
                               size_t errlen)
{
    memset(in, 0, sizeof *in);
    in->cells = study->cells;
    in->sha256 = calloc((size_t)(SGDMC_INPUT_KINDS * study->cells), sizeof *in->sha256);
    seen_files seen = {0};
    int status = in->sha256 ? 0 : -1;
    if (status)
        snprintf(err, errlen, "out of memory");
    for (long cell = 0; cell < study->cells && status == 0; cell++) {
        sgdmc_train_config config;
        sgdmc_study_task(study, cell * study->seeds, &config, NULL);
        for (int kind = 0; kind < SGDMC_INPUT_KINDS && status == 0; kind++) {
            const char *path = sgdmc_input_path(&config, kind);
            if (!path)
                continue;
            in->used[kind] = true;
            char *hash = in->sha256[(long)kind * study->cells + cell];
            const char *known = seen_hash(&seen, path);
            if (known) {
                memcpy(hash, known, SGDMC_FINGERPRINT_SIZE);
                continue;
            }
            status = sgdmc_fingerprint_file(path, hash, err, errlen);
            if (status == 0 && remember(&seen, path, hash)) {
                snprintf(err, errlen, "out of memory");
                status = -1;
            }
        }
    }
    free(seen.path);
    free(seen.sha256);
    if (status)
        sgdmc_study_inputs_free(in);
    return status;
}

void sgdmc_study_inputs_free(sgdmc_study_inputs *in)
{
    free(in->sha256);
    in->sha256 = NULL;
}
