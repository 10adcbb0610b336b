{
  "targets": [
    {
      "target_name": "netmgr_native",
      "sources": ["src/native/netmgr_native.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "defines": ["_GNU_SOURCE", "NAPI_VERSION=8"]
    }
  ]
}
