/* The results file's claim (claim.h). */
#include "sgdmc/study/claim.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sgdmc/base/clock.h"
#include "sgdmc/base/error.h"
#include "sgdmc/base/options.h"

enum { HOST_MAX = 256, JOB_MAX = 64, TAKE_ATTEMPTS = 4 };

struct sgdmc_claim {
    char path[SGDMC_PATH_MAX + 16]; /* FILE.h5.claim */
    int fd;                         /* open for writing: futimens renews the heartbeat */
    dev_t device;
    ino_t inode;                    /* the claim file this process made */
    double last_beat;               /* sgdmc_now_seconds() of the last renewal */
};

/* What a claim file says, and its heartbeat. */
typedef struct {
    char host[HOST_MAX];
    long pid;
    /* where the pid means something: its PID namespace and its start time
     * (both "" in claims of sgdmc before 0.4.0's last change) */
    char pid_namespace[64];
    char pid_start[32];
    char job[JOB_MAX];
    time_t heartbeat;
    dev_t device;
    ino_t inode;
} holder;

static void this_host(char *host)
{
    if (gethostname(host, HOST_MAX) != 0)
        snprintf(host, HOST_MAX, "unknown");
    host[HOST_MAX - 1] = '\0';
}

/* This process's PID namespace ("pid:[4026531836]"), "" where unknown: a
 * container restarted on the same host name gets pids that mean another
 * process in another namespace. */
static void this_pid_namespace(char *name, size_t size)
{
    const ssize_t got = readlink("/proc/self/ns/pid", name, size - 1);
    name[got > 0 ? got : 0] = '\0';
}

/* The start time of process pid (field 22 of /proc/PID/stat, clock ticks
 * since boot) as text, "" where unknown: a pid reused by another process has
 * another start. */
static void process_start(long pid, char *start, size_t size)
{
    char path[64], text[1024];
    start[0] = '\0';
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    const size_t got = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[got] = '\0';
    const char *field = strrchr(text, ')'); /* the name may hold spaces */
    for (int i = 2; field && i < 22; i++) /* ") S" is field 3 */
        field = strchr(field + 1, ' ');
    if (field)
        snprintf(start, size, "%.*s", (int)strcspn(field + 1, " \n"), field + 1);
}

static const char *this_job(void)
{
    const char *job = getenv("SLURM_JOB_ID");
    return job ? job : "";
}

/* Reads the claim at `path`; -1 with errno set when it cannot be read
 * (ENOENT: it was released or broken meanwhile). */
static int read_holder(const char *path, holder *h)
{
    memset(h, 0, sizeof *h);
    const int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    struct stat st;
    char text[1024];
    ssize_t got = -1;
    if (fstat(fd, &st) == 0)
        got = read(fd, text, sizeof text - 1);
    const int saved = errno;
    close(fd);
    if (got < 0) {
        errno = saved;
        return -1;
    }
    text[got] = '\0';
    h->heartbeat = st.st_mtime;
    h->device = st.st_dev;
    h->inode = st.st_ino;
    h->pid = -1;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (!strncmp(line, "host=", 5))
            snprintf(h->host, sizeof h->host, "%s", line + 5);
        else if (!strncmp(line, "pid=", 4))
            h->pid = strtol(line + 4, NULL, 10);
        else if (!strncmp(line, "pid_namespace=", 14))
            snprintf(h->pid_namespace, sizeof h->pid_namespace, "%s", line + 14);
        else if (!strncmp(line, "pid_start=", 10))
            snprintf(h->pid_start, sizeof h->pid_start, "%s", line + 10);
        else if (!strncmp(line, "slurm_job_id=", 13))
            snprintf(h->job, sizeof h->job, "%s", line + 13);
    }
    return 0;
}

/* A zombie (killed, its parent not yet told) has exited: its state in
 * /proc/PID/stat, the field after the parenthesized name, is Z. */
static bool is_zombie(long pid)
{
    char path[64], text[512];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    const size_t got = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[got] = '\0';
    const char *close_paren = strrchr(text, ')');
    return close_paren && (close_paren[2] == 'Z' || close_paren[2] == 'X');
}

/* Whether the holder's process runs: its pid alive (not a zombie), not this
 * process (which holds no claim yet), and started when the claim says. */
static bool pid_alive(const holder *h)
{
    const long pid = h->pid;
    if (pid <= 0 || pid == (long)getpid() || !(kill((pid_t)pid, 0) == 0 || errno == EPERM) ||
        is_zombie(pid))
        return false;
    char start[32];
    process_start(pid, start, sizeof start);
    return !h->pid_start[0] || !start[0] || !strcmp(start, h->pid_start);
}

/* Why the claim is stale ("" when it is live). */
static void staleness(const holder *h, char *why, size_t len)
{
    char host[HOST_MAX], space[64];
    this_host(host);
    this_pid_namespace(space, sizeof space);
    /* the pid is judged only in the holder's own PID namespace; else (another
     * container on this host name) only the heartbeat tells */
    const bool here = !strcmp(h->host, host) &&
                      (!h->pid_namespace[0] || !strcmp(h->pid_namespace, space));
    const double age = difftime(time(NULL), h->heartbeat);
    why[0] = '\0';
    if (here && !pid_alive(h))
        snprintf(why, len, "its process is gone");
    else if (h->job[0] && !strcmp(h->job, this_job()) && !(here && pid_alive(h)))
        snprintf(why, len, "it is this SLURM job's own, from before a requeue");
    else if (age > SGDMC_CLAIM_EXPIRY)
        snprintf(why, len, "its heartbeat stopped %.0f s ago", age);
}

static void describe(const holder *h, char *buf, size_t len)
{
    if (h->pid < 0 || !h->host[0]) {
        /* sgdmc writes a claim just after creating it: a reader may see it empty */
        snprintf(buf, len,
                 "an unsigned claim: no host and pid, as when empty, foreign or being written "
                 "this instant; changed %.0f s ago",
                 difftime(time(NULL), h->heartbeat));
        return;
    }
    snprintf(buf, len, "pid %ld on host %s%s%s, heartbeat %.0f s ago", h->pid, h->host,
             h->job[0] ? ", SLURM job " : "", h->job, difftime(time(NULL), h->heartbeat));
}

/* Creates the claim file exclusively and writes who holds it; 0, -1 with
 * errno (EEXIST: someone holds it). */
static int create_claim(sgdmc_claim *c)
{
    c->fd = open(c->path, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (c->fd < 0)
        return -1;
    char host[HOST_MAX], started[64], text[1024], space[64], start[32];
    this_host(host);
    this_pid_namespace(space, sizeof space);
    process_start((long)getpid(), start, sizeof start);
    const time_t now = time(NULL);
    strftime(started, sizeof started, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    const int len = snprintf(text, sizeof text,
                             "sgdmc claim: this results file has one writer (docs/study.md)\n"
                             "host=%s\npid=%ld\npid_namespace=%s\npid_start=%s\n"
                             "slurm_job_id=%s\nstarted=%s\n",
                             host, (long)getpid(), space, start, this_job(), started);
    struct stat st;
    if (write(c->fd, text, (size_t)len) != len || fsync(c->fd) != 0 || fstat(c->fd, &st) != 0) {
        const int saved = errno ? errno : EIO;
        close(c->fd);
        unlink(c->path);
        errno = saved;
        return -1;
    }
    c->device = st.st_dev;
    c->inode = st.st_ino;
    c->last_beat = sgdmc_now_seconds();
    return 0;
}

/* Moves the stale claim aside, unless someone else replaced it meanwhile
 * (then puts that one back). 0 when the way is clear. */
static int break_claim(const sgdmc_claim *c, const holder *stale)
{
    char aside[SGDMC_PATH_MAX + 64];
    snprintf(aside, sizeof aside, "%s.stale.%ld", c->path, (long)getpid());
    if (rename(c->path, aside) != 0)
        return errno == ENOENT ? 0 : -1; /* already gone */
    struct stat st;
    if (stat(aside, &st) == 0 && (st.st_dev != stale->device || st.st_ino != stale->inode)) {
        /* a fresh claim slipped in between our read and the rename */
        link(aside, c->path); /* fails only if yet another claim came: that one holds */
        unlink(aside);
        errno = EEXIST; /* the caller looks again */
        return -1;
    }
    unlink(aside);
    return 0;
}

/* The claim is by name: a second name for the results file (a symbolic or
 * hard link) would let a second writer take a second claim. 0 when the path
 * is the file's only name, or names nothing yet. */
static int check_single_name(const char *results_path, char *err, size_t errlen)
{
    struct stat st;
    if (lstat(results_path, &st) != 0)
        return 0;
    if (S_ISLNK(st.st_mode)) {
        char target[SGDMC_PATH_MAX];
        const ssize_t len = readlink(results_path, target, sizeof target - 1);
        target[len > 0 ? len : 0] = '\0';
        snprintf(err, errlen,
                 "%s: is a symbolic link (to %s); give the results file's own path: a study's "
                 "one-writer claim is taken by name",
                 results_path, target);
        return -1;
    }
    if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
        snprintf(err, errlen,
                 "%s: has %ld names (hard links); a study writes a file with one name, since its "
                 "one-writer claim is taken by name: remove the other names, or write a copy",
                 results_path, (long)st.st_nlink);
        return -1;
    }
    return 0;
}

sgdmc_claim *sgdmc_claim_take(const char *results_path, char *note, size_t notelen, char *err,
                              size_t errlen)
{
    if (note && notelen)
        note[0] = '\0';
    err[0] = '\0';
    if (check_single_name(results_path, err, errlen))
        return NULL;
    sgdmc_claim *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "%s: out of memory", results_path);
        return NULL;
    }
    snprintf(c->path, sizeof c->path, "%s.claim", results_path);
    for (int attempt = 0; attempt < TAKE_ATTEMPTS; attempt++) {
        if (create_claim(c) == 0)
            return c;
        if (errno != EEXIST) {
            snprintf(err, errlen, "%s: cannot claim it for writing (%s: %s)", results_path,
                     c->path, strerror(errno));
            break;
        }
        holder h;
        if (read_holder(c->path, &h) != 0) {
            if (errno == ENOENT)
                continue; /* released meanwhile */
            snprintf(err, errlen, "%s: cannot read its claim %s: %s", results_path, c->path,
                     strerror(errno));
            break;
        }
        char why[128], who[512];
        staleness(&h, why, sizeof why);
        describe(&h, who, sizeof who);
        if (!why[0]) {
            snprintf(err, errlen,
                     "%s: another sgdmc study is writing it (%s); wait for it to end or stop "
                     "it: a results file has one writer, even with --force",
                     results_path, who);
            break;
        }
        if (break_claim(c, &h) != 0) {
            if (errno == EEXIST)
                continue; /* a fresh claim slipped in: look again */
            snprintf(err, errlen, "%s: cannot take over the stale claim %s (%s): %s",
                     results_path, c->path, who, strerror(errno));
            break;
        }
        if (note && notelen)
            snprintf(note, notelen, "took over a stale claim (%s): %s", who, why);
    }
    if (!err[0])
        snprintf(err, errlen, "%s: cannot claim it for writing (%s keeps changing)",
                 results_path, c->path);
    free(c);
    return NULL;
}

/* 0 while the claim file is this process's, or cannot be looked at now
 * (permissions, a network file system); -1 with a message naming its holder
 * and `consequence` when it is gone or another's. */
static int still_held(const sgdmc_claim *c, const char *consequence, char *err, size_t errlen)
{
    struct stat st;
    const int looked = stat(c->path, &st);
    if (looked != 0 && !sgdmc_errno_says_absent(errno))
        return 0;
    if (looked == 0 && st.st_dev == c->device && st.st_ino == c->inode)
        return 0;
    holder h;
    char who[512] = "nobody";
    if (read_holder(c->path, &h) == 0)
        describe(&h, who, sizeof who);
    snprintf(err, errlen, "the claim %s is no longer this study's (now held by %s): %s", c->path,
             who, consequence);
    return -1;
}

int sgdmc_claim_refresh(sgdmc_claim *c, double now, char *err, size_t errlen)
{
    if (now - c->last_beat < SGDMC_CLAIM_HEARTBEAT)
        return 0;
    c->last_beat = now;
    /* one that cannot be looked at now is looked at again at the next beat */
    if (still_held(c, "stopping, so that the results file keeps one writer", err, errlen))
        return -1;
    /* a failed renewal is retried at the next heartbeat; the claim only
     * goes stale after SGDMC_CLAIM_EXPIRY */
    futimens(c->fd, NULL);
    return 0;
}

int sgdmc_claim_check(const sgdmc_claim *c, char *err, size_t errlen)
{
    return still_held(c, "another writer may have written to the results file meanwhile", err,
                      errlen);
}

void sgdmc_claim_release(sgdmc_claim *c)
{
    if (!c)
        return;
    struct stat st;
    if (stat(c->path, &st) == 0 && st.st_dev == c->device && st.st_ino == c->inode)
        unlink(c->path);
    close(c->fd);
    free(c);
}
