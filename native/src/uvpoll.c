/* Watch an fd from Node's own loop (libuv uv_poll): the ring's eventfd or
 * ring fd, or an event backend's epoll fd, so rings and EventContexts live
 * inside any Node program (the "attached" driver). The callback goes
 * through napi_make_callback so promise jobs run after it, as after any
 * other I/O callback in Node. */
#include "addon.h"
#include <uv.h>
#include <stdlib.h>

typedef struct {
  uv_poll_t handle;
  napi_env env;
  napi_ref cb;
  napi_ref self;
  napi_async_context actx;
  int closing;
  int refs; /* libuv's handle and the JavaScript external each hold one */
} watch_t;

static void watch_unref(watch_t *w) {
  if (--w->refs == 0) free(w);
}

static void on_close(uv_handle_t *h) {
  watch_unref(h->data);
}

static void on_poll(uv_poll_t *h, int status, int events) {
  watch_t *w = h->data;
  napi_env env = w->env;
  napi_handle_scope scope;
  if (w->closing) return;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value cb, recv, args[2], result;
  if (napi_get_reference_value(env, w->cb, &cb) == napi_ok && cb) {
    napi_get_global(env, &recv); /* make_callback needs an object receiver */
    napi_create_int32(env, status, &args[0]);
    napi_create_int32(env, events, &args[1]);
    napi_status st = napi_make_callback(env, w->actx, recv, cb, 2, args, &result);
    if (st == napi_pending_exception) {
      napi_value exc;
      napi_get_and_clear_last_exception(env, &exc);
      napi_fatal_exception(env, exc);
    }
  }
  napi_close_handle_scope(env, scope);
}

static void watch_stop(napi_env env, watch_t *w) {
  if (w->closing) return;
  w->closing = 1;
  uv_poll_stop(&w->handle);
  napi_delete_reference(env, w->cb);
  napi_async_destroy(env, w->actx);
  uv_close((uv_handle_t *)&w->handle, on_close);
}

/* A handle JavaScript dropped can no longer be stopped: stop it here. */
static void watch_finalize(napi_env env, void *data, void *hint) {
  watch_t *w = data;
  watch_stop(env, w);
  watch_unref(w);
}

/* pollWatch(fd, events, callback(status, events)) -> handle (external) | -errno
 * events: 1 = readable, 2 = writable, 4 = disconnect (libuv's UV_*). */
static napi_value PollWatch(napi_env env, napi_callback_info info) {
  ARGS(3);
  GET_I32(0, fd);
  GET_I32(1, events);
  napi_valuetype t;
  NAPI_OK(napi_typeof(env, argv[2], &t));
  if (t != napi_function) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "callback must be a function");
    return NULL;
  }
  uv_loop_t *loop;
  NAPI_OK(napi_get_uv_event_loop(env, &loop));
  watch_t *w = calloc(1, sizeof(*w));
  if (!w) return ret_i64(env, -ENOMEM);
  int r = uv_poll_init(loop, &w->handle, fd);
  if (r < 0) {
    free(w);
    return ret_i64(env, r); /* libuv errors are -errno on Linux */
  }
  w->handle.data = w;
  w->env = env;
  napi_value name, resource;
  napi_create_string_utf8(env, "ringsmb:fdwatch", NAPI_AUTO_LENGTH, &name);
  napi_create_object(env, &resource);
  napi_async_init(env, resource, name, &w->actx);
  napi_create_reference(env, argv[2], 1, &w->cb);
  r = uv_poll_start(&w->handle, events, on_poll);
  if (r < 0) {
    w->closing = 1;
    w->refs = 1;
    napi_delete_reference(env, w->cb);
    napi_async_destroy(env, w->actx);
    uv_close((uv_handle_t *)&w->handle, on_close);
    return ret_i64(env, r);
  }
  napi_value ext;
  w->refs = 2;
  if (napi_create_external(env, w, watch_finalize, NULL, &ext) != napi_ok) {
    w->refs = 1;
    watch_stop(env, w);
    napi_throw_error(env, "ERR_RINGSMB_NATIVE", "cannot wrap watch");
    return NULL;
  }
  return ext;
}

static watch_t *get_watch(napi_env env, napi_value v) {
  void *p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "expected a watch handle");
    return NULL;
  }
  return p;
}

/* pollUpdate(handle, events) -> 0 | -errno */
static napi_value PollUpdate(napi_env env, napi_callback_info info) {
  ARGS(2);
  watch_t *w = get_watch(env, argv[0]);
  if (!w) return NULL;
  GET_I32(1, events);
  if (w->closing) return ret_i64(env, -EBADF);
  if (events == 0) return ret_i64(env, uv_poll_stop(&w->handle));
  return ret_i64(env, uv_poll_start(&w->handle, events, on_poll));
}

/* pollRef(handle, ref: boolean): whether the watch keeps Node alive. */
static napi_value PollRef(napi_env env, napi_callback_info info) {
  ARGS(2);
  watch_t *w = get_watch(env, argv[0]);
  if (!w) return NULL;
  bool ref = false;
  napi_get_value_bool(env, argv[1], &ref);
  if (!w->closing) {
    if (ref) uv_ref((uv_handle_t *)&w->handle);
    else uv_unref((uv_handle_t *)&w->handle);
  }
  return ret_i64(env, 0);
}

/* pollStop(handle): stops and frees; safe to call twice. */
static napi_value PollStop(napi_env env, napi_callback_info info) {
  ARGS(1);
  watch_t *w = get_watch(env, argv[0]);
  if (!w) return NULL;
  watch_stop(env, w);
  return ret_i64(env, 0);
}

void uvpoll_init(napi_env env, napi_value exports) {
  export_fn(env, exports, "pollWatch", PollWatch);
  export_fn(env, exports, "pollUpdate", PollUpdate);
  export_fn(env, exports, "pollRef", PollRef);
  export_fn(env, exports, "pollStop", PollStop);
}
