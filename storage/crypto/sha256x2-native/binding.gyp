{
  "targets": [
    {
      "target_name": "sha256_ni",
      "type": "static_library",
      "sources": ["src/sha256_ni.c"],
      "cflags": ["-O3", "-funroll-loops", "-fPIC"],
      "conditions": [["target_arch=='x64'", { "cflags": ["-march=x86-64-v3", "-msha"] }]]
    },
    {
      "target_name": "sha256x2",
      "sources": ["src/binding.c"],
      "dependencies": ["sha256_ni"],
      "cflags": ["-O2"]
    }
  ]
}
