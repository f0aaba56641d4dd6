/* The workload of the kernel matrix (tests/kernels): runs inside the qemu guest, linked
 * dynamically against the host's libpam so the agent's libpam uprobes fire.
 *
 *   hwguest serve SERVICE USER PORT   accept one connection on 127.0.0.1:PORT, fork, and in
 *                                     the child log USER in through PAM service SERVICE
 *                                     (pam_start, pam_authenticate, pam_acct_mgmt,
 *                                     pam_open_session, pam_close_session): a remote login
 *   hwguest udp ADDR PORT             send one UDP datagram to ADDR:PORT with sendto()
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <security/pam_appl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	return PAM_CONV_ERR; /* pam_permit and pam_deny ask nothing */
}

static int login(const char *service, const char *user)
{
	struct pam_conv c = {conv, NULL};
	pam_handle_t *h = NULL;
	int r = pam_start(service, user, &c, &h);

	if (r != PAM_SUCCESS) {
		fprintf(stderr, "hwguest: pam_start '%s': %d\n", service, r);
		return 1;
	}
	r = pam_authenticate(h, 0);
	if (r == PAM_SUCCESS)
		r = pam_acct_mgmt(h, 0);
	if (r == PAM_SUCCESS)
		r = pam_open_session(h, 0);
	if (r == PAM_SUCCESS)
		pam_close_session(h, 0);
	printf("hwguest: login %s@%s: %s\n", user, service, pam_strerror(h, r));
	pam_end(h, r);
	return r == PAM_SUCCESS ? 0 : 1;
}

static int serve(const char *service, const char *user, int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	int one = 1, s = socket(AF_INET, SOCK_STREAM, 0), c, status = 0;
	pid_t pid;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) || listen(s, 1)) {
		perror("hwguest: listen");
		return 1;
	}
	printf("hwguest: listening on %d\n", port);
	fflush(stdout);
	c = accept(s, NULL, NULL);
	if (c < 0) {
		perror("hwguest: accept");
		return 1;
	}
	pid = fork();
	if (pid == 0) {
		int r = login(service, user);

		(void)!write(c, r ? "denied\n" : "welcome\n", r ? 7 : 8);
		_exit(r);
	}
	close(c);
	waitpid(pid, &status, 0);
	close(s);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

static int udp(const char *addr, int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	int s = socket(AF_INET, SOCK_DGRAM, 0);

	if (s < 0 || inet_pton(AF_INET, addr, &a.sin_addr) != 1 ||
	    sendto(s, "hw", 2, 0, (struct sockaddr *)&a, sizeof(a)) != 2) {
		perror("hwguest: udp");
		return 1;
	}
	close(s);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "serve"))
		return serve(argv[2], argv[3], atoi(argv[4]));
	if (argc == 4 && !strcmp(argv[1], "udp"))
		return udp(argv[2], atoi(argv[3]));
	fprintf(stderr, "usage: hwguest serve SERVICE USER PORT | udp ADDR PORT\n");
	return 2;
}
