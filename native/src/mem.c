/* Memory whose address TypeScript needs: SQEs carry user-space pointers.
 *
 * allocBuffer() maps anonymous, page-aligned memory (never moved, released
 * when its ArrayBuffer is collected) and reports its address once, so the
 * hot paths compute addresses as base + offset with no native call.
 * addressOf() gives the address of any Buffer/TypedArray/ArrayBuffer; V8
 * never moves an ArrayBuffer's backing store, so the address stays valid
 * while JavaScript holds a reference (the ring keeps one per op in flight). */
#include "addon.h"
#include <sys/mman.h>
#include <stdlib.h>

typedef struct {
  void *ptr;
  size_t len;
} region_t;

static void region_finalize(napi_env env, void *data, void *hint) {
  region_t *r = hint;
  munmap(r->ptr, r->len);
  free(r);
}

/* allocBuffer(size) -> { buffer: ArrayBuffer, address: number } | -errno */
static napi_value AllocBuffer(napi_env env, napi_callback_info info) {
  ARGS(1);
  GET_F64(0, size_d);
  if (size_d <= 0 || size_d > (double)(1ULL << 40)) return ret_i64(env, -EINVAL);
  size_t size = (size_t)size_d;
  void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return ret_i64(env, -errno);
  region_t *r = malloc(sizeof(*r));
  if (!r) {
    munmap(p, size);
    return ret_i64(env, -ENOMEM);
  }
  r->ptr = p;
  r->len = size;
  napi_value ab, obj;
  if (napi_create_external_arraybuffer(env, p, size, region_finalize, r, &ab) != napi_ok) {
    munmap(p, size);
    free(r);
    napi_throw_error(env, "ERR_RINGSMB_NATIVE", "cannot wrap memory");
    return NULL;
  }
  NAPI_OK(napi_create_object(env, &obj));
  napi_set_named_property(env, obj, "buffer", ab);
  napi_set_named_property(env, obj, "address", ret_f64(env, (double)(uintptr_t)p));
  return obj;
}

/* addressOf(bytes) -> address of the first byte (a Number; user-space
 * addresses on x86-64 and arm64 fit in 53 bits). */
static napi_value AddressOf(napi_env env, napi_callback_info info) {
  ARGS(1);
  void *data;
  size_t len;
  if (arg_bytes(env, argv[0], &data, &len)) return NULL;
  return ret_f64(env, (double)(uintptr_t)data);
}

void mem_init(napi_env env, napi_value exports) {
  export_fn(env, exports, "allocBuffer", AllocBuffer);
  export_fn(env, exports, "addressOf", AddressOf);
}
