/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The HTTP side of `taskscope serve`, on libmicrohttpd (no parser of our
 * own): static dashboard files compiled into the binary, and the dynamic
 * endpoints through one callback. Read-only: GET and HEAD, a fixed table
 * of paths, nothing from a request reaches a file name or a command.
 *
 * Bounds, so that no client can stall or grow the server:
 * - connections: SERVE_MAX_CONNECTIONS at once, more are closed at accept;
 * - memory per connection: SERVE_CONN_MEMORY; a request head larger than
 *   that is answered 431 and closed;
 * - time: a connection idle SERVE_IDLE_TIMEOUT_S is closed (libmicrohttpd),
 *   and one whose request is not complete SERVE_REQUEST_DEADLINE_S after
 *   it began (a byte a second keeps an idle timer happy: slowloris) is cut
 *   here.
 * Runs in the caller's thread (libmicrohttpd's external event loop), so the
 * callback reads the model with no lock: between two refreshes.
 */
#ifndef TS_SERVE_HTTP_H
#define TS_SERVE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>

#define SERVE_MAX_CONNECTIONS		64
#define SERVE_CONN_MEMORY		(32 * 1024)
#define SERVE_IDLE_TIMEOUT_S		10
#define SERVE_REQUEST_DEADLINE_S	10

/* One static file of the dashboard (serve_assets.c). */
struct serve_asset {
	const char *path;		/* "/", "/app.js" */
	const char *content_type;
	const unsigned char *data;
	size_t len;
};

extern const struct serve_asset serve_assets[];
extern const size_t serve_nassets;

/*
 * A dynamic endpoint: writes the body into out and returns the HTTP
 * status (200, or 4xx with a one-line text body); *content_type for 200.
 * pid is the query's pid argument, NULL when absent.
 */
typedef int (*serve_endpoint_fn)(void *ctx, const char *path, const char *pid, FILE *out,
				 const char **content_type);

struct serve_http_config {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	const char *token;		/* bearer token for the data endpoints, NULL none */
	serve_endpoint_fn endpoint;
	void *ctx;
};

struct serve_http;

/* Parses "ADDR:PORT" or "[ADDR6]:PORT"; -1 when it is neither. */
int serve_parse_listen(const char *s, struct sockaddr_storage *addr, socklen_t *len);
/* 127.0.0.0/8, ::1 or ::ffff:127.x: reachable from this host only. */
bool serve_addr_is_loopback(const struct sockaddr_storage *addr);
/* Compares a request's Authorization header with "Bearer TOKEN" in constant time. */
bool serve_auth_ok(const char *header, const char *token);

/* Listens; on failure returns -errno with one line in why. */
int serve_http__start(struct serve_http **out, const struct serve_http_config *cfg, char *why,
		      size_t whylen);
/* Answers requests until deadline_ns (CLOCK_MONOTONIC) or *stop is set (a signal). */
void serve_http__run_until(struct serve_http *h, uint64_t deadline_ns,
			   const volatile sig_atomic_t *stop);
void serve_http__stats(const struct serve_http *h, uint64_t *requests, uint64_t *rejected);
void serve_http__stop(struct serve_http *h);

#endif
