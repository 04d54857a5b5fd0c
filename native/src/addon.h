/* ringsmb native addon: shared helpers.
 *
 * The native layer is thin (ARCHITECTURE decision 2): it wraps syscalls and
 * hands results back as numbers (>= 0 success, -errno failure). Argument
 * checking with friendly messages happens in TypeScript (src/native.ts);
 * here we only refuse values N-API cannot convert, so nothing can crash. */
#ifndef RINGSMB_ADDON_H
#define RINGSMB_ADDON_H

#define _GNU_SOURCE
#include <node_api.h>
#include <stdint.h>
#include <stddef.h>
#include <errno.h>

#define NAPI_OK(call)                                                   \
  do {                                                                  \
    if ((call) != napi_ok) {                                            \
      napi_throw_error(env, "ERR_RINGSMB_NATIVE", "N-API call failed: " #call); \
      return NULL;                                                      \
    }                                                                   \
  } while (0)

#define ARGS(n)                                                         \
  size_t argc = (n);                                                    \
  napi_value argv[(n) > 0 ? (n) : 1];                                   \
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL))

int arg_i32(napi_env env, napi_value v, int32_t *out);
int arg_u32(napi_env env, napi_value v, uint32_t *out);
int arg_i64(napi_env env, napi_value v, int64_t *out);
int arg_f64(napi_env env, napi_value v, double *out);
/* Data pointer and length of a Buffer, TypedArray, DataView or ArrayBuffer. */
int arg_bytes(napi_env env, napi_value v, void **data, size_t *len);
/* 0 for a function; else throws TypeError and returns 1. */
int arg_callback(napi_env env, napi_value v);
napi_value ret_i64(napi_env env, int64_t v);
napi_value ret_f64(napi_env env, double v);
void export_fn(napi_env env, napi_value exports, const char *name, napi_callback cb);

/* Work on a libuv pool thread: `job` is malloc'd and holds `work` and
 * `refs` (the values to keep alive; the last one the callback).
 * async_queue: queues it; on failure drops the refs, frees the job and
 * returns -EAGAIN (no callback then), else 0.
 * async_finish: from the complete callback, drops the refs and the work,
 * frees the job, then calls the callback with `result` (-ECANCELED if the
 * work did not run). */
int async_queue(napi_env env, const char *name, napi_async_execute_callback exec, napi_async_complete_callback done,
                void *job, napi_async_work *work, napi_ref *refs, int nrefs);
void async_finish(napi_env env, napi_status status, void *job, napi_async_work work, napi_ref *refs, int nrefs, int64_t result);

/* The C code reports bad arguments by throwing TypeError; real failures
 * are returned as -errno. */
#define GET_I32(i, var) int32_t var; if (arg_i32(env, argv[i], &var)) return NULL
#define GET_U32(i, var) uint32_t var; if (arg_u32(env, argv[i], &var)) return NULL
#define GET_I64(i, var) int64_t var; if (arg_i64(env, argv[i], &var)) return NULL
#define GET_F64(i, var) double var; if (arg_f64(env, argv[i], &var)) return NULL

void ring_init(napi_env env, napi_value exports);
void mem_init(napi_env env, napi_value exports);
void uvpoll_init(napi_env env, napi_value exports);
void sys_init(napi_env env, napi_value exports);
void events_init(napi_env env, napi_value exports);
void aead_init(napi_env env, napi_value exports);

#endif
