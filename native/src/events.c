/* Waits for the poll and epoll event backends (src/events/). */
#include "addon.h"

void events_init(napi_env env, napi_value exports) {
  (void)env;
  (void)exports;
}
