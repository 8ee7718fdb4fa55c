/* A per-process memo of R* results, so that the grid cells of a study that
 * share a problem (cells that differ only in the optimizer, say) compute R*
 * once per process instead of once per cell. An entry is a value and a
 * parameter vector under a string key that names everything the result
 * depends on (min_risk.c builds the keys from the option table). R* is a deterministic function of
 * its key, so a hit returns exactly what a fresh computation would: results
 * still depend only on the task and the study config. Not thread-safe. */
#ifndef SGDMC_RSTAR_CACHE_H
#define SGDMC_RSTAR_CACHE_H

#include <stdbool.h>
#include <stddef.h>

typedef struct sgdmc_rstar_cache sgdmc_rstar_cache;

/* NULL when out of memory. */
sgdmc_rstar_cache *sgdmc_rstar_cache_alloc(void);
void sgdmc_rstar_cache_free(sgdmc_rstar_cache *cache);
/* The number of entries. */
size_t sgdmc_rstar_cache_size(const sgdmc_rstar_cache *cache);

/* What the cache saw: lookups (and how many found an entry), entries
 * stored, stores that replaced an entry of the same key (a result computed
 * twice), and the seconds its users spent computing results
 * (sgdmc_rstar_cache_spent). */
typedef struct {
    size_t lookups, hits, stores, replaced;
    double seconds;
} sgdmc_rstar_cache_stats;
sgdmc_rstar_cache_stats sgdmc_rstar_cache_statistics(const sgdmc_rstar_cache *cache);

/* The entry for key with count parameters: true and its value and
 * parameters copied out (params may be NULL when count is 0). A NULL cache
 * has no entries. */
bool sgdmc_rstar_cache_get(sgdmc_rstar_cache *cache, const char *key, double *value,
                           double *params, size_t count);

/* Stores a copy of value and params[count] under key (replacing an entry of
 * the same key). 0, or -1 when out of memory (the cache stays as it was). */
int sgdmc_rstar_cache_put(sgdmc_rstar_cache *cache, const char *key, double value,
                          const double *params, size_t count);

/* Notes `seconds` spent computing a result for the cache (cancelled or
 * not): a study tells its dispatch what R* costs (dispatch.h). */
void sgdmc_rstar_cache_spent(sgdmc_rstar_cache *cache, double seconds);

#endif
