/*
 * mbench: the guest-side helper of scripts/bench-merge.sh (built on the host by that script,
 * static, shipped into the test VM with pack-overlay.sh --bin).
 *
 *   mbench now
 *       CLOCK_MONOTONIC in seconds (ns precision): the clock every other mode uses.
 *   mbench write DEV OFFSET INTERVAL_US OUT
 *       Until SIGTERM/SIGINT: open DEV (O_DIRECT), write 4 KiB at byte OFFSET, close, note the
 *       completion time, sleep INTERVAL_US. The device is open only for the write itself, so a
 *       merge start still finds the origin closed (LVM2 and rlvm defer a merge into an open
 *       origin). On exit writes "<completion_ns> <latency_ns> <ok>" lines to OUT.
 *   mbench scatter DEV OFFSET COUNT STRIDE
 *       COUNT 4 KiB writes at OFFSET, OFFSET+STRIDE, ... through the page cache, then one
 *       fsync: with STRIDE above the snapshot's chunk size every changed chunk is a merge of
 *       its own (the kernel merges runs of consecutive chunks in one go, and commits its
 *       metadata after each), which makes a merge long without much data; and writeback
 *       sends the writes together, so the snapshot commits their exceptions in a few batches
 *       (one synchronous write per chunk would take minutes under emulation).
 *   mbench watch FILE INTERVAL_US OUT
 *       Until SIGTERM/SIGINT: read FILE (e.g. /sys/block/dm-0/dm/suspended) every INTERVAL_US
 *       and note each change of its first character; on exit writes "<ns> <char>" lines to OUT.
 *   mbench span OUT T0 T1
 *       From the lines `watch` left: the longest stretch with value 1 that meets [T0, T1] and
 *       how many began in it: "max_ms=.. count=..".
 *   mbench mergewait NAME INTERVAL_US
 *       Reads dm device NAME's status (DM_TABLE_STATUS, no process per look) every INTERVAL_US
 *       until its snapshot-merge has nothing left to merge (allocated == metadata sectors) or
 *       it no longer carries snapshot-merge; prints "done=<s> late=<0|1>" (late: it was
 *       already something else, so `done` is after the tool's finish, not before).
 *   mbench gap OUT T0 T1
 *       From the lines `write` left: the longest gap between two consecutive completions whose
 *       interval meets [T0, T1] (seconds, `mbench now` clock), the number of writes completed
 *       in [T0, T1], of failed writes there, the longest and the median open+write+close
 *       among them: "max_gap_ms=.. writes=.. failed=.. max_lat_ms=.. med_lat_ms=..".
 *   mbench cpu OUT -- CMD ARGS...
 *       Runs CMD with its stdout and stderr captured; every line it prints goes to OUT as
 *       "L <t> <line>", and every 250 ms its CPU time is sampled as "S <t> <cpu_ns>" (the sum
 *       of /proc/<pid>/task/<tid>/schedstat run times, ns resolution). At exit:
 *       "E <t> <wall_s> <user_s> <sys_s> <status>" from wait4's rusage. Exits with CMD's status.
 *   mbench time OUT -- CMD ARGS...
 *       Runs CMD with stdout and stderr to OUT and prints "ms=<wall> user_ms=<u> sys_ms=<s>
 *       minflt=<n>" (wall from just before fork to wait4's return; CPU, microsecond resolution,
 *       and page faults that read nothing, from wait4's rusage). For commands-bench.sh: timing a command with two `date` processes put
 *       about one exec (~30 ms under TCG) into every figure and counted both dates' CPU.
 *       Exits with CMD's status.
 *   mbench dmfloor up|down PREFIX N THREADS [DEV]
 *       The kernel's own cost of what vgchange -ay / -an must do per LV, with nothing else:
 *       `up` makes N linear dm devices PREFIX-0000... (8 sectors of DEV each, at 8 * i),
 *       each with DM_DEV_CREATE, DM_TABLE_LOAD and DM_DEV_SUSPEND (resume), the three ioctls
 *       any tool needs to bring a device up; `down` removes them (DM_DEV_REMOVE). THREADS
 *       threads share the devices (i modulo THREADS). No nodes, no metadata, no udev: the
 *       floor under any tool's activation of N LVs in this kernel (commands-bench.sh times it
 *       as tools "floor1" and "floor2").
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/dm-ioctl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void die(const char *what)
{
    perror(what);
    exit(1);
}

static volatile sig_atomic_t stop;
static void on_stop(int sig)
{
    (void)sig;
    stop = 1;
}

struct rec {
    int64_t done, lat;
    int ok;
};

static int do_write(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: mbench write DEV OFFSET INTERVAL_US OUT\n");
        return 2;
    }
    const char *dev = argv[2], *out = argv[5];
    off_t off = strtoll(argv[3], NULL, 0);
    long interval = strtol(argv[4], NULL, 0);
    void *buf;
    if (posix_memalign(&buf, 4096, 4096))
        die("posix_memalign");
    memset(buf, 0x5a, 4096);
    struct sigaction sa = {.sa_handler = on_stop};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    size_t n = 0, cap = 1 << 16;
    struct rec *r = malloc(cap * sizeof *r);
    if (!r)
        die("malloc");
    uint64_t seq = 0;
    while (!stop) {
        int64_t t0 = now_ns();
        int ok = 0;
        int fd = open(dev, O_WRONLY | O_DIRECT);
        if (fd >= 0) {
            memcpy(buf, &seq, sizeof seq);
            seq++;
            ok = pwrite(fd, buf, 4096, off) == 4096;
            close(fd);
        }
        int64_t t1 = now_ns();
        if (n == cap) {
            cap *= 2;
            r = realloc(r, cap * sizeof *r);
            if (!r)
                die("realloc");
        }
        r[n++] = (struct rec){t1, t1 - t0, ok};
        if (interval > 0 && !stop)
            usleep(interval);
    }
    FILE *f = fopen(out, "w");
    if (!f)
        die(out);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%lld %lld %d\n", (long long)r[i].done, (long long)r[i].lat, r[i].ok);
    fclose(f);
    return 0;
}

static int do_scatter(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: mbench scatter DEV OFFSET COUNT STRIDE\n");
        return 2;
    }
    off_t off = strtoll(argv[3], NULL, 0), stride = strtoll(argv[5], NULL, 0);
    long count = strtol(argv[4], NULL, 0);
    void *buf;
    if (posix_memalign(&buf, 4096, 4096))
        die("posix_memalign");
    int fd = open(argv[2], O_WRONLY);
    if (fd < 0)
        die(argv[2]);
    for (long i = 0; i < count; i++) {
        memset(buf, (int)(i & 0xff), 4096);
        memcpy(buf, &i, sizeof i);
        if (pwrite(fd, buf, 4096, off + i * stride) != 4096)
            die("pwrite");
    }
    if (fsync(fd) || close(fd))
        die("fsync");
    return 0;
}

static int64_t parse_s(const char *s);

/* A zeroed dm ioctl buffer of SIZE bytes (header first) for device NAME, its data right
 * after the header. */
static void dm_io_init(struct dm_ioctl *h, size_t size, const char *name)
{
    memset(h, 0, size);
    h->version[0] = DM_VERSION_MAJOR;
    h->data_size = (uint32_t)size;
    h->data_start = sizeof(struct dm_ioctl);
    snprintf(h->name, sizeof h->name, "%s", name);
}

/* 1: merge complete, 0: still merging, 2: not snapshot-merge, -1: error. */
static int merge_state(int ctl, const char *name)
{
    union {
        struct dm_ioctl h;
        char buf[16384];
    } io;
    dm_io_init(&io.h, sizeof io, name);
    if (ioctl(ctl, DM_TABLE_STATUS, &io) < 0 || io.h.target_count < 1)
        return -1;
    struct dm_target_spec *t = (struct dm_target_spec *)(io.buf + io.h.data_start);
    if (strcmp(t->target_type, "snapshot-merge"))
        return 2;
    unsigned long long alloc, total, meta;
    if (sscanf((char *)(t + 1), "%llu/%llu %llu", &alloc, &total, &meta) != 3)
        return -1;
    return alloc == meta;
}

static int do_mergewait(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: mbench mergewait NAME INTERVAL_US\n");
        return 2;
    }
    int ctl = open("/dev/mapper/control", O_RDWR);
    if (ctl < 0)
        die("/dev/mapper/control");
    long interval = strtol(argv[3], NULL, 0);
    for (;;) {
        int st = merge_state(ctl, argv[2]);
        int64_t t = now_ns();
        if (st < 0) {
            fprintf(stderr, "mbench: no merge status for %s\n", argv[2]);
            return 1;
        }
        if (st > 0) {
            printf("done=%lld.%09lld late=%d\n", (long long)(t / 1000000000),
                   (long long)(t % 1000000000), st == 2);
            return 0;
        }
        usleep(interval);
    }
}

struct change {
    int64_t t;
    char v;
};

static int do_watch(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: mbench watch FILE INTERVAL_US OUT\n");
        return 2;
    }
    long interval = strtol(argv[3], NULL, 0);
    struct sigaction sa = {.sa_handler = on_stop};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    int fd = open(argv[2], O_RDONLY);
    if (fd < 0)
        die(argv[2]);
    size_t n = 0, cap = 1024;
    struct change *c = malloc(cap * sizeof *c);
    if (!c)
        die("malloc");
    char last = 0;
    while (!stop) {
        char b[8];
        ssize_t k = pread(fd, b, sizeof b, 0);
        int64_t t = now_ns();
        char v = b[0];
        if (k > 0 && v != last) {
            if (n == cap) {
                cap *= 2;
                c = realloc(c, cap * sizeof *c);
                if (!c)
                    die("realloc");
            }
            c[n++] = (struct change){t, v};
            last = v;
        }
        usleep(interval);
    }
    FILE *f = fopen(argv[4], "w");
    if (!f)
        die(argv[4]);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%lld %c\n", (long long)c[i].t, c[i].v);
    fprintf(f, "%lld end\n", (long long)now_ns());
    fclose(f);
    return 0;
}

static int do_span(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: mbench span OUT T0 T1\n");
        return 2;
    }
    FILE *f = fopen(argv[2], "r");
    if (!f)
        die(argv[2]);
    int64_t t0 = parse_s(argv[3]), t1 = parse_s(argv[4]);
    long long t;
    char v[8];
    int64_t since = -1, max = 0;
    long count = 0;
    while (fscanf(f, "%lld %7s", &t, v) == 2) {
        if (since >= 0) {
            /* a stretch of 1 ends here */
            if (since < t1 && t > t0 && t - since > max)
                max = t - since;
            since = -1;
        }
        if (v[0] == '1' && v[1] == 0) {
            since = t;
            if (t >= t0 && t <= t1)
                count++;
        }
    }
    fclose(f);
    printf("max_ms=%.1f count=%ld\n", max / 1e6, count);
    return 0;
}

static int64_t parse_s(const char *s)
{
    return (int64_t)(strtod(s, NULL) * 1e9);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int do_gap(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: mbench gap OUT T0 T1\n");
        return 2;
    }
    FILE *f = fopen(argv[2], "r");
    if (!f)
        die(argv[2]);
    int64_t t0 = parse_s(argv[3]), t1 = parse_s(argv[4]);
    long long done, lat;
    int ok;
    int64_t prev = -1, max_gap = 0;
    long writes = 0, failed = 0, cap = 1024;
    int64_t *lats = malloc(cap * sizeof *lats);
    if (!lats)
        die("malloc");
    while (fscanf(f, "%lld %lld %d", &done, &lat, &ok) == 3) {
        if (prev >= 0 && prev < t1 && done > t0 && done - prev > max_gap)
            max_gap = done - prev;
        if (done >= t0 && done <= t1) {
            if (writes == cap) {
                cap *= 2;
                lats = realloc(lats, cap * sizeof *lats);
                if (!lats)
                    die("realloc");
            }
            lats[writes++] = lat;
            if (!ok)
                failed++;
        }
        prev = done;
    }
    fclose(f);
    qsort(lats, writes, sizeof *lats, cmp_i64);
    printf("max_gap_ms=%.1f writes=%ld failed=%ld max_lat_ms=%.1f med_lat_ms=%.2f\n", max_gap / 1e6,
           writes, failed, writes ? lats[writes - 1] / 1e6 : 0.0, writes ? lats[writes / 2] / 1e6 : 0.0);
    return 0;
}

/* Sum of the run times (ns) of every thread of pid; -1 when it is gone. */
static int64_t cpu_ns(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int64_t sum = 0;
    int seen = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char p[320];
        snprintf(p, sizeof p, "/proc/%d/task/%s/schedstat", (int)pid, e->d_name);
        FILE *f = fopen(p, "r");
        if (!f)
            continue;
        long long run;
        if (fscanf(f, "%lld", &run) == 1) {
            sum += run;
            seen = 1;
        }
        fclose(f);
    }
    closedir(d);
    return seen ? sum : -1;
}

static int do_cpu(int argc, char **argv)
{
    if (argc < 5 || strcmp(argv[3], "--")) {
        fprintf(stderr, "usage: mbench cpu OUT -- CMD ARGS...\n");
        return 2;
    }
    FILE *out = fopen(argv[2], "we");
    if (!out)
        die(argv[2]);
    setvbuf(out, NULL, _IOLBF, 0);
    int p[2];
    if (pipe(p))
        die("pipe");
    int64_t start = now_ns();
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        dup2(p[1], 1);
        dup2(p[1], 2);
        close(p[0]);
        close(p[1]);
        execvp(argv[4], argv + 4);
        perror(argv[4]);
        _exit(127);
    }
    close(p[1]);
    char line[4096];
    size_t len = 0;
    int64_t next = start;
    int open_pipe = 1, status = 0;
    for (;;) {
        int64_t t = now_ns();
        if (t >= next) {
            int64_t c = cpu_ns(pid);
            if (c >= 0)
                fprintf(out, "S %.6f %lld\n", t / 1e9, (long long)c);
            next += 250000000;
        }
        if (!open_pipe) {
            if (waitpid(pid, &status, WNOHANG) == pid)
                break;
            usleep(20000);
            continue;
        }
        int timeout = (int)((next - now_ns()) / 1000000);
        if (timeout < 0)
            timeout = 0;
        struct pollfd pf = {.fd = p[0], .events = POLLIN};
        if (poll(&pf, 1, timeout) <= 0)
            continue;
        ssize_t k = read(p[0], line + len, sizeof line - 1 - len);
        if (k <= 0) {
            open_pipe = 0;
            close(p[0]);
            if (len) {
                line[len] = 0;
                fprintf(out, "L %.6f %s\n", now_ns() / 1e9, line);
            }
            continue;
        }
        len += k;
        char *nl;
        while ((nl = memchr(line, '\n', len))) {
            *nl = 0;
            fprintf(out, "L %.6f %s\n", now_ns() / 1e9, line);
            size_t used = nl + 1 - line;
            memmove(line, nl + 1, len - used);
            len -= used;
        }
        if (len == sizeof line - 1) {
            line[len] = 0;
            fprintf(out, "L %.6f %s\n", now_ns() / 1e9, line);
            len = 0;
        }
    }
    int64_t end = now_ns();
    /* mbench has no other child: RUSAGE_CHILDREN is CMD's (and whatever CMD waited for). */
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    fprintf(out, "E %.6f %.6f %.6f %.6f %d\n", end / 1e9, (end - start) / 1e9,
            ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6,
            ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6, rc);
    fclose(out);
    return rc;
}

static int do_time(int argc, char **argv)
{
    if (argc < 5 || strcmp(argv[3], "--")) {
        fprintf(stderr, "usage: mbench time OUT -- CMD ARGS...\n");
        return 2;
    }
    int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        die(argv[2]);
    int64_t start = now_ns();
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        dup2(fd, 1);
        dup2(fd, 2);
        execvp(argv[4], argv + 4);
        perror(argv[4]);
        _exit(127);
    }
    int status = 0;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) != pid)
        die("wait4");
    int64_t end = now_ns();
    close(fd);
    printf("ms=%lld user_ms=%lld sys_ms=%lld minflt=%ld\n", (long long)((end - start) / 1000000),
           (long long)ru.ru_utime.tv_sec * 1000 + ru.ru_utime.tv_usec / 1000,
           (long long)ru.ru_stime.tv_sec * 1000 + ru.ru_stime.tv_usec / 1000, ru.ru_minflt);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* dmfloor: one ioctl on the control device; 0 or -1. */
static int dm_call(int ctl, unsigned long req, const char *name, const char *uuid, const char *table)
{
    union {
        struct dm_ioctl h;
        char buf[4096];
    } io;
    dm_io_init(&io.h, sizeof io, name);
    if (uuid)
        snprintf(io.h.uuid, sizeof io.h.uuid, "%s", uuid);
    if (table) {
        struct dm_target_spec *t = (struct dm_target_spec *)(io.buf + io.h.data_start);
        t->sector_start = 0;
        t->length = 8;
        snprintf(t->target_type, sizeof t->target_type, "linear");
        char *params = (char *)(t + 1);
        size_t len = strlen(table) + 1;
        size_t next = (sizeof *t + len + 7) & ~(size_t)7;
        memcpy(params, table, len);
        t->next = (uint32_t)next;
        io.h.target_count = 1;
        io.h.data_size = (uint32_t)(io.h.data_start + next);
    }
    return ioctl(ctl, req, &io);
}

struct floor_job {
    int up, nth, t, n;
    const char *prefix, *dev;
    int failed;
};

static void *floor_worker(void *arg)
{
    struct floor_job *j = arg;
    int ctl = open("/dev/mapper/control", O_RDWR | O_CLOEXEC);
    if (ctl < 0) {
        j->failed = 1;
        return NULL;
    }
    for (int i = j->t; i < j->n; i += j->nth) {
        char name[128], table[256];
        snprintf(name, sizeof name, "%s-%04d", j->prefix, i);
        if (j->up) {
            snprintf(table, sizeof table, "%s %d", j->dev, 8 * i);
            if (dm_call(ctl, DM_DEV_CREATE, name, name, NULL) ||
                dm_call(ctl, DM_TABLE_LOAD, name, NULL, table) ||
                dm_call(ctl, DM_DEV_SUSPEND, name, NULL, NULL)) {
                fprintf(stderr, "mbench dmfloor: %s: %s\n", name, strerror(errno));
                j->failed = 1;
            }
        } else if (dm_call(ctl, DM_DEV_REMOVE, name, NULL, NULL)) {
            fprintf(stderr, "mbench dmfloor: remove %s: %s\n", name, strerror(errno));
            j->failed = 1;
        }
    }
    close(ctl);
    return NULL;
}

static int do_dmfloor(int argc, char **argv)
{
    int up = argc >= 3 && !strcmp(argv[2], "up");
    if (argc < 6 || (!up && strcmp(argv[2], "down")) || (up && argc < 7)) {
        fprintf(stderr, "usage: mbench dmfloor up|down PREFIX N THREADS [DEV]\n");
        return 2;
    }
    int n = atoi(argv[4]), nth = atoi(argv[5]);
    if (n < 0 || nth < 1 || nth > 64) {
        fprintf(stderr, "mbench dmfloor: bad N or THREADS\n");
        return 2;
    }
    struct floor_job jobs[64];
    pthread_t tids[64];
    for (int t = 0; t < nth; t++) {
        jobs[t] = (struct floor_job){ up, nth, t, n, argv[3], up ? argv[6] : NULL, 0 };
        if (t > 0 && pthread_create(&tids[t], NULL, floor_worker, &jobs[t]))
            die("pthread_create");
    }
    floor_worker(&jobs[0]);
    int failed = jobs[0].failed;
    for (int t = 1; t < nth; t++) {
        pthread_join(tids[t], NULL);
        failed |= jobs[t].failed;
    }
    return failed;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "now")) {
        int64_t t = now_ns();
        printf("%lld.%09lld\n", (long long)(t / 1000000000), (long long)(t % 1000000000));
        return 0;
    }
    if (argc >= 2 && !strcmp(argv[1], "write"))
        return do_write(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "scatter"))
        return do_scatter(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "watch"))
        return do_watch(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "span"))
        return do_span(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "mergewait"))
        return do_mergewait(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "gap"))
        return do_gap(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "cpu"))
        return do_cpu(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "time"))
        return do_time(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "dmfloor"))
        return do_dmfloor(argc, argv);
    fprintf(stderr, "usage: mbench now | write DEV OFFSET INTERVAL_US OUT | scatter DEV OFFSET COUNT STRIDE |\n"
                    "       watch FILE INTERVAL_US OUT | span OUT T0 T1 | mergewait NAME INTERVAL_US |\n"
                    "       gap OUT T0 T1 | "
                    "cpu OUT -- CMD ARGS... | time OUT -- CMD ARGS... |\n"
                    "       dmfloor up|down PREFIX N THREADS [DEV]\n");
    return 2;
}
