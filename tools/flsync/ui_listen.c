/*
 * ui_listen.c — where `flsync ui` listens: the --listen spec read as a
 * loopback address (nothing else is ever served), the socket bound before
 * any thread starts, the Host header values it answers to, and the per-run
 * token every request must carry.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tool.h"
#include "ui.h"

/* Parse HOST:PORT into a loopback socket address; false (with a message) otherwise. */
bool ui_parse_listen(const char *spec, struct sockaddr_storage *ss, socklen_t *len, bool *v6)
{
	char host[64];
	const char *colon = strrchr(spec, ':');
	int64_t port;

	if (!colon || (size_t)(colon - spec) >= sizeof host || !tool_parse_int64(colon + 1, &port) ||
	    port < 0 || port > 65535) {
		tool_usage_error("ui", "ui: --listen takes HOST:PORT (a loopback address), not %s", spec);
		return false;
	}
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = '\0';
	memset(ss, 0, sizeof *ss);
	if (!strcmp(host, "[::1]") || !strcmp(host, "::1")) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
		a->sin6_port = htons((uint16_t)port);
		*len = sizeof *a;
		*v6 = true;
		return true;
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		*len = sizeof *a;
		*v6 = false;
		if (!strcmp(host, "localhost"))
			strcpy(host, "127.0.0.1");
		if (inet_pton(AF_INET, host, &a->sin_addr) == 1 && (ntohl(a->sin_addr.s_addr) >> 24) == 127)
			return true;
	}
	tool_usage_error("ui", "ui: --listen must name a loopback address (127.0.0.1, localhost or [::1]), not %s",
			 host);
	return false;
}

bool ui_make_token(char out[65])
{
	unsigned char raw[32];
	size_t got = 0;
	int i;

	while (got < sizeof raw) {
		ssize_t n = getrandom(raw + got, sizeof raw - got, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return false;
		got += (size_t)n;
	}
	for (i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", raw[i]);
	return true;
}

/*
 * A socket bound and listening on ss, and the Host values it answers to
 * appended to hosts (known before libmicrohttpd starts any thread that
 * reads them); -1 with errno set when it cannot be.
 */
int ui_listen_socket(struct sockaddr_storage *ss, socklen_t sslen, bool v6, char hosts[][64], int *nhosts)
{
	int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0), port, e;

	if (fd < 0 || bind(fd, (struct sockaddr *)ss, sslen) != 0 || listen(fd, 64) != 0 ||
	    getsockname(fd, (struct sockaddr *)ss, &sslen) != 0) {
		e = errno;
		if (fd >= 0)
			close(fd);
		errno = e;
		return -1;
	}
	port = ntohs(v6 ? ((struct sockaddr_in6 *)ss)->sin6_port : ((struct sockaddr_in *)ss)->sin_port);
	if (v6) {
		snprintf(hosts[(*nhosts)++], 64, "[::1]:%d", port);
	} else {
		char addr[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &((struct sockaddr_in *)ss)->sin_addr, addr, sizeof addr);
		snprintf(hosts[(*nhosts)++], 64, "%s:%d", addr, port);
	}
	snprintf(hosts[(*nhosts)++], 64, "localhost:%d", port);
	return fd;
}
