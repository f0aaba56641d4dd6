/* Encoders for alerts (ECS JSON and a text line) and for the recording's clock ticks. */
#ifndef HW_OUTPUT_ALERT_H
#define HW_OUTPUT_ALERT_H

#include "detect/engine.h"
#include "output/json.h"
#include "output/text.h"

void hw_ecs__alert(struct hw_json *j, const struct hw_alert *a);
void hw_text__alert(struct hw_text *t, const struct hw_alert *a);
/* {"@timestamp":..,"event":{"kind":"state","action":"tick",..},"host":{..}}: the engine's clock
 * in a recording, so that replay fires timed rules at the same moments. */
void hw_ecs__tick(struct hw_json *j, unsigned long long wall_ns, const char *host_name,
		  const char *host_id);

#endif
