/* Entity, connection and session ids (see id.h). */
#include "lib/hash.h"
#include "lib/id.h"

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void hw_id__b64_stream(const __u64 d[2], char out[HW_ID_LEN])
{
	for (int i = 0; i < 22; i++) {
		int bit = i * 6, w = bit / 64, s = bit % 64;
		__u64 v = d[w] >> s;

		if (s > 58 && w == 0)
			v |= d[1] << (64 - s);
		out[i] = b64[v & 63];
	}
	out[22] = 0;
}

void hw_id__b64_pair(__u64 a, __u64 b, char out[HW_ID_LEN])
{
	for (int i = 0; i < 22; i++)
		out[i] = b64[(i < 11 ? a >> (6 * i) : b >> (6 * (i - 11))) & 63];
	out[22] = 0;
}

void hw_id__process(const __u64 key[2], __u32 pid, __u64 start_ticks, char out[HW_ID_LEN])
{
	__u64 in[2] = {pid, start_ticks};
	__u64 k2[2] = {key[1], key[0]};
	__u64 d[2] = {hw_siphash(key, in, sizeof(in)), hw_siphash(k2, in, sizeof(in))};

	hw_id__b64_stream(d, out);
}

void hw_id__conn(const __u64 key[2], __u64 cookie, char out[HW_ID_LEN])
{
	/* the entity-id space with pid 0, which no process has, and the cookie as the start */
	__u64 k[2] = {key[0] ^ 0x636f6e6eULL, key[1]};

	hw_id__b64_pair(hw_siphash(k, &cookie, sizeof(cookie)),
			hw_siphash(key, &cookie, sizeof(cookie)), out);
}

void hw_id__session(const __u64 key[2], __u64 cookie, char out[HW_ID_LEN])
{
	/* another key than the connection's own id: a session is not its socket */
	__u64 k[2] = {key[1], key[0] ^ 0x73657373ULL};
	__u64 a = hw_siphash(k, &cookie, sizeof(cookie));

	hw_id__b64_pair(a, hw_siphash(key, &a, 8), out);
}
