/* The second stage's line (docs/streaming.md, "The stitcher's line"): what the hop-chain
 * stitcher reads of a fact, as one short text line. A partitioned instance forwards this in
 * place of the agent's whole ECS line (about a quarter of its bytes), and the second stage reads
 * it back into the same fact, as far as the stitcher looks (stitch.c, stitch_chain.c):
 *
 *   ~1 TAB action TAB ts TAB host.id TAB host.name TAB pid TAB entity_id TAB executable TAB
 *   name TAB user TAB session_id TAB source.ip TAB source.port TAB destination.ip TAB
 *   destination.port TAB connection id TAB connection start TAB service TAB session start
 *   TAB agent socket's session TAB flags
 *
 * action is the event.action of the fact's kind; ts and the starts ns since the epoch (0
 * unknown); flags the letters e (egress), u (UDP), f (failure) or "-" (last: a line never ends
 * in a tab, which readers trim); strings with \\, \t,
 * \n and \r escaped by a backslash. Pure: no I/O. */
#ifndef HW_COLLECT_STITCH_LINE_H
#define HW_COLLECT_STITCH_LINE_H

#include <stddef.h>

#include "detect/fact.h"

#define HW_STITCH_LINE_MARK '~'	 /* the first byte: not an ECS line's '{' */
#define HW_STITCH_LINE_MAX  4096 /* bytes of the longest line, newline not included */

/* f's line into out (HW_STITCH_LINE_MAX bytes at least, NUL-terminated); its length, 0 when the
 * fact's kind has no event.action (HW_F_OTHER, HW_F_ALERT: never the stitcher's). */
size_t hw_stitch_line__write(char *out, const struct hw_fact *f);

/* The fact of line (len bytes, no newline): 0, or -EINVAL with err saying what is wrong. f is
 * zeroed first: what the line does not carry is zero. */
int hw_stitch_line__read(struct hw_fact *f, const char *line, size_t len, char *err, size_t errlen);

#endif
