/* Redacting NATS URLs for messages (user/stream/url.c): passwords and tokens never printed. */
#include <string.h>

#include "stream/url.h"
#include "test.h"

static bool redacts(const char *in, const char *want)
{
	char out[256];

	return CHECK_STREQ(hw_url__redact(in, out, sizeof(out)), want);
}

TEST(url_redacts_passwords_and_tokens)
{
	redacts("nats://bob:s3cret@127.0.0.1:4222", "nats://bob:***@127.0.0.1:4222");
	redacts("nats://tok3n@nats-1:4222", "nats://***@nats-1:4222");
	redacts("tls://a:b@n1:4222, tls://n2:4222,nats://c:d@n3",
		"tls://a:***@n1:4222, tls://n2:4222,nats://c:***@n3");
	/* a password holding '@' or ':' */
	redacts("nats://u:p@ss:w@h:1/x", "nats://u:***@h:1/x");
	/* quoted in a message */
	redacts("cannot connect to 'nats://u:pw@h:1'; retrying",
		"cannot connect to 'nats://u:***@h:1'; retrying");
	/* nothing to hide */
	redacts("nats://127.0.0.1:4222", "nats://127.0.0.1:4222");
	redacts("no url here: a@b", "no url here: a@b");
	redacts("", "");
}

TEST(url_redact_truncates_safely)
{
	char out[12];

	hw_url__redact("nats://user:password@host", out, sizeof(out));
	CHECK_STREQ(out, "nats://user");
	CHECK(!strstr(out, "pass"));
	hw_url__redact("x", out, 1);
	CHECK_STREQ(out, "");
}
