/* The R* memo: a list searched linearly; a study has at most a few thousand
 * distinct problems per process, each looked up once per grid cell. */
#include "sgdmc/minimum/rstar_cache.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    char *key;
    double value;
    double *params;
    size_t count;
} entry;

struct sgdmc_rstar_cache {
    entry *entries;
    size_t count, capacity;
    sgdmc_rstar_cache_stats stats;
};

sgdmc_rstar_cache *sgdmc_rstar_cache_alloc(void) { return calloc(1, sizeof(sgdmc_rstar_cache)); }

void sgdmc_rstar_cache_free(sgdmc_rstar_cache *cache)
{
    if (!cache)
        return;
    for (size_t i = 0; i < cache->count; i++) {
        free(cache->entries[i].key);
        free(cache->entries[i].params);
    }
    free(cache->entries);
    free(cache);
}

size_t sgdmc_rstar_cache_size(const sgdmc_rstar_cache *cache) { return cache->count; }

sgdmc_rstar_cache_stats sgdmc_rstar_cache_statistics(const sgdmc_rstar_cache *cache)
{
    return cache->stats;
}

static entry *find(const sgdmc_rstar_cache *cache, const char *key, size_t count)
{
    for (size_t i = 0; i < cache->count; i++)
        if (cache->entries[i].count == count && !strcmp(cache->entries[i].key, key))
            return &cache->entries[i];
    return NULL;
}

bool sgdmc_rstar_cache_get(sgdmc_rstar_cache *cache, const char *key, double *value,
                           double *params, size_t count)
{
    if (!cache)
        return false;
    const entry *e = find(cache, key, count);
    cache->stats.lookups++;
    if (!e)
        return false;
    cache->stats.hits++;
    *value = e->value;
    if (count)
        memcpy(params, e->params, count * sizeof *params);
    return true;
}

int sgdmc_rstar_cache_put(sgdmc_rstar_cache *cache, const char *key, double value,
                          const double *params, size_t count)
{
    char *key_copy = malloc(strlen(key) + 1);
    double *params_copy = malloc((count ? count : 1) * sizeof *params_copy);
    if (!key_copy || !params_copy) {
        free(key_copy);
        free(params_copy);
        return -1;
    }
    strcpy(key_copy, key);
    if (count)
        memcpy(params_copy, params, count * sizeof *params);
    entry *e = find(cache, key, count);
    cache->stats.stores++;
    cache->stats.replaced += e != NULL;
    if (!e) {
        if (cache->count == cache->capacity) {
            const size_t capacity = cache->capacity ? 2 * cache->capacity : 16;
            entry *grown = realloc(cache->entries, capacity * sizeof *grown);
            if (!grown) {
                free(key_copy);
                free(params_copy);
                return -1;
            }
            cache->entries = grown;
            cache->capacity = capacity;
        }
        e = &cache->entries[cache->count++];
    } else {
        free(e->key);
        free(e->params);
    }
    *e = (entry){key_copy, value, params_copy, count};
    return 0;
}

void sgdmc_rstar_cache_spent(sgdmc_rstar_cache *cache, double seconds)
{
    cache->stats.seconds += seconds;
}
