/* Module entry and the argument helpers shared by every native file. */
#include "addon.h"
#include <stdlib.h>
#include <string.h>

int arg_i32(napi_env env, napi_value v, int32_t *out) {
  if (napi_get_value_int32(env, v, out) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "expected a number");
    return -1;
  }
  return 0;
}

int arg_u32(napi_env env, napi_value v, uint32_t *out) {
  if (napi_get_value_uint32(env, v, out) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "expected a number");
    return -1;
  }
  return 0;
}

int arg_i64(napi_env env, napi_value v, int64_t *out) {
  if (napi_get_value_int64(env, v, out) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "expected a number");
    return -1;
  }
  return 0;
}

int arg_f64(napi_env env, napi_value v, double *out) {
  if (napi_get_value_double(env, v, out) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "expected a number");
    return -1;
  }
  return 0;
}

int arg_bytes(napi_env env, napi_value v, void **data, size_t *len) {
  bool is;
  if (napi_is_typedarray(env, v, &is) == napi_ok && is) {
    napi_typedarray_type t;
    size_t n, off;
    napi_value ab;
    void *p;
    if (napi_get_typedarray_info(env, v, &t, &n, &p, &ab, &off) != napi_ok) goto bad;
    size_t el = 1;
    switch (t) {
      case napi_int16_array: case napi_uint16_array: el = 2; break;
      case napi_int32_array: case napi_uint32_array: case napi_float32_array: el = 4; break;
      case napi_float64_array: case napi_bigint64_array: case napi_biguint64_array: el = 8; break;
      default: el = 1;
    }
    *data = p;
    *len = n * el;
    return 0;
  }
  if (napi_is_dataview(env, v, &is) == napi_ok && is) {
    napi_value ab;
    size_t off;
    if (napi_get_dataview_info(env, v, len, data, &ab, &off) != napi_ok) goto bad;
    return 0;
  }
  if (napi_is_arraybuffer(env, v, &is) == napi_ok && is) {
    if (napi_get_arraybuffer_info(env, v, data, len) != napi_ok) goto bad;
    return 0;
  }
bad:
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "expected a Buffer, TypedArray, DataView or ArrayBuffer");
  return -1;
}

int arg_callback(napi_env env, napi_value v) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) == napi_ok && t == napi_function) return 0;
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "callback must be a function");
  return 1;
}

napi_value ret_i64(napi_env env, int64_t v) {
  napi_value r;
  /* Most results (byte counts, fds, -errno) fit a Smi: napi_create_int32
   * makes one directly; int64 goes through a double and Number::New. */
  if (v >= INT32_MIN && v <= INT32_MAX) {
    if (napi_create_int32(env, (int32_t)v, &r) != napi_ok) return NULL;
    return r;
  }
  if (napi_create_int64(env, v, &r) != napi_ok) return NULL;
  return r;
}

napi_value ret_f64(napi_env env, double v) {
  napi_value r;
  if (napi_create_double(env, v, &r) != napi_ok) return NULL;
  return r;
}

void export_fn(napi_env env, napi_value exports, const char *name, napi_callback cb) {
  napi_value fn;
  if (napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, NULL, &fn) == napi_ok)
    napi_set_named_property(env, exports, name, fn);
}

int async_queue(napi_env env, const char *name, napi_async_execute_callback exec, napi_async_complete_callback done,
                void *job, napi_async_work *work, napi_ref *refs, int nrefs) {
  napi_value n;
  if (napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &n) == napi_ok &&
      napi_create_async_work(env, NULL, n, exec, done, job, work) == napi_ok) {
    if (napi_queue_async_work(env, *work) == napi_ok) return 0;
    napi_delete_async_work(env, *work);
  }
  for (int i = 0; i < nrefs; i++)
    if (refs[i]) napi_delete_reference(env, refs[i]);
  free(job);
  return -EAGAIN;
}

void async_finish(napi_env env, napi_status status, void *job, napi_async_work work, napi_ref *refs, int nrefs, int64_t result) {
  napi_value cb = NULL, undef, res;
  napi_get_reference_value(env, refs[nrefs - 1], &cb);
  napi_get_undefined(env, &undef);
  napi_create_int64(env, status == napi_ok ? result : -ECANCELED, &res);
  for (int i = 0; i < nrefs; i++)
    if (refs[i]) napi_delete_reference(env, refs[i]);
  napi_delete_async_work(env, work);
  free(job);
  if (cb) {
    napi_value r;
    napi_call_function(env, undef, cb, 1, &res, &r);
  }
}

static napi_value Init(napi_env env, napi_value exports) {
  ring_init(env, exports);
  mem_init(env, exports);
  uvpoll_init(env, exports);
  sys_init(env, exports);
  events_init(env, exports);
  aead_init(env, exports);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
