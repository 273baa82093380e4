{
  "targets": [{
    "target_name": "dofs_fuse3",
    "sources": ["dofs-fuse3.c"],
    "cflags": ["-O2", "-Wall", "<!@(pkg-config fuse3 --cflags)"],
    "libraries": ["<!@(pkg-config fuse3 --libs)"]
  }]
}
