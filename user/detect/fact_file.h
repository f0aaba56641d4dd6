/* The fact of a file event straight from its view (as fact_view.h does for the others). */
#ifndef HW_DETECT_FACT_FILE_H
#define HW_DETECT_FACT_FILE_H

#include "detect/fact.h"
#include "model/host.h"
#include "output/file_event.h"

/* The process's executable inode (hw_ecs__exe_inode) into a process event's fact. */
void hw_fact__exe_inode(struct hw_fact *f, const struct hw_process *p);
void hw_fact__file_event(struct hw_fact *f, const struct hw_host *h, const struct hw_file_view *v);

#endif
