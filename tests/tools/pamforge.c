/* The attack of a forged login (tests/bpf/test_trust.py): a program that is not a root service
 * behaves like one. It listens on 127.0.0.1:PORT, accepts one connection, forks, and the child
 * calls pam_start(SERVICE, USER) and pam_open_session() -- no password asked -- then runs
 * `sh -c CMD` as if it were the logged-in user's shell, and exits when it ends. Run as nobody
 * it must not produce a verified login, whatever it is named.
 *
 * usage: pamforge PORT SERVICE USER CMD */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <security/pam_appl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static int no_conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	(void)n, (void)msg, (void)resp, (void)data;
	return PAM_CONV_ERR;
}

int main(int argc, char **argv)
{
	struct pam_conv conv = {no_conv, NULL};
	struct sockaddr_in sa = {.sin_family = AF_INET};
	pam_handle_t *pamh = NULL;
	int one = 1, ls, c, status = 0, ret;
	pid_t pid;

	if (argc != 5) {
		fprintf(stderr, "usage: pamforge PORT SERVICE USER CMD\n");
		return 2;
	}
	sa.sin_port = htons((unsigned short)atoi(argv[1]));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ls = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof(sa)) || listen(ls, 1)) {
		perror("pamforge: listen");
		return 1;
	}
	printf("listening\n");
	fflush(stdout);
	c = accept(ls, NULL, NULL);
	if (c < 0) {
		perror("pamforge: accept");
		return 1;
	}
	pid = fork();
	if (pid == 0) {
		close(ls);
		ret = pam_start(argv[2], argv[3], &conv, &pamh);
		if (ret == PAM_SUCCESS)
			ret = pam_open_session(pamh, 0);
		printf("pam_open_session: %d\n", ret);
		fflush(stdout);
		execl("/bin/sh", "sh", "-c", argv[4], (char *)NULL);
		_exit(127);
	}
	waitpid(pid, &status, 0);
	close(c);
	return 0;
}
