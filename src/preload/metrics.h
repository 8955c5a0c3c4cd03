/* metrics.h — metrics.c: Prometheus text, stats JSON, the monitor line. */
#ifndef DRIP_PRELOAD_METRICS_H
#define DRIP_PRELOAD_METRICS_H

#include "internal.h"

void drip__write_metrics(int fd);
void drip__write_stats_json(int fd);
void drip__monitor_tick(int *above, double seconds_since_start);

#endif
