{
  "targets": [
    {
      "target_name": "secretstream",
      "sources": ["src/binding.c"],
      "cflags": ["-O2"]
    }
  ]
}
