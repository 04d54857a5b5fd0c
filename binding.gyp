{
  "targets": [
    {
      "target_name": "ringsmb_native",
      "sources": [
        "native/src/addon.c",
        "native/src/ring.c",
        "native/src/mem.c",
        "native/src/uvpoll.c",
        "native/src/sys.c",
        "native/src/events.c",
        "native/src/aead.c",
        "native/src/gcm.c"
      ],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-std=gnu11"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
