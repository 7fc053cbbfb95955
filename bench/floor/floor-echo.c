/*
 * floor-echo: the smallest WebSocket echo server we could write, used only to
 * measure what this machine allows. It is not part of Canal and is not a
 * server anyone should run: no limits beyond a fixed buffer, no UTF-8 checks,
 * no close handshake rules, no fragmentation rules.
 *
 * One thread, level-triggered epoll, one read per readiness event, frames
 * unmasked in place, every reply produced by one read written with one
 * write(). That is the least kernel work per message a server can do with
 * the epoll API, so its CPU per message is the floor for any event-loop
 * server on the same machine (see bench/README.md, "The floor").
 *
 *   cc -O2 -o floor-echo floor-echo.c -lcrypto
 *   ./floor-echo PORT
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

enum { BUF = 4 << 20 };

struct conn {
    int fd;
    int open;              /* 1 after the handshake */
    size_t in_len;
    size_t out_len, out_off;
    uint8_t *in, *out;
};

static const char *GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

static void drop(int ep, struct conn *c) {
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c->in);
    free(c->out);
    free(c);
}

/* Answers the opening handshake; returns bytes consumed, 0 if incomplete, -1 on error. */
static long handshake(struct conn *c) {
    uint8_t *end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
    if (!end) return c->in_len >= 8192 ? -1 : 0;
    *end = 0;
    char *key = strcasestr((char *)c->in, "\r\nSec-WebSocket-Key:");
    if (!key) return -1;
    key += 20;
    while (*key == ' ') key++;
    size_t klen = strcspn(key, " \r");
    char joined[128];
    if (klen > 60) return -1;
    memcpy(joined, key, klen);
    strcpy(joined + klen, GUID);
    uint8_t digest[SHA_DIGEST_LENGTH];
    SHA1((uint8_t *)joined, strlen(joined), digest);
    char accept[64];
    EVP_EncodeBlock((uint8_t *)accept, digest, SHA_DIGEST_LENGTH);
    c->out_len += (size_t)sprintf((char *)c->out + c->out_len,
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", accept);
    c->open = 1;
    return end + 4 - c->in;
}

/* Echoes every complete frame from offset start; returns bytes consumed, -1 to close. */
static long frames_after(struct conn *c, size_t start) {
    size_t at = start;
    for (;;) {
        uint8_t *p = c->in + at;
        size_t have = c->in_len - at;
        if (have < 2) break;
        uint8_t b0 = p[0], op = b0 & 0x0f;
        uint64_t len = p[1] & 0x7f;
        size_t head = 2;
        if (len == 126) { if (have < 4) break; len = (uint64_t)p[2] << 8 | p[3]; head = 4; }
        else if (len == 127) {
            if (have < 10) break;
            len = 0;
            for (int i = 0; i < 8; i++) len = len << 8 | p[2 + i];
            head = 10;
        }
        if (!(p[1] & 0x80) || len > BUF / 2) return -1;
        if (have < head + 4 + len) break;
        uint8_t *mask = p + head, *data = p + head + 4;
        for (uint64_t i = 0; i < len; i++) data[i] ^= mask[i & 3];
        if (c->out_len + 10 + len > BUF) return -1;
        uint8_t *o = c->out + c->out_len;
        o[0] = op == 0x9 ? (uint8_t)((b0 & 0xf0) | 0xa) : b0;
        size_t oh = 2;
        if (len < 126) o[1] = (uint8_t)len;
        else if (len < 65536) { o[1] = 126; o[2] = (uint8_t)(len >> 8); o[3] = (uint8_t)len; oh = 4; }
        else { o[1] = 127; for (int i = 0; i < 8; i++) o[2 + i] = (uint8_t)(len >> (56 - 8 * i)); oh = 10; }
        if (op != 0xa) {                       /* pongs are not answered */
            memcpy(o + oh, data, len);
            c->out_len += oh + len;
        }
        at += head + 4 + len;
        if (op == 0x8) return -1;
    }
    return (long)(at - start);
}

static int flush_out(int ep, struct conn *c) {
    while (c->out_off < c->out_len) {
        ssize_t n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
        if (n < 0) {
            if (errno != EAGAIN) return -1;
            struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = c };
            epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
            return 0;
        }
        c->out_off += (size_t)n;
    }
    c->out_len = c->out_off = 0;
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: floor-echo PORT\n"); return 2; }
    signal(SIGPIPE, SIG_IGN);
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1])) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(ls, (struct sockaddr *)&a, sizeof a) || listen(ls, 4096)) { perror("listen"); return 1; }
    int ep = epoll_create1(0);
    struct epoll_event lev = { .events = EPOLLIN, .data.ptr = NULL };
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &lev);
    struct epoll_event evs[256];
    for (;;) {
        int n = epoll_wait(ep, evs, 256, -1);
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (!c) {
                int fd;
                while ((fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    c = calloc(1, sizeof *c);
                    c->fd = fd;
                    c->in = malloc(BUF);
                    c->out = malloc(BUF);
                    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
                }
                continue;
            }
            if (evs[i].events & EPOLLOUT) {
                if (flush_out(ep, c)) { drop(ep, c); continue; }
                if (c->out_len == 0) {
                    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
                    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
                }
                continue;
            }
            ssize_t r = read(c->fd, c->in + c->in_len, BUF - c->in_len);
            if (r <= 0) { if (r < 0 && errno == EAGAIN) continue; drop(ep, c); continue; }
            c->in_len += (size_t)r;
            long used = c->open ? 0 : handshake(c);
            if (used < 0) { drop(ep, c); continue; }
            if (c->open) {
                long framed = frames_after(c, (size_t)used);
                if (framed < 0) { flush_out(ep, c); drop(ep, c); continue; }
                used += framed;
            }
            memmove(c->in, c->in + used, c->in_len - (size_t)used);
            c->in_len -= (size_t)used;
            if (c->in_len == BUF) { drop(ep, c); continue; }
            if (flush_out(ep, c)) drop(ep, c);
        }
    }
}
