// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "serve_http.h"

/* A live connection, for the request deadline. */
struct conn_slot {
	struct conn_slot *next, **pprev;
	int fd;
	uint64_t begun_ns;		/* its current request began (or it connected) */
	bool cut;
};

struct serve_http {
	struct MHD_Daemon *d;
	struct serve_http_config cfg;
	struct conn_slot *conns;
	uint64_t requests, rejected;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* ---- pure parts --------------------------------------------------------- */

int serve_parse_listen(const char *s, struct sockaddr_storage *addr, socklen_t *len)
{
	char host[64];
	const char *colon, *port_s;
	size_t hlen;
	char *end;
	long port;

	memset(addr, 0, sizeof(*addr));
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':')
			return -1;
		hlen = (size_t)(close - s - 1);
		if (hlen >= sizeof(host))
			return -1;
		memcpy(host, s + 1, hlen);
		port_s = close + 2;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return -1;
		hlen = (size_t)(colon - s);
		if (hlen >= sizeof(host))
			return -1;
		memcpy(host, s, hlen);
		port_s = colon + 1;
	}
	host[hlen] = '\0';
	errno = 0;
	port = strtol(port_s, &end, 10);
	if (errno || !*port_s || *end || port < 1 || port > 65535)
		return -1;
	if (s[0] == '[') {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)addr;

		if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1)
			return -1;
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*a6);
	} else {
		struct sockaddr_in *a4 = (struct sockaddr_in *)addr;

		if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
			return -1;
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		*len = sizeof(*a4);
	}
	return 0;
}

bool serve_addr_is_loopback(const struct sockaddr_storage *addr)
{
	if (addr->ss_family == AF_INET) {
		const struct sockaddr_in *a4 = (const struct sockaddr_in *)addr;

		return (ntohl(a4->sin_addr.s_addr) >> 24) == 127;
	}
	if (addr->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)addr;
		const uint8_t *b = a6->sin6_addr.s6_addr;

		if (IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr))
			return true;
		return IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr) && b[12] == 127;
	}
	return false;
}

bool serve_auth_ok(const char *header, const char *token)
{
	static const char scheme[] = "Bearer ";
	size_t n, i;
	unsigned char diff = 0;

	if (!token)
		return true;
	if (!header || strncmp(header, scheme, sizeof(scheme) - 1))
		return false;
	header += sizeof(scheme) - 1;
	n = strlen(token);
	if (strlen(header) != n)
		return false;
	/* no early exit: the time taken says nothing of how much matched */
	for (i = 0; i < n; i++)
		diff |= (unsigned char)(header[i] ^ token[i]);
	return diff == 0;
}

/* ---- responses ---------------------------------------------------------- */

static void common_headers(struct MHD_Response *r, const char *content_type)
{
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "X-Frame-Options", "DENY");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	/* the page loads its own script and style only, and talks to this server only */
	MHD_add_response_header(r, "Content-Security-Policy",
				"default-src 'none'; script-src 'self'; style-src 'self'; "
				"connect-src 'self'; img-src 'self' data:; base-uri 'none'; "
				"form-action 'none'; frame-ancestors 'none'");
}

static enum MHD_Result reply(struct serve_http *h, struct MHD_Connection *c, unsigned int status,
			     const char *content_type, void *body, size_t len,
			     enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
	enum MHD_Result ret;

	if (!r) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free(body);
		return MHD_NO;
	}
	common_headers(r, content_type);
	if (status == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
					"Bearer realm=\"taskscope\"");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	if (status >= 400)
		h->rejected++;
	h->requests++;
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result reply_text(struct serve_http *h, struct MHD_Connection *c,
				  unsigned int status, const char *text)
{
	return reply(h, c, status, "text/plain; charset=utf-8", (void *)text, strlen(text),
		     MHD_RESPMEM_PERSISTENT);
}

static const struct serve_asset *find_asset(const char *url)
{
	size_t i;

	for (i = 0; i < serve_nassets; i++)
		if (!strcmp(serve_assets[i].path, url))
			return &serve_assets[i];
	return NULL;
}

static bool is_endpoint(const char *url)
{
	return !strcmp(url, "/metrics") || !strcmp(url, "/api/processes") ||
	       !strcmp(url, "/api/report") || !strcmp(url, "/api/history");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size, void **req_ctx)
{
	struct serve_http *h = cls;
	const struct serve_asset *a;
	const char *ctype = "text/plain; charset=utf-8";
	char *body = NULL;
	size_t len = 0;
	FILE *out;
	int status;

	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply_text(h, c, MHD_HTTP_METHOD_NOT_ALLOWED, "read-only: GET and HEAD\n");
	/* a GET with a body: answered at once, the body is not read */
	if (*upload_data_size)
		return reply_text(h, c, MHD_HTTP_BAD_REQUEST, "a GET has no body\n");
	/* the path was percent-decoded: no dot-dot, however it was spelled */
	if (url[0] != '/' || strstr(url, "..") || strchr(url, '\\'))
		return reply_text(h, c, MHD_HTTP_BAD_REQUEST, "bad path\n");
	a = find_asset(url);
	if (a)
		return reply(h, c, MHD_HTTP_OK, a->content_type, (void *)a->data, a->len,
			     MHD_RESPMEM_PERSISTENT);
	if (!is_endpoint(url))
		return reply_text(h, c, MHD_HTTP_NOT_FOUND, "not found\n");
	if (!serve_auth_ok(MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						       MHD_HTTP_HEADER_AUTHORIZATION),
			   h->cfg.token))
		return reply_text(h, c, MHD_HTTP_UNAUTHORIZED, "bearer token required\n");
	out = open_memstream(&body, &len);
	if (!out)
		return reply_text(h, c, MHD_HTTP_SERVICE_UNAVAILABLE, "out of memory\n");
	status = h->cfg.endpoint(h->cfg.ctx, url,
				 MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "pid"), out,
				 &ctype);
	if (fclose(out) || !body) {
		free(body);
		return reply_text(h, c, MHD_HTTP_SERVICE_UNAVAILABLE, "out of memory\n");
	}
	return reply(h, c, (unsigned int)status, status == 200 ? ctype : "text/plain; charset=utf-8",
		     body, len, MHD_RESPMEM_MUST_FREE);
}

/* ---- connections and their deadline ------------------------------------- */

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_ctx,
			  enum MHD_ConnectionNotificationCode code)
{
	struct serve_http *h = cls;
	struct conn_slot *s = *socket_ctx;
	const union MHD_ConnectionInfo *ci;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		s = calloc(1, sizeof(*s));
		ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		if (!s || !ci) {
			free(s);
			return;		/* unwatched: the idle timeout still holds */
		}
		s->fd = ci->connect_fd;
		s->begun_ns = now_ns();
		s->next = h->conns;
		if (h->conns)
			h->conns->pprev = &s->next;
		s->pprev = &h->conns;
		h->conns = s;
		*socket_ctx = s;
		return;
	}
	if (!s)
		return;
	*s->pprev = s->next;
	if (s->next)
		s->next->pprev = s->pprev;
	free(s);
	*socket_ctx = NULL;
}

/* A request answered: the next one on this connection gets its own deadline. */
static void on_completed(void *cls, struct MHD_Connection *c, void **req_ctx,
			 enum MHD_RequestTerminationCode toe)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct conn_slot *s = ci ? ci->socket_context : NULL;

	if (s)
		s->begun_ns = now_ns();
}

/*
 * Cut what is past its deadline. shutdown(), not close(): the socket stays
 * libmicrohttpd's, which sees the end of the stream and closes it itself.
 * The slots are freed in on_connection, in this same thread, so no slot
 * outlives its socket.
 */
static void cut_late(struct serve_http *h)
{
	uint64_t now = now_ns(), limit = SERVE_REQUEST_DEADLINE_S * 1000000000ULL;
	struct conn_slot *s;

	for (s = h->conns; s; s = s->next) {
		if (s->cut || now - s->begun_ns < limit)
			continue;
		shutdown(s->fd, SHUT_RDWR);
		s->cut = true;
		h->rejected++;
	}
}

int serve_http__start(struct serve_http **out, const struct serve_http_config *cfg, char *why,
		      size_t whylen)
{
	struct serve_http *h = calloc(1, sizeof(*h));
	unsigned int flags = MHD_USE_EPOLL;
	char addr[INET6_ADDRSTRLEN] = "?";
	uint16_t port;

	*out = NULL;
	if (!h) {
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	h->cfg = *cfg;
	if (cfg->addr.ss_family == AF_INET6) {
		const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)&cfg->addr;

		flags |= MHD_USE_IPv6;
		inet_ntop(AF_INET6, &a6->sin6_addr, addr, sizeof(addr));
		port = ntohs(a6->sin6_port);
	} else {
		const struct sockaddr_in *a4 = (const struct sockaddr_in *)&cfg->addr;

		inet_ntop(AF_INET, &a4->sin_addr, addr, sizeof(addr));
		port = ntohs(a4->sin_port);
	}
	errno = 0;
	h->d = MHD_start_daemon(flags, port, NULL, NULL, on_request, h,
				MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)&h->cfg.addr,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned int)SERVE_MAX_CONNECTIONS,
				MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)SERVE_CONN_MEMORY,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)SERVE_IDLE_TIMEOUT_S,
				MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
				MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned int)128,
				MHD_OPTION_END);
	if (!h->d) {
		int err = errno ? errno : EADDRINUSE;

		snprintf(why, whylen, "can't listen on %s port %u: %s", addr, port, strerror(err));
		free(h);
		return -err;
	}
	*out = h;
	return 0;
}

void serve_http__run_until(struct serve_http *h, uint64_t deadline_ns,
			   const volatile sig_atomic_t *stop)
{
	uint64_t now;

	while (!*stop && (now = now_ns()) < deadline_ns) {
		uint64_t left_ms = (deadline_ns - now) / 1000000;

		/* short slices: the deadline check and the stop flag stay responsive */
		MHD_run_wait(h->d, (int32_t)(left_ms < 100 ? left_ms : 100));
		cut_late(h);
	}
}

void serve_http__stats(const struct serve_http *h, uint64_t *requests, uint64_t *rejected)
{
	*requests = h->requests;
	*rejected = h->rejected;
}

void serve_http__stop(struct serve_http *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->d);
	free(h);
}
