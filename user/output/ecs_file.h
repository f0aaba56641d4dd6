/* ECS JSON of file facts (file.*, event.category file), one line per event. */
#ifndef HW_OUTPUT_ECS_FILE_H
#define HW_OUTPUT_ECS_FILE_H

#include "model/host.h"
#include "output/file_event.h"
#include "output/json.h"

void hw_ecs__file_event(struct hw_json *j, const struct hw_host *h, const struct hw_file_view *v);

/* hopwatch.exe.inode and .device of a process's executable, when the exec record gave them */
void hw_ecs__exe_inode(struct hw_json *j, const struct hw_process *p);

/* event.type of an action: creation, change, deletion */
const char *hw_file_event_type(const char *action);

#endif
