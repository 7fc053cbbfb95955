/* sseload: many server-sent event subscribers on 127.0.0.1, one epoll thread.
 *
 * Opens -c connections to GET PATH, reads each text/event-stream response (chunked or
 * not), and counts the events every connection receives during the measurement window.
 * An event whose data starts with a decimal CLOCK_MONOTONIC timestamp in nanoseconds
 * gives a one-way latency. Ids must be consecutive integers per connection: a gap or a
 * repeat is counted (and with --check makes the exit status 1).
 *
 * Build: gcc -O2 -Wall -o sseload sseload.c -lm
 * Usage: sseload -p PORT [--path /feed] [-c 1000] [-w 2] [-D 10] [--server-pid PID] [--check]
 * Output: a summary and one RESULT line (key=value) on stdout.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { S_CONNECTING, S_HEAD, S_CHUNK_SIZE, S_CHUNK_DATA, S_CHUNK_CRLF, S_RAW, S_CLOSED };

typedef struct {
    int fd, state, chunked;
    size_t chunk_left;
    char head[4096];
    size_t head_len;
    char line[65536];
    size_t line_len;
    char size_line[32];
    size_t size_len;
    long long last_id, event_id;
    int has_id;
    uint64_t stamp;
    int has_stamp, data_lines;
} conn_t;

static struct {
    int port, conns, server_pid, check, quiet;
    const char *path;
    double warmup, duration;
} cfg = { 0, 1000, 0, 0, 0, "/feed", 2, 10 };

static struct {
    long long events, gaps, dups, errors, drops, bad_heads, open, measured_events;
    int measuring;
    /* latency histogram: 1 us buckets up to 1 s, then overflow */
    long long hist[1000001];
    long long hist_count;
} G;

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static double proc_cpu(int pid)
{
    char path[64], buf[2048];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    if (!p) return -1;
    unsigned long ut = 0, st = 0;
    /* fields after ")": state(3) ... utime(14) stime(15) */
    int field = 2;
    for (char *q = p + 1; *q && field < 15; q++) {
        if (*q == ' ') {
            field++;
            if (field == 14) ut = strtoul(q + 1, NULL, 10);
            if (field == 15) st = strtoul(q + 1, NULL, 10);
        }
    }
    return (double)(ut + st) / sysconf(_SC_CLK_TCK);
}

static double self_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static long rss_kb(int pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6)) kb = atol(line + 6);
    fclose(f);
    return kb;
}

/* One complete event: check its id and record its latency. */
static void dispatch(conn_t *c)
{
    if (c->data_lines == 0) { c->has_id = 0; c->has_stamp = 0; return; }
    G.events++;
    if (G.measuring) G.measured_events++;
    if (c->has_id) {
        if (c->last_id && c->event_id != c->last_id + 1) {
            if (c->event_id <= c->last_id) G.dups++; else G.gaps++;
        }
        c->last_id = c->event_id;
    }
    if (c->has_stamp && G.measuring) {
        uint64_t now = mono_ns();
        if (now >= c->stamp && now - c->stamp < 60000000000ull) {
            uint64_t us = (now - c->stamp) / 1000;
            G.hist[us > 1000000 ? 1000000 : us]++;
            G.hist_count++;
        }
    }
    c->has_id = 0;
    c->has_stamp = 0;
    c->data_lines = 0;
}

/* One line of the event stream (WHATWG field parsing, enough for the benchmark). */
static void stream_line(conn_t *c, char *line, size_t len)
{
    if (len && line[len - 1] == '\r') len--;
    line[len] = 0;
    if (len == 0) { dispatch(c); return; }
    if (line[0] == ':') return;
    char *colon = memchr(line, ':', len);
    char *value = colon ? colon + 1 : line + len;
    if (colon) { *colon = 0; if (*value == ' ') value++; }
    if (!strcmp(line, "id")) { c->event_id = atoll(value); c->has_id = 1; }
    else if (!strcmp(line, "data")) {
        if (c->data_lines++ == 0) {
            char *end;
            unsigned long long stamp = strtoull(value, &end, 10);
            if (end != value) { c->stamp = stamp; c->has_stamp = 1; }
        }
    }
}

static void stream_bytes(conn_t *c, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\n') {
            stream_line(c, c->line, c->line_len);
            c->line_len = 0;
        } else if (c->line_len < sizeof c->line - 1) {
            c->line[c->line_len++] = p[i];
        }
    }
}

static void fail(conn_t *c, int epfd, int counted_as_drop)
{
    if (c->state == S_CLOSED) return;
    if (counted_as_drop) G.drops++;
    if (c->state != S_CONNECTING && c->state != S_HEAD) G.open--;
    epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->state = S_CLOSED;
}

/* Body bytes, through the chunked decoder when the response is chunked. */
static int body_bytes(conn_t *c, const char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        switch (c->state) {
        case S_RAW: stream_bytes(c, p + i, n - i); return 0;
        case S_CHUNK_SIZE:
            if (p[i] == '\n') {
                c->size_line[c->size_len] = 0;
                c->chunk_left = strtoul(c->size_line, NULL, 16);
                c->size_len = 0;
                if (c->chunk_left == 0) return -1; /* the response ended */
                c->state = S_CHUNK_DATA;
            } else if (c->size_len < sizeof c->size_line - 1) {
                c->size_line[c->size_len++] = p[i];
            }
            i++;
            break;
        case S_CHUNK_DATA: {
            size_t take = n - i < c->chunk_left ? n - i : c->chunk_left;
            stream_bytes(c, p + i, take);
            c->chunk_left -= take;
            i += take;
            if (c->chunk_left == 0) c->state = S_CHUNK_CRLF;
            break;
        }
        case S_CHUNK_CRLF:
            if (p[i] == '\n') { c->state = S_CHUNK_SIZE; }
            i++;
            break;
        default: return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    static struct option options[] = {
        { "port", 1, 0, 'p' }, { "path", 1, 0, 'P' }, { "conns", 1, 0, 'c' }, { "warmup", 1, 0, 'w' },
        { "duration", 1, 0, 'D' }, { "server-pid", 1, 0, 's' }, { "check", 0, 0, 'k' }, { "quiet", 0, 0, 'q' },
        { 0, 0, 0, 0 } };
    int opt;
    while ((opt = getopt_long(argc, argv, "p:c:w:D:q", options, NULL)) != -1) {
        switch (opt) {
        case 'p': cfg.port = atoi(optarg); break;
        case 'P': cfg.path = optarg; break;
        case 'c': cfg.conns = atoi(optarg); break;
        case 'w': cfg.warmup = atof(optarg); break;
        case 'D': cfg.duration = atof(optarg); break;
        case 's': cfg.server_pid = atoi(optarg); break;
        case 'k': cfg.check = 1; break;
        case 'q': cfg.quiet = 1; break;
        default: fprintf(stderr, "usage: sseload -p PORT [--path P] [-c N] [-w S] [-D S] [--server-pid PID] [--check]\n"); return 2;
        }
    }
    if (cfg.port <= 0 || cfg.conns <= 0) { fprintf(stderr, "sseload: -p PORT and -c N > 0 are required\n"); return 2; }
    struct rlimit limit = { 65536, 65536 };
    setrlimit(RLIMIT_NOFILE, &limit);

    int epfd = epoll_create1(0);
    conn_t *conns = calloc(cfg.conns, sizeof *conns);
    char request[1024];
    int request_len = snprintf(request, sizeof request,
        "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n",
        cfg.path, cfg.port);
    struct sockaddr_in address = { .sin_family = AF_INET, .sin_port = htons(cfg.port) };
    inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);

    double start = mono();
    int opened = 0, pending = 0;
    double measure_at = 0, end_at = 0, cpu0 = 0, self0 = 0, connected_at = 0;
    long rss0 = cfg.server_pid ? rss_kb(cfg.server_pid) : -1, rss1 = -1;
    long long events_at_start = 0;
    struct epoll_event ready[256];
    static char buffer[1 << 16];
    int connect_failures = 0;

    for (;;) {
        double now = mono();
        /* open connections, at most 128 in progress at once */
        while (opened < cfg.conns && pending < 128) {
            conn_t *c = &conns[opened++];
            c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
            int one = 1;
            setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            c->state = S_CONNECTING;
            if (connect(c->fd, (struct sockaddr *)&address, sizeof address) < 0 && errno != EINPROGRESS) {
                connect_failures++;
                close(c->fd);
                c->state = S_CLOSED;
                continue;
            }
            struct epoll_event event = { .events = EPOLLOUT | EPOLLIN, .data.ptr = c };
            epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &event);
            pending++;
        }
        /* The warm-up starts once every stream has its response head (or failed), or
           after 30 s of waiting for them: a slow server must not be measured on a part
           of its subscribers. */
        if (!connected_at && opened == cfg.conns && pending == 0) connected_at = now;
        long long settled = G.open + G.bad_heads + G.drops + connect_failures;
        if (!measure_at && connected_at && (settled >= cfg.conns || now - connected_at > 30)) {
            measure_at = now + cfg.warmup;
            if (!cfg.quiet)
                fprintf(stderr, "sseload: %lld/%d streams open after %.2f s\n", G.open, cfg.conns, now - start);
        }
        if (measure_at && !G.measuring && now >= measure_at) {
            G.measuring = 1;
            events_at_start = G.events;
            cpu0 = cfg.server_pid ? proc_cpu(cfg.server_pid) : 0;
            self0 = self_cpu();
            end_at = now + cfg.duration;
        }
        if (G.measuring && now >= end_at) break;
        if (now - start > cfg.warmup + cfg.duration + 60) { fprintf(stderr, "sseload: watchdog\n"); return 3; }

        int count = epoll_wait(epfd, ready, 256, 50);
        for (int i = 0; i < count; i++) {
            conn_t *c = ready[i].data.ptr;
            if (c->state == S_CONNECTING) {
                int error = 0;
                socklen_t length = sizeof error;
                getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &error, &length);
                pending--;
                if (error || write(c->fd, request, request_len) != request_len) {
                    connect_failures++;
                    epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
                    close(c->fd);
                    c->state = S_CLOSED;
                    continue;
                }
                struct epoll_event event = { .events = EPOLLIN, .data.ptr = c };
                epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &event);
                c->state = S_HEAD;
                continue;
            }
            for (;;) {
                ssize_t n = read(c->fd, buffer, sizeof buffer);
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
                if (n <= 0) { fail(c, epfd, 1); break; }
                size_t offset = 0;
                if (c->state == S_HEAD) {
                    size_t take = (size_t)n < sizeof c->head - c->head_len - 1 ? (size_t)n : sizeof c->head - c->head_len - 1;
                    memcpy(c->head + c->head_len, buffer, take);
                    c->head_len += take;
                    c->head[c->head_len] = 0;
                    char *end = strstr(c->head, "\r\n\r\n");
                    if (!end) { if (c->head_len >= sizeof c->head - 1) { G.bad_heads++; fail(c, epfd, 0); } break; }
                    size_t head_size = (size_t)(end - c->head) + 4;
                    if (strncmp(c->head, "HTTP/1.1 200", 12) || !strcasestr(c->head, "text/event-stream")) {
                        G.bad_heads++;
                        fail(c, epfd, 0);
                        break;
                    }
                    c->chunked = strcasestr(c->head, "transfer-encoding: chunked") != NULL;
                    c->state = c->chunked ? S_CHUNK_SIZE : S_RAW;
                    G.open++;
                    offset = head_size - (c->head_len - take);
                }
                if (body_bytes(c, buffer + offset, (size_t)n - offset) < 0) { fail(c, epfd, 1); break; }
            }
        }
    }
    double cpu1 = cfg.server_pid ? proc_cpu(cfg.server_pid) : 0, self1 = self_cpu();
    if (cfg.server_pid) rss1 = rss_kb(cfg.server_pid);
    long long measured = G.events - events_at_start;
    double eps = measured / cfg.duration;
    double p50 = 0, p99 = 0;
    long long seen = 0;
    for (int us = 0; us <= 1000000 && G.hist_count; us++) {
        seen += G.hist[us];
        if (!p50 && seen >= G.hist_count * 0.50) p50 = us;
        if (!p99 && seen >= G.hist_count * 0.99) { p99 = us; break; }
    }
    double server_cpu = cpu1 - cpu0, client_cpu = self1 - self0;
    printf("connect:  %lld/%d streams open (%d connect failures, %lld bad responses)\n", G.open, cfg.conns,
           connect_failures, G.bad_heads);
    printf("events:   %lld in %.1f s = %.0f events/s delivered; latency p50 %.0f us p99 %.0f us\n", measured,
           cfg.duration, eps, p50, p99);
    printf("checks:   %lld gaps, %lld repeats, %lld streams dropped\n", G.gaps, G.dups, G.drops);
    if (cfg.server_pid)
        printf("server:   %.1f%% of one core, %.3f CPU us per event delivered, RSS %ld -> %ld kB\n",
               100 * server_cpu / cfg.duration, measured ? 1e6 * server_cpu / measured : 0, rss0, rss1);
    printf("RESULT mode=sse conns=%d open=%lld events=%lld events_per_s=%.0f p50_us=%.0f p99_us=%.0f gaps=%lld "
           "repeats=%lld drops=%lld bad_responses=%lld connect_failures=%d server_cpu_pct=%.1f "
           "server_cpu_us_per_event=%.3f client_cpu_pct=%.1f server_rss_kb_before=%ld server_rss_kb_after=%ld\n",
           cfg.conns, G.open, measured, eps, p50, p99, G.gaps, G.dups, G.drops, G.bad_heads, connect_failures,
           100 * server_cpu / cfg.duration, measured ? 1e6 * server_cpu / measured : 0, 100 * client_cpu / cfg.duration,
           rss0, rss1);
    int bad = measured == 0 || G.open < cfg.conns;
    if (cfg.check) bad = bad || G.gaps || G.dups || G.drops || G.bad_heads || connect_failures;
    return bad ? 1 : 0;
}
