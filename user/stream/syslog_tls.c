/* TLS for the syslog sink (see syslog_tls.h): the client context from output.syslog_ca,
 * output.syslog_cert and output.syslog_key, and a session on the sink's non-blocking socket
 * through a BIO of our own that sends with MSG_NOSIGNAL. The opaque types of the header are
 * OpenSSL's SSL_CTX and SSL. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "stream/syslog_tls.h"

static SSL_CTX *ctx_of(struct hw_syslog_tls *t)
{
	return (SSL_CTX *)t;
}

static SSL *ssl_of(struct hw_syslog_tls_conn *c)
{
	return (SSL *)c;
}

/* OpenSSL's first queued error as text (and the queue emptied), or fallback. */
static const char *ssl_reason(char *buf, size_t len, const char *fallback)
{
	unsigned long e = ERR_get_error();

	if (!e) {
		snprintf(buf, len, "%s", fallback);
		return buf;
	}
	ERR_error_string_n(e, buf, len);
	ERR_clear_error();
	return buf;
}

/* A socket BIO that sends with MSG_NOSIGNAL: OpenSSL's own writes with write(), and a
 * receiver gone away would raise SIGPIPE. */
static BIO_METHOD *nosig_method;

static int nosig_write(BIO *b, const char *data, int len)
{
	ssize_t n =
	    send((int)(intptr_t)BIO_get_data(b), data, (size_t)len, MSG_NOSIGNAL | MSG_DONTWAIT);

	BIO_clear_retry_flags(b);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		BIO_set_retry_write(b);
	return (int)n;
}

static int nosig_read(BIO *b, char *data, int len)
{
	ssize_t n = recv((int)(intptr_t)BIO_get_data(b), data, (size_t)len, MSG_DONTWAIT);

	BIO_clear_retry_flags(b);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		BIO_set_retry_read(b);
	return (int)n;
}

static long nosig_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	(void)b;
	(void)num;
	(void)ptr;
	return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int nosig_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

static BIO_METHOD *nosig_bio_method(void)
{
	BIO_METHOD *m;

	if (__atomic_load_n(&nosig_method, __ATOMIC_ACQUIRE))
		return nosig_method;
	m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "hopwatch socket");
	if (!m)
		return NULL;
	BIO_meth_set_write(m, nosig_write);
	BIO_meth_set_read(m, nosig_read);
	BIO_meth_set_ctrl(m, nosig_ctrl);
	BIO_meth_set_create(m, nosig_create);
	__atomic_store_n(&nosig_method, m, __ATOMIC_RELEASE);
	return m;
}

static int load(SSL_CTX **ctx, const struct hw_config *cfg, char *err, size_t errlen)
{
	char why[200];
	struct stat st;
	int dir;

	if (!cfg->syslog_ca) {
		if (cfg->syslog_cert || cfg->syslog_key) {
			snprintf(err, errlen, "output.syslog_%s needs output.syslog_ca (TLS)",
				 cfg->syslog_cert ? "cert" : "key");
			return -EINVAL;
		}
		return 0;
	}
	if (!cfg->syslog_cert != !cfg->syslog_key) {
		snprintf(err, errlen, "output.syslog_%s is set without output.syslog_%s",
			 cfg->syslog_cert ? "cert" : "key", cfg->syslog_cert ? "key" : "cert");
		return -EINVAL;
	}
	if (stat(cfg->syslog_ca, &st)) {
		snprintf(err, errlen, "output.syslog_ca '%s': %s", cfg->syslog_ca, strerror(errno));
		return -errno;
	}
	dir = S_ISDIR(st.st_mode);
	*ctx = SSL_CTX_new(TLS_client_method());
	if (!*ctx) {
		snprintf(err, errlen, "cannot create a TLS context: %s",
			 ssl_reason(why, sizeof(why), "out of memory"));
		return -ENOMEM;
	}
	SSL_CTX_set_min_proto_version(*ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(*ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_mode(*ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (SSL_CTX_load_verify_locations(*ctx, dir ? NULL : cfg->syslog_ca,
					  dir ? cfg->syslog_ca : NULL) != 1) {
		snprintf(err, errlen, "output.syslog_ca '%s': %s", cfg->syslog_ca,
			 ssl_reason(why, sizeof(why), "unreadable"));
		return -EINVAL;
	}
	if (!cfg->syslog_cert)
		return 0;
	if (SSL_CTX_use_certificate_chain_file(*ctx, cfg->syslog_cert) != 1) {
		snprintf(err, errlen, "output.syslog_cert '%s': %s", cfg->syslog_cert,
			 ssl_reason(why, sizeof(why), "unreadable"));
		return -EINVAL;
	}
	if (SSL_CTX_use_PrivateKey_file(*ctx, cfg->syslog_key, SSL_FILETYPE_PEM) != 1) {
		snprintf(err, errlen, "output.syslog_key '%s': %s", cfg->syslog_key,
			 ssl_reason(why, sizeof(why), "unreadable"));
		return -EINVAL;
	}
	if (SSL_CTX_check_private_key(*ctx) != 1) {
		snprintf(err, errlen,
			 "output.syslog_key '%s' does not match output.syslog_cert '%s'",
			 cfg->syslog_key, cfg->syslog_cert);
		ERR_clear_error();
		return -EINVAL;
	}
	return 0;
}

int hw_syslog_tls__new(const struct hw_config *cfg, struct hw_syslog_tls **out, char *err,
		       size_t errlen)
{
	SSL_CTX *ctx = NULL;
	int e = load(&ctx, cfg, err, errlen);

	if (e) {
		SSL_CTX_free(ctx);
		ctx = NULL;
	}
	*out = (struct hw_syslog_tls *)ctx;
	return e;
}

void hw_syslog_tls__free(struct hw_syslog_tls *ctx)
{
	SSL_CTX_free(ctx_of(ctx));
}

struct hw_syslog_tls_conn *hw_syslog_tls_conn__new(struct hw_syslog_tls *ctx, int fd,
						   const char *host, char *why, size_t whylen)
{
	BIO_METHOD *m = nosig_bio_method();
	char reason[200];
	SSL *ssl;
	BIO *bio;

	ssl = SSL_new(ctx_of(ctx));
	bio = m ? BIO_new(m) : NULL;
	if (!ssl || !bio) {
		BIO_free(bio);
		snprintf(why, whylen, "cannot start TLS: %s",
			 ssl_reason(reason, sizeof(reason), "out of memory"));
		SSL_free(ssl);
		return NULL;
	}
	BIO_set_data(bio, (void *)(intptr_t)fd);
	SSL_set_bio(ssl, bio, bio);
	/* the receiver's certificate must name what output.syslog says: an address or a name */
	if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) != 1) {
		ERR_clear_error();
		if (SSL_set1_host(ssl, host) != 1 || SSL_set_tlsext_host_name(ssl, host) != 1) {
			snprintf(why, whylen, "cannot set the TLS host name: %s",
				 ssl_reason(reason, sizeof(reason), "unknown error"));
			SSL_free(ssl);
			return NULL;
		}
	}
	return (struct hw_syslog_tls_conn *)ssl;
}

int hw_syslog_tls_conn__handshake(struct hw_syslog_tls_conn *c, short *want, char *why,
				  size_t whylen)
{
	SSL *ssl = ssl_of(c);
	int r = SSL_connect(ssl);

	if (r == 1)
		return 1;
	r = SSL_get_error(ssl, r);
	if (r == SSL_ERROR_WANT_READ || r == SSL_ERROR_WANT_WRITE) {
		*want = r == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
		return 0;
	}
	if (SSL_get_verify_result(ssl) != X509_V_OK)
		snprintf(why, whylen, "certificate verify failed: %s",
			 X509_verify_cert_error_string(SSL_get_verify_result(ssl)));
	else
		ssl_reason(why, whylen, r == SSL_ERROR_SYSCALL ? "connection closed" : "TLS error");
	return -1;
}

ssize_t hw_syslog_tls_conn__write(struct hw_syslog_tls_conn *c, const char *buf, size_t n,
				  int *pending, short *want, char *why, size_t whylen)
{
	SSL *ssl = ssl_of(c);
	int w = SSL_write(ssl, buf, n > INT_MAX ? INT_MAX : (int)n);

	if (w > 0) {
		*pending = 0;
		return w;
	}
	switch (SSL_get_error(ssl, w)) {
	case SSL_ERROR_WANT_WRITE:
		*want = POLLOUT;
		*pending = 1;
		return 0;
	case SSL_ERROR_WANT_READ:
		*want = POLLIN;
		*pending = 1;
		return 0;
	case SSL_ERROR_SYSCALL:
		ssl_reason(why, whylen, errno ? strerror(errno) : "connection closed");
		return -1;
	default:
		ssl_reason(why, whylen, "TLS error");
		return -1;
	}
}

int hw_syslog_tls_conn__drain(struct hw_syslog_tls_conn *c)
{
	SSL *ssl = ssl_of(c);
	char scratch[4096];

	for (;;) {
		int n = SSL_read(ssl, scratch, sizeof(scratch));

		if (n > 0)
			continue;
		n = SSL_get_error(ssl, n);
		ERR_clear_error();
		return n == SSL_ERROR_WANT_READ || n == SSL_ERROR_WANT_WRITE ? 0
		       : n == SSL_ERROR_ZERO_RETURN			     ? 1
									     : -1;
	}
}

void hw_syslog_tls_conn__shutdown(struct hw_syslog_tls_conn *c)
{
	SSL_shutdown(ssl_of(c));
}

void hw_syslog_tls_conn__free(struct hw_syslog_tls_conn *c)
{
	SSL_free(ssl_of(c)); /* and the BIO; a broken connection gets no close_notify */
	ERR_clear_error();
}
