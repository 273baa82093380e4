/*
 * dofs-fuse3: carries libfuse 3 low-level requests to JavaScript and its replies back. Nothing
 * here decides anything about the filesystem; adapters/fuse/lowlevel.ts does.
 *
 * The /dev/fuse descriptor is non-blocking and watched by Node's own event loop (uv_poll): when
 * the kernel has requests, the JavaScript thread reads every one waiting
 * (fuse_session_receive_buf until EAGAIN, each through fuse_session_process_buf, whose low-level
 * handlers below only copy the request into a record) and hands them to JavaScript together (see deliver).
 * No thread sits between the kernel and JavaScript, so a request costs one wake-up of the event
 * loop (a thread handing requests over cost two context switches each, which on a small busy
 * machine dominated). While JavaScript serves a batch, the next one gathers in the kernel.
 * Replies are synchronous calls from JavaScript (fuse_reply_*), which write to /dev/fuse directly.
 * Cache invalidations go through a notify thread of their own: the kernel may make a notification
 * wait for a lock held by a request that only JavaScript can answer, so the JavaScript thread never
 * writes one itself.
 */
#define FUSE_USE_VERSION 34
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <node_api.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <uv.h>

/* Operation codes, mirrored in lowlevel.ts (OPS). */
enum {
  OP_INIT, OP_DESTROY, OP_LOOKUP, OP_FORGET, OP_GETATTR, OP_SETATTR, OP_READLINK, OP_MKNOD,
  OP_MKDIR, OP_UNLINK, OP_RMDIR, OP_SYMLINK, OP_RENAME, OP_LINK, OP_OPEN, OP_READ, OP_WRITE,
  OP_FLUSH, OP_RELEASE, OP_FSYNC, OP_OPENDIR, OP_READDIR, OP_RELEASEDIR, OP_FSYNCDIR, OP_STATFS,
  OP_CREATE, OP_READDIRPLUS, OP_FORGET_MULTI, OP_END, OP_FALLOCATE, OP_LSEEK
};

/* The largest request (max_pages): 256 pages of 4 KiB. */
#define MAX_IO (1024 * 1024)

typedef struct record {
  struct record *next;
  int op;
  fuse_req_t req;
  uint64_t ino, ino2, fh;
  uint32_t uid, gid, pid, umask;
  int64_t off;   /* read/write/readdir offset, setattr size */
  uint64_t size; /* read/readdir size, write length, forget nlookup */
  uint32_t mode, flags, rdev, to_set, datasync;
  uint32_t set_uid, set_gid;
  double atime, mtime; /* setattr, in ms; NaN: now */
  char *name, *name2;  /* copied names (name2: rename's new name, symlink's target) */
  void *data;          /* write's bytes (handed to JavaScript), forget_multi's pairs */
} record;

typedef struct notice {
  struct notice *next;
  int entry; /* 1: inval_entry(ino, name); 0: inval_inode(ino, off, len) */
  uint64_t ino;
  int64_t off, len;
  char *name;
} notice;

typedef struct {
  struct fuse_session *se;
  napi_env env;
  napi_ref callback;
  napi_async_context async;
  uv_poll_t poll;
  struct fuse_buf buf;
  pthread_t notifier;
  record *head, *tail;
  int polling;
  int ended;
  /* notify thread */
  pthread_mutex_t nlock;
  pthread_cond_t ncond;
  notice *nhead, *ntail;
  int nstop;
  int mounted;
  int writeback;
  /* Busy waiting after a batch (0: none), and the time spent so since the last hand-over. */
  uint64_t busy_wait_ns, busy_waited_ns;
} session;

static double now_nan(void) { return __builtin_nan(""); }

/* Handlers run on the JavaScript thread, inside on_readable: the queue needs no lock. */
static void enqueue(session *s, record *r) {
  if (s->tail) s->tail->next = r; else s->head = r;
  s->tail = r;
}

static record *make(fuse_req_t req, int op, fuse_ino_t ino) {
  record *r = calloc(1, sizeof(record));
  if (!r) return NULL;
  r->op = op;
  r->req = req;
  r->ino = ino;
  if (req) {
    const struct fuse_ctx *ctx = fuse_req_ctx(req);
    r->uid = ctx->uid; r->gid = ctx->gid; r->pid = ctx->pid; r->umask = ctx->umask;
  }
  return r;
}

#define SESSION(req) ((session *)fuse_req_userdata(req))
#define PUSH(req, r) do { if (!(r)) { fuse_reply_err(req, ENOMEM); return; } enqueue(SESSION(req), r); } while (0)

static void ll_init(void *userdata, struct fuse_conn_info *conn) {
  session *s = userdata;
  /* 1 MiB requests: libfuse turns max_write into the kernel's max_pages. */
  conn->max_write = MAX_IO;
  conn->max_readahead = MAX_IO;
  if (s->writeback && (conn->capable & FUSE_CAP_WRITEBACK_CACHE)) conn->want |= FUSE_CAP_WRITEBACK_CACHE;
  if (conn->capable & FUSE_CAP_READDIRPLUS) conn->want |= FUSE_CAP_READDIRPLUS | FUSE_CAP_READDIRPLUS_AUTO;
  if (conn->capable & FUSE_CAP_ASYNC_READ) conn->want |= FUSE_CAP_ASYNC_READ;
  if (conn->capable & FUSE_CAP_ASYNC_DIO) conn->want |= FUSE_CAP_ASYNC_DIO;
  if (conn->capable & FUSE_CAP_PARALLEL_DIROPS) conn->want |= FUSE_CAP_PARALLEL_DIROPS;
  /* Only JavaScript invalidates a file's pages (on changes made behind the kernel's back). */
  if (conn->capable & FUSE_CAP_EXPLICIT_INVAL_DATA) conn->want |= FUSE_CAP_EXPLICIT_INVAL_DATA;
  conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
  conn->max_background = 64;
  conn->congestion_threshold = 48;
}

static void ll_lookup(fuse_req_t req, fuse_ino_t parent, const char *name) {
  record *r = make(req, OP_LOOKUP, parent);
  if (r) r->name = strdup(name);
  PUSH(req, r);
}

static void ll_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  session *s = SESSION(req);
  record *r = make(NULL, OP_FORGET, ino);
  if (r) r->size = nlookup;
  fuse_reply_none(req); /* nothing to answer: the count travels to JavaScript */
  if (r) enqueue(s, r);
}

static void ll_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets) {
  session *s = SESSION(req);
  record *r = make(NULL, OP_FORGET_MULTI, 0);
  if (r) {
    r->size = count;
    r->data = malloc(count * sizeof(struct fuse_forget_data));
    if (r->data) memcpy(r->data, forgets, count * sizeof(struct fuse_forget_data));
    else r->size = 0;
  }
  fuse_reply_none(req);
  if (r) enqueue(s, r);
}

static void ll_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  record *r = make(req, OP_GETATTR, ino);
  if (r) r->fh = fi ? fi->fh : 0;
  PUSH(req, r);
}

/* To the nearest millisecond (the engine's unit): 1.678 s arrives from node as 1 s + 677999999 ns. */
static double ms_of(const struct timespec *ts) {
  return (double)ts->tv_sec * 1000 + (double)((ts->tv_nsec + 500000) / 1000000);
}

static void ll_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set, struct fuse_file_info *fi) {
  record *r = make(req, OP_SETATTR, ino);
  if (r) {
    r->to_set = to_set;
    r->mode = attr->st_mode;
    r->set_uid = attr->st_uid;
    r->set_gid = attr->st_gid;
    r->off = attr->st_size;
    r->atime = (to_set & FUSE_SET_ATTR_ATIME_NOW) ? now_nan() : ms_of(&attr->st_atim);
    r->mtime = (to_set & FUSE_SET_ATTR_MTIME_NOW) ? now_nan() : ms_of(&attr->st_mtim);
    r->fh = fi ? fi->fh : 0;
  }
  PUSH(req, r);
}

static void ll_readlink(fuse_req_t req, fuse_ino_t ino) { record *r = make(req, OP_READLINK, ino); PUSH(req, r); }

static void ll_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev) {
  record *r = make(req, OP_MKNOD, parent);
  if (r) { r->name = strdup(name); r->mode = mode; r->rdev = (uint32_t)rdev; }
  PUSH(req, r);
}

static void ll_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode) {
  record *r = make(req, OP_MKDIR, parent);
  if (r) { r->name = strdup(name); r->mode = mode; }
  PUSH(req, r);
}

static void ll_unlink(fuse_req_t req, fuse_ino_t parent, const char *name) {
  record *r = make(req, OP_UNLINK, parent);
  if (r) r->name = strdup(name);
  PUSH(req, r);
}

static void ll_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name) {
  record *r = make(req, OP_RMDIR, parent);
  if (r) r->name = strdup(name);
  PUSH(req, r);
}

static void ll_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name) {
  record *r = make(req, OP_SYMLINK, parent);
  if (r) { r->name = strdup(name); r->name2 = strdup(link); }
  PUSH(req, r);
}

static void ll_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent, const char *newname,
                      unsigned int flags) {
  record *r = make(req, OP_RENAME, parent);
  if (r) { r->name = strdup(name); r->ino2 = newparent; r->name2 = strdup(newname); r->flags = flags; }
  PUSH(req, r);
}

static void ll_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname) {
  record *r = make(req, OP_LINK, ino);
  if (r) { r->ino2 = newparent; r->name = strdup(newname); }
  PUSH(req, r);
}

static void ll_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  record *r = make(req, OP_OPEN, ino);
  if (r) r->flags = fi->flags;
  PUSH(req, r);
}

static void ll_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
  record *r = make(req, OP_READ, ino);
  if (r) { r->size = size; r->off = off; r->fh = fi->fh; }
  PUSH(req, r);
}

static void ll_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
                     struct fuse_file_info *fi) {
  record *r = make(req, OP_WRITE, ino);
  if (r) {
    r->size = size; r->off = off; r->fh = fi->fh;
    r->data = malloc(size ? size : 1);
    if (!r->data) { free(r); r = NULL; } else memcpy(r->data, buf, size);
  }
  PUSH(req, r);
}

static void ll_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  record *r = make(req, OP_FLUSH, ino);
  if (r) r->fh = fi->fh;
  PUSH(req, r);
}

static void ll_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  record *r = make(req, OP_RELEASE, ino);
  if (r) { r->fh = fi->fh; r->flags = fi->flags; }
  PUSH(req, r);
}

static void ll_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi) {
  record *r = make(req, OP_FSYNC, ino);
  if (r) { r->fh = fi->fh; r->datasync = datasync; }
  PUSH(req, r);
}

static void ll_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  record *r = make(req, OP_OPENDIR, ino);
  if (r) r->flags = fi->flags;
  PUSH(req, r);
}

static void ll_readdir_any(int op, fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                           struct fuse_file_info *fi) {
  record *r = make(req, op, ino);
  if (r) { r->size = size; r->off = off; r->fh = fi->fh; }
  PUSH(req, r);
}
static void ll_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
  ll_readdir_any(OP_READDIR, req, ino, size, off, fi);
}
static void ll_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
  ll_readdir_any(OP_READDIRPLUS, req, ino, size, off, fi);
}

static void ll_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  record *r = make(req, OP_RELEASEDIR, ino);
  if (r) r->fh = fi->fh;
  PUSH(req, r);
}

static void ll_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi) {
  record *r = make(req, OP_FSYNCDIR, ino);
  if (r) { r->fh = fi->fh; r->datasync = datasync; }
  PUSH(req, r);
}

static void ll_statfs(fuse_req_t req, fuse_ino_t ino) { record *r = make(req, OP_STATFS, ino); PUSH(req, r); }

static void ll_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, struct fuse_file_info *fi) {
  record *r = make(req, OP_CREATE, parent);
  if (r) { r->name = strdup(name); r->mode = mode; r->flags = fi->flags; }
  PUSH(req, r);
}

static void ll_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
                         struct fuse_file_info *fi) {
  record *r = make(req, OP_FALLOCATE, ino);
  if (r) { r->mode = (uint32_t)mode; r->off = offset; r->size = (uint64_t)length; r->fh = fi->fh; }
  PUSH(req, r);
}

static void ll_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence, struct fuse_file_info *fi) {
  record *r = make(req, OP_LSEEK, ino);
  if (r) { r->off = off; r->flags = (uint32_t)whence; r->fh = fi->fh; }
  PUSH(req, r);
}

static const struct fuse_lowlevel_ops ops = {
  .init = ll_init,
  .lookup = ll_lookup,
  .forget = ll_forget,
  .forget_multi = ll_forget_multi,
  .getattr = ll_getattr,
  .setattr = ll_setattr,
  .readlink = ll_readlink,
  .mknod = ll_mknod,
  .mkdir = ll_mkdir,
  .unlink = ll_unlink,
  .rmdir = ll_rmdir,
  .symlink = ll_symlink,
  .rename = ll_rename,
  .link = ll_link,
  .open = ll_open,
  .read = ll_read,
  .write = ll_write,
  .flush = ll_flush,
  .release = ll_release,
  .fsync = ll_fsync,
  .opendir = ll_opendir,
  .readdir = ll_readdir,
  .readdirplus = ll_readdirplus,
  .releasedir = ll_releasedir,
  .fsyncdir = ll_fsyncdir,
  .statfs = ll_statfs,
  .create = ll_create,
  .fallocate = ll_fallocate,
  .lseek = ll_lseek,
};

/* ---- threads ---- */

static void *notify(void *arg) {
  session *s = arg;
  for (;;) {
    pthread_mutex_lock(&s->nlock);
    while (!s->nhead && !s->nstop) pthread_cond_wait(&s->ncond, &s->nlock);
    notice *n = s->nhead;
    if (n) { s->nhead = n->next; if (!s->nhead) s->ntail = NULL; }
    int stop = s->nstop && !n;
    pthread_mutex_unlock(&s->nlock);
    if (stop) break;
    if (n->entry) fuse_lowlevel_notify_inval_entry(s->se, n->ino, n->name, strlen(n->name));
    else fuse_lowlevel_notify_inval_inode(s->se, n->ino, n->off, n->len);
    free(n->name);
    free(n);
  }
  return NULL;
}

/* ---- JavaScript side ---- */

#define CHECK(call) do { if ((call) != napi_ok) { napi_throw_error(env, NULL, #call " failed"); return NULL; } } while (0)

static void free_data(napi_env env, void *data, void *hint) { (void)env; (void)hint; free(data); }

/*
 * Numbers per request in a batch's Float64Array, in this order (requests.ts REQUEST_FIELDS and
 * decodeBatch read them): op, req, ino, uid, gid, pid, umask, ino2, fh, off, size, mode, flags, rdev,
 * to_set, datasync, set_uid, set_gid, atime, mtime. Building each request's object here cost a
 * string-table lookup per property (napi_set_named_property) and as many object shapes as
 * operations; JavaScript builds them from this array, all of one shape.
 */
#define REQUEST_FIELDS 20
/* Values per request in the batch's array of the rest: name, name2, and write's bytes or forget_multi's pairs. */
#define REQUEST_REFS 3

static void encode(napi_env env, record *r, double *n, napi_value refs, uint32_t at) {
  n[0] = r->op; n[1] = (double)(uintptr_t)r->req; n[2] = (double)r->ino;
  n[3] = r->uid; n[4] = r->gid; n[5] = r->pid; n[6] = r->umask;
  n[7] = (double)r->ino2; n[8] = (double)r->fh; n[9] = (double)r->off; n[10] = (double)r->size;
  n[11] = r->mode; n[12] = r->flags; n[13] = r->rdev; n[14] = r->to_set; n[15] = r->datasync;
  n[16] = r->set_uid; n[17] = r->set_gid; n[18] = r->atime; n[19] = r->mtime;
  napi_value v;
  if (r->name) {
    napi_create_string_utf8(env, r->name, NAPI_AUTO_LENGTH, &v);
    napi_set_element(env, refs, at, v);
  }
  if (r->name2) {
    napi_create_string_utf8(env, r->name2, NAPI_AUTO_LENGTH, &v);
    napi_set_element(env, refs, at + 1, v);
  }
  if (r->op == OP_WRITE) {
    if (napi_create_external_buffer(env, r->size, r->data, free_data, NULL, &v) == napi_ok) {
      r->data = NULL;
    } else {
      napi_create_buffer_copy(env, r->size, r->data, NULL, &v);
    }
    napi_set_element(env, refs, at + 2, v);
  } else if (r->op == OP_FORGET_MULTI) {
    napi_create_array_with_length(env, r->size * 2, &v);
    struct fuse_forget_data *f = r->data;
    for (size_t i = 0; i < r->size; i++) {
      napi_value a, b;
      napi_create_double(env, (double)f[i].ino, &a);
      napi_create_double(env, (double)f[i].nlookup, &b);
      napi_set_element(env, v, i * 2, a);
      napi_set_element(env, v, i * 2 + 1, b);
    }
    napi_set_element(env, refs, at + 2, v);
  }
}

static void free_record(record *r) {
  free(r->name);
  free(r->name2);
  free(r->data);
  free(r);
}

/*
 * Hands every queued request to JavaScript (their numbers in one Float64Array, the rest in one
 * array), with whether they were caught while busy waiting and the microseconds spent busy waiting
 * since the last hand-over.
 */
static void deliver(session *s, int caught) {
  napi_env env = s->env;
  record *r = s->head;
  s->head = s->tail = NULL;
  if (!r) return;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  size_t count = 0;
  for (record *p = r; p; p = p->next) count++;
  napi_value args[4], buffer, recv, cb, result;
  double *numbers = NULL;
  napi_create_arraybuffer(env, count * REQUEST_FIELDS * sizeof(double), (void **)&numbers, &buffer);
  napi_create_typedarray(env, napi_float64_array, count * REQUEST_FIELDS, buffer, 0, &args[0]);
  napi_create_array_with_length(env, count * REQUEST_REFS, &args[1]);
  uint32_t i = 0;
  while (r) {
    record *next = r->next;
    encode(env, r, numbers + (size_t)i * REQUEST_FIELDS, args[1], i * REQUEST_REFS);
    free_record(r);
    r = next;
    i++;
  }
  napi_get_global(env, &recv); /* make_callback wants an object as `this` */
  napi_get_reference_value(env, s->callback, &cb);
  napi_get_boolean(env, caught, &args[2]);
  napi_create_double(env, (double)s->busy_waited_ns / 1000.0, &args[3]);
  s->busy_waited_ns = 0;
  /* make_callback: microtasks run and exceptions reach process 'uncaughtException', as for any I/O callback. */
  napi_make_callback(env, s->async, recv, cb, 4, args, &result);
  napi_close_handle_scope(env, scope);
}

static uint64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* Reads every request waiting; returns how many, or -1 when the connection is gone. */
static int drain(session *s) {
  int n = 0;
  while (!fuse_session_exited(s->se)) {
    int res = fuse_session_receive_buf(s->se, &s->buf);
    if (res == -EINTR) continue;
    if (res == -EAGAIN) return n;
    if (res <= 0) { fuse_session_exit(s->se); break; }
    fuse_session_process_buf(s->se, &s->buf);
    n++;
  }
  return -1;
}

/* A short pause between tries of an empty /dev/fuse, easing the spin on the CPU's pipeline. */
static void cpu_relax(void) {
  for (int i = 0; i < 32; i++) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
  }
}

/* Returning to the event loop at least this often while requests keep coming lets timers (the group commit's) and other I/O run. */
#define BUSY_WAIT_CAP_NS 1000000u

/*
 * The kernel has requests: read every one waiting, then hand them over. Then, when the mount asked
 * for it, keep reading for up to busy_wait_ns after each batch before going back to sleep in the
 * event loop: a caller's next request usually follows its reply within tens of microseconds, and on
 * a virtual machine a CPU that went idle in between costs more than that to wake (measured in
 * docs/fuse.md). It does not yield the CPU meanwhile: beside a CPU-bound process, sched_yield gave
 * that process a whole time slice (milliseconds), which the caller's next request then waited out;
 * the read(2) of each try lets the scheduler preempt the loop when another task is due.
 */
static void on_readable(uv_poll_t *handle, int status, int events) {
  (void)events;
  session *s = handle->data;
  int gone = status != 0 || drain(s) < 0;
  if (!gone) {
    deliver(s, 0);
    uint64_t start = now_ns(), last = start, t = start;
    while (s->busy_wait_ns && t - last < s->busy_wait_ns && t - start < BUSY_WAIT_CAP_NS) {
      int n = drain(s);
      if (n < 0) { gone = 1; break; }
      if (n > 0) {
        s->busy_waited_ns += now_ns() - last;
        deliver(s, 1);
        last = now_ns();
      } else {
        cpu_relax();
      }
      t = now_ns();
    }
    if (!gone) {
      if (s->busy_wait_ns) s->busy_waited_ns += t - last;
      return;
    }
  }
  /* The connection is gone (unmounted or aborted): the last batch carries the end. */
  uv_poll_stop(&s->poll);
  s->polling = 0;
  if (!s->ended) { s->ended = 1; enqueue(s, make(NULL, OP_END, 0)); }
  deliver(s, 0);
}

static session *get_session(napi_env env, napi_value value) {
  session *s = NULL;
  napi_get_value_external(env, value, (void **)&s);
  return s;
}

static fuse_req_t get_req(napi_env env, napi_value value) {
  double d = 0;
  napi_get_value_double(env, value, &d);
  return (fuse_req_t)(uintptr_t)d;
}

static char *get_string(napi_env env, napi_value value) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, value, NULL, 0, &len) != napi_ok) return NULL;
  char *out = malloc(len + 1);
  if (out) napi_get_value_string_utf8(env, value, out, len + 1, &len);
  return out;
}

static double *get_doubles(napi_env env, napi_value value, size_t *length) {
  napi_typedarray_type type;
  size_t len = 0;
  void *data = NULL;
  if (napi_get_typedarray_info(env, value, &type, &len, &data, NULL, NULL) != napi_ok || type != napi_float64_array)
    return NULL;
  if (length) *length = len;
  return data;
}

/* A stat laid out as lowlevel.ts's ATTR fields: ino, mode, nlink, uid, gid, rdev, size, blocks,
 * atimeMs, mtimeMs, ctimeMs, blksize, entry timeout, attr timeout, generation (15 doubles). */
#define ATTR_FIELDS 15
static void fill_stat(const double *a, struct stat *st) {
  memset(st, 0, sizeof(*st));
  st->st_ino = (ino_t)a[0];
  st->st_mode = (mode_t)a[1];
  st->st_nlink = (nlink_t)a[2];
  st->st_uid = (uid_t)a[3];
  st->st_gid = (gid_t)a[4];
  st->st_rdev = (dev_t)a[5];
  st->st_size = (off_t)a[6];
  st->st_blocks = (blkcnt_t)a[7];
  const double *t[3] = {&a[8], &a[9], &a[10]};
  struct timespec *ts[3] = {&st->st_atim, &st->st_mtim, &st->st_ctim};
  for (int i = 0; i < 3; i++) {
    double ms = *t[i];
    int64_t sec = (int64_t)(ms / 1000);
    if ((double)sec * 1000 > ms) sec--;
    ts[i]->tv_sec = sec;
    ts[i]->tv_nsec = (long)((ms - (double)sec * 1000) * 1e6);
    if (ts[i]->tv_nsec >= 1000000000L) ts[i]->tv_nsec = 999999999L;
  }
  st->st_blksize = (blksize_t)a[11];
}

static void fill_entry(const double *a, struct fuse_entry_param *e) {
  memset(e, 0, sizeof(*e));
  e->ino = (fuse_ino_t)a[0];
  e->generation = (uint64_t)a[14];
  e->entry_timeout = a[12];
  e->attr_timeout = a[13];
  fill_stat(a, &e->attr);
}

#define ARGS(n) \
  size_t argc = n; napi_value argv[n]; \
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < n) { \
    napi_throw_type_error(env, NULL, "missing arguments"); return NULL; }

static napi_value result_int(napi_env env, int value) {
  napi_value v;
  napi_create_int32(env, value, &v);
  return v;
}

/* replyErr(req, errno) — errno positive, 0 for success of a void operation. */
static napi_value js_reply_err(napi_env env, napi_callback_info info) {
  ARGS(2);
  int32_t err = 0;
  napi_get_value_int32(env, argv[1], &err);
  return result_int(env, fuse_reply_err(get_req(env, argv[0]), err));
}

/* replyEntry(req, attr): attr[0] == 0 is a negative entry (cached for attr's entry timeout). */
static napi_value js_reply_entry(napi_env env, napi_callback_info info) {
  ARGS(2);
  double *a = get_doubles(env, argv[1], NULL);
  if (!a) { napi_throw_type_error(env, NULL, "attr must be a Float64Array"); return NULL; }
  struct fuse_entry_param e;
  fill_entry(a, &e);
  return result_int(env, fuse_reply_entry(get_req(env, argv[0]), &e));
}

/* replyCreate(req, attr, fh, keepCache) */
static napi_value js_reply_create(napi_env env, napi_callback_info info) {
  ARGS(3);
  double *a = get_doubles(env, argv[1], NULL);
  if (!a) { napi_throw_type_error(env, NULL, "attr must be a Float64Array"); return NULL; }
  double fh = 0;
  napi_get_value_double(env, argv[2], &fh);
  struct fuse_entry_param e;
  fill_entry(a, &e);
  struct fuse_file_info fi;
  memset(&fi, 0, sizeof(fi));
  fi.fh = (uint64_t)fh;
  return result_int(env, fuse_reply_create(get_req(env, argv[0]), &e, &fi));
}

/* replyAttr(req, attr) */
static napi_value js_reply_attr(napi_env env, napi_callback_info info) {
  ARGS(2);
  double *a = get_doubles(env, argv[1], NULL);
  if (!a) { napi_throw_type_error(env, NULL, "attr must be a Float64Array"); return NULL; }
  struct stat st;
  fill_stat(a, &st);
  return result_int(env, fuse_reply_attr(get_req(env, argv[0]), &st, a[13]));
}

/* replyOpen(req, fh, keepCache) */
static napi_value js_reply_open(napi_env env, napi_callback_info info) {
  ARGS(3);
  double fh = 0;
  bool keep = false;
  napi_get_value_double(env, argv[1], &fh);
  napi_get_value_bool(env, argv[2], &keep);
  struct fuse_file_info fi;
  memset(&fi, 0, sizeof(fi));
  fi.fh = (uint64_t)fh;
  fi.keep_cache = keep ? 1 : 0;
  return result_int(env, fuse_reply_open(get_req(env, argv[0]), &fi));
}

/* replyBuf(req, bytes, length) */
static napi_value js_reply_buf(napi_env env, napi_callback_info info) {
  ARGS(3);
  void *data = NULL;
  size_t len = 0;
  uint32_t want = 0;
  napi_get_buffer_info(env, argv[1], &data, &len);
  napi_get_value_uint32(env, argv[2], &want);
  if (want < len) len = want;
  return result_int(env, fuse_reply_buf(get_req(env, argv[0]), data, len));
}

/* replyWrite(req, count) */
static napi_value js_reply_write(napi_env env, napi_callback_info info) {
  ARGS(2);
  double count = 0;
  napi_get_value_double(env, argv[1], &count);
  return result_int(env, fuse_reply_write(get_req(env, argv[0]), (size_t)count));
}

/* replyReadlink(req, target) */
/* replyLseek(req, offset) */
static napi_value js_reply_lseek(napi_env env, napi_callback_info info) {
  ARGS(2);
  double off = 0;
  napi_get_value_double(env, argv[1], &off);
  return result_int(env, fuse_reply_lseek(get_req(env, argv[0]), (off_t)off));
}

static napi_value js_reply_readlink(napi_env env, napi_callback_info info) {
  ARGS(2);
  char *target = get_string(env, argv[1]);
  if (!target) { napi_throw_type_error(env, NULL, "target must be a string"); return NULL; }
  int res = fuse_reply_readlink(get_req(env, argv[0]), target);
  free(target);
  return result_int(env, res);
}

/* replyStatfs(req, Float64Array [bsize, frsize, blocks, bfree, bavail, files, ffree, favail, fsid, flag, namemax]) */
static napi_value js_reply_statfs(napi_env env, napi_callback_info info) {
  ARGS(2);
  size_t n = 0;
  double *a = get_doubles(env, argv[1], &n);
  if (!a || n < 11) { napi_throw_type_error(env, NULL, "statfs must be a Float64Array of 11"); return NULL; }
  struct statvfs sv;
  memset(&sv, 0, sizeof(sv));
  sv.f_bsize = (unsigned long)a[0];
  sv.f_frsize = (unsigned long)a[1];
  sv.f_blocks = (fsblkcnt_t)a[2];
  sv.f_bfree = (fsblkcnt_t)a[3];
  sv.f_bavail = (fsblkcnt_t)a[4];
  sv.f_files = (fsfilcnt_t)a[5];
  sv.f_ffree = (fsfilcnt_t)a[6];
  sv.f_favail = (fsfilcnt_t)a[7];
  sv.f_fsid = (unsigned long)a[8];
  sv.f_flag = (unsigned long)a[9];
  sv.f_namemax = (unsigned long)a[10];
  return result_int(env, fuse_reply_statfs(get_req(env, argv[0]), &sv));
}

/*
 * replyDir(req, size, names, attrs, firstOffset, plus): packs entries names[i] (attrs at
 * i * ATTR_FIELDS; entry i gets offset firstOffset + i + 1) until `size` bytes are full, sends the
 * buffer and returns how many entries went out (readdirplus: each counts as a lookup, except `.`
 * and `..`, which the kernel does not count).
 */
static napi_value js_reply_dir(napi_env env, napi_callback_info info) {
  ARGS(6);
  fuse_req_t req = get_req(env, argv[0]);
  uint32_t size = 0, count = 0;
  double first = 0;
  bool plus = false;
  size_t n = 0;
  napi_get_value_uint32(env, argv[1], &size);
  napi_get_array_length(env, argv[2], &count);
  double *a = get_doubles(env, argv[3], &n);
  napi_get_value_double(env, argv[4], &first);
  napi_get_value_bool(env, argv[5], &plus);
  if (count > 0 && (!a || n < (size_t)count * ATTR_FIELDS)) { napi_throw_type_error(env, NULL, "attrs too short"); return NULL; }
  char *buf = malloc(size ? size : 1);
  if (!buf) return result_int(env, fuse_reply_err(req, ENOMEM));
  size_t used = 0;
  uint32_t sent = 0;
  for (uint32_t i = 0; i < count; i++) {
    napi_value item;
    napi_get_element(env, argv[2], i, &item);
    char *name = get_string(env, item);
    if (!name) break;
    const double *attr = a + (size_t)i * ATTR_FIELDS;
    off_t next = (off_t)first + i + 1;
    size_t need;
    if (plus) {
      struct fuse_entry_param e;
      fill_entry(attr, &e);
      need = fuse_add_direntry_plus(req, buf + used, size - used, name, &e, next);
    } else {
      struct stat st;
      fill_stat(attr, &st);
      need = fuse_add_direntry(req, buf + used, size - used, name, &st, next);
    }
    free(name);
    if (need > size - used) break;
    used += need;
    sent++;
  }
  fuse_reply_buf(req, buf, used);
  free(buf);
  napi_value v;
  napi_create_uint32(env, sent, &v);
  return v;
}

static void queue_notice(session *s, notice *n) {
  pthread_mutex_lock(&s->nlock);
  if (s->ntail) s->ntail->next = n; else s->nhead = n;
  s->ntail = n;
  pthread_cond_signal(&s->ncond);
  pthread_mutex_unlock(&s->nlock);
}

/* invalInode(session, ino, offset, length): attributes, and pages from offset (length 0: to the end; offset -1: none). */
static napi_value js_inval_inode(napi_env env, napi_callback_info info) {
  ARGS(4);
  session *s = get_session(env, argv[0]);
  double ino = 0, off = 0, len = 0;
  napi_get_value_double(env, argv[1], &ino);
  napi_get_value_double(env, argv[2], &off);
  napi_get_value_double(env, argv[3], &len);
  if (!s || !s->mounted) return NULL;
  notice *n = calloc(1, sizeof(notice));
  if (!n) return NULL;
  n->ino = (uint64_t)ino; n->off = (int64_t)off; n->len = (int64_t)len;
  queue_notice(s, n);
  return NULL;
}

/* invalEntry(session, parent, name): forget the kernel's cached name (present or absent). */
static napi_value js_inval_entry(napi_env env, napi_callback_info info) {
  ARGS(3);
  session *s = get_session(env, argv[0]);
  double parent = 0;
  napi_get_value_double(env, argv[1], &parent);
  if (!s || !s->mounted) return NULL;
  notice *n = calloc(1, sizeof(notice));
  if (!n) return NULL;
  n->entry = 1;
  n->ino = (uint64_t)parent;
  n->name = get_string(env, argv[2]);
  if (!n->name) { free(n); return NULL; }
  queue_notice(s, n);
  return NULL;
}

/*
 * mount(mountpoint, args[], writeback, onBatch, busyWaitMicroseconds) → session. args are libfuse's
 * (e.g. "-o", "fsname=…").
 */
static napi_value js_mount(napi_env env, napi_callback_info info) {
  ARGS(5);
  char *mountpoint = get_string(env, argv[0]);
  uint32_t count = 0;
  bool writeback = false;
  double busy_wait_us = 0;
  napi_get_array_length(env, argv[1], &count);
  napi_get_value_bool(env, argv[2], &writeback);
  napi_get_value_double(env, argv[4], &busy_wait_us);
  char **list = calloc(count + 2, sizeof(char *));
  list[0] = strdup("dofs");
  for (uint32_t i = 0; i < count; i++) {
    napi_value item;
    napi_get_element(env, argv[1], i, &item);
    list[i + 1] = get_string(env, item);
  }
  struct fuse_args args = FUSE_ARGS_INIT((int)count + 1, list);
  session *s = calloc(1, sizeof(session));
  s->writeback = writeback;
  s->busy_wait_ns = busy_wait_us > 0 ? (uint64_t)(busy_wait_us * 1000.0) : 0;
  s->env = env;
  pthread_mutex_init(&s->nlock, NULL);
  pthread_cond_init(&s->ncond, NULL);
  s->se = fuse_session_new(&args, &ops, sizeof(ops), s);
  for (uint32_t i = 0; i <= count; i++) free(list[i]);
  free(list);
  if (!s->se) {
    free(mountpoint);
    free(s);
    napi_throw_error(env, "EINVAL", "fuse_session_new failed (bad mount options?)");
    return NULL;
  }
  if (fuse_session_mount(s->se, mountpoint) != 0) {
    free(mountpoint);
    fuse_session_destroy(s->se);
    free(s);
    napi_throw_error(env, "EIO", "fuse_session_mount failed");
    return NULL;
  }
  free(mountpoint);
  s->mounted = 1;
  int fd = fuse_session_fd(s->se);
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  uv_loop_t *loop = NULL;
  napi_value name;
  napi_create_string_utf8(env, "dofs-fuse3", NAPI_AUTO_LENGTH, &name);
  CHECK(napi_get_uv_event_loop(env, &loop));
  CHECK(napi_create_reference(env, argv[3], 1, &s->callback));
  CHECK(napi_async_init(env, NULL, name, &s->async));
  uv_poll_init(loop, &s->poll, fd);
  s->poll.data = s;
  uv_poll_start(&s->poll, UV_READABLE, on_readable);
  s->polling = 1;
  pthread_create(&s->notifier, NULL, notify, s);
  napi_value external;
  CHECK(napi_create_external(env, s, NULL, NULL, &external));
  return external;
}

static void closed(uv_handle_t *handle) { free(handle->data); }

/*
 * close(session): after the batch holding the end marker (the kernel connection is gone): stops
 * watching, joins the notify thread, unmounts if still mounted, frees libfuse's session. No reply
 * may follow.
 */
static napi_value js_close(napi_env env, napi_callback_info info) {
  ARGS(1);
  session *s = get_session(env, argv[0]);
  if (!s || !s->se) return NULL;
  fuse_session_exit(s->se);
  if (s->polling) { uv_poll_stop(&s->poll); s->polling = 0; }
  pthread_mutex_lock(&s->nlock);
  s->nstop = 1;
  pthread_cond_signal(&s->ncond);
  pthread_mutex_unlock(&s->nlock);
  pthread_join(s->notifier, NULL);
  s->mounted = 0;
  fuse_session_unmount(s->se);
  fuse_session_destroy(s->se);
  s->se = NULL;
  free(s->buf.mem);
  napi_delete_reference(env, s->callback);
  napi_async_destroy(env, s->async);
  /* The session is freed once libuv has let go of its poll handle. */
  uv_close((uv_handle_t *)&s->poll, closed);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"mount", NULL, js_mount, NULL, NULL, NULL, napi_default, NULL},
    {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
    {"replyErr", NULL, js_reply_err, NULL, NULL, NULL, napi_default, NULL},
    {"replyEntry", NULL, js_reply_entry, NULL, NULL, NULL, napi_default, NULL},
    {"replyCreate", NULL, js_reply_create, NULL, NULL, NULL, napi_default, NULL},
    {"replyAttr", NULL, js_reply_attr, NULL, NULL, NULL, napi_default, NULL},
    {"replyOpen", NULL, js_reply_open, NULL, NULL, NULL, napi_default, NULL},
    {"replyBuf", NULL, js_reply_buf, NULL, NULL, NULL, napi_default, NULL},
    {"replyWrite", NULL, js_reply_write, NULL, NULL, NULL, napi_default, NULL},
    {"replyReadlink", NULL, js_reply_readlink, NULL, NULL, NULL, napi_default, NULL},
    {"replyLseek", NULL, js_reply_lseek, NULL, NULL, NULL, napi_default, NULL},
    {"replyStatfs", NULL, js_reply_statfs, NULL, NULL, NULL, napi_default, NULL},
    {"replyDir", NULL, js_reply_dir, NULL, NULL, NULL, napi_default, NULL},
    {"invalInode", NULL, js_inval_inode, NULL, NULL, NULL, napi_default, NULL},
    {"invalEntry", NULL, js_inval_entry, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
