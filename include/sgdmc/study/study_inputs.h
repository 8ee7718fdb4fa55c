/* The input files of a study, known by content: the SHA-256 (base/
 * fingerprint.h) of every grid cell's data file and --init file. Stored in
 * the results file when it is created and compared on --resume, so that an
 * edited file is refused by name while a study moved to another folder with
 * the same content resumes. */
#ifndef SGDMC_STUDY_INPUTS_H
#define SGDMC_STUDY_INPUTS_H

#include <stdbool.h>
#include <stddef.h>

#include "sgdmc/base/fingerprint.h"
#include "sgdmc/study/study_config.h"

/* The train flags that name input files, in this order. */
enum { SGDMC_INPUT_DATA, SGDMC_INPUT_INIT, SGDMC_INPUT_KINDS };
extern const char *const sgdmc_input_keys[SGDMC_INPUT_KINDS]; /* "data", "init" */

typedef struct {
    long cells;
    bool used[SGDMC_INPUT_KINDS];   /* some cell has a file of this kind */
    /* [kind * cells + cell]: the file's SHA-256 in hex, "" where the cell has none */
    char (*sha256)[SGDMC_FINGERPRINT_SIZE];
} sgdmc_study_inputs;

/* The file of `kind` that `config` reads, or NULL. */
const char *sgdmc_input_path(const sgdmc_train_config *config, int kind);

/* Fingerprints every cell's input files (each distinct file hashed once);
 * -1 with a message naming the file and the OS reason. */
int sgdmc_study_inputs_compute(const sgdmc_study *study, sgdmc_study_inputs *inputs, char *err,
                               size_t errlen);
void sgdmc_study_inputs_free(sgdmc_study_inputs *inputs);

#endif
