/*
 * browser.c — handing a URL to the desktop's browser with xdg-open, for
 * `flsync auth login` (which waits for xdg-open's answer) and `flsync ui
 * --open` (which serves meanwhile and only says so when xdg-open failed).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tool.h"

extern char **environ;

/*
 * xdg-open URL as a child with default signals (the caller may block or
 * ignore some), its stdout on our stderr: stdout is for the caller's own
 * lines.  The child's pid, or -1.
 */
static pid_t spawn_xdg_open(const char *url)
{
	char *argv[] = { (char *)"xdg-open", (char *)url, NULL };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, dflt;
	pid_t pid;
	int rc;

	sigemptyset(&none);
	sigemptyset(&dflt);
	sigaddset(&dflt, SIGPIPE);
	sigaddset(&dflt, SIGINT);
	sigaddset(&dflt, SIGTERM);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &dflt);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, STDERR_FILENO, STDOUT_FILENO);
	rc = posix_spawnp(&pid, "xdg-open", &fa, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (rc != 0) {
		errno = rc;
		return -1;
	}
	return pid;
}

/* True when the child pid exited 0. */
static bool exited_ok(pid_t pid)
{
	int status;
	pid_t got;

	while ((got = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
		;
	return got == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

bool tool_open_url(const char *url)
{
	pid_t pid = spawn_xdg_open(url);

	return pid > 0 && exited_ok(pid);
}

static void *reap(void *arg)
{
	if (!exited_ok((pid_t)(intptr_t)arg))
		fputs("flsync ui: xdg-open could not open a browser: open the URL above yourself\n", stderr);
	return NULL;
}

void tool_open_url_async(const char *url)
{
	pid_t pid = spawn_xdg_open(url);
	pthread_t t;

	if (pid < 0) {
		fprintf(stderr, "flsync ui: cannot run xdg-open (%s): open the URL above yourself\n",
			strerror(errno));
		return;
	}
	if (pthread_create(&t, NULL, reap, (void *)(intptr_t)pid) == 0)
		pthread_detach(t);
}
