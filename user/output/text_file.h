/* The text line of a file fact (text_file.c). */
#ifndef HW_OUTPUT_TEXT_FILE_H
#define HW_OUTPUT_TEXT_FILE_H

#include "model/host.h"
#include "output/file_event.h"
#include "output/text.h"

void hw_text__file_event(struct hw_text *t, const struct hw_host *h, const struct hw_file_view *v);

#endif
