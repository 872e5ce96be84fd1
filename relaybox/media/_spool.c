/* relaybox's recordings spool: one thread of its own opens, writes, finishes and drops the recordings' files
   in the order they were asked for, and never takes the GIL. With 1,000 recorded calls every call hands a
   second of audio over each second: a Python thread doing those writes took the GIL back after every
   system call and cost more than the writes themselves; here a hand-over is a copy into the queue.

   File(part, path) queues the creation of PART (its folders made); write(buffer) queues a copy of BUFFER;
   finish(header) writes HEADER (or nothing: None) at offset 0, closes and renames PART to PATH; drop() closes
   and removes PART; wait() blocks (the GIL released) until this file's queued work is done and raises the
   first error it met as OSError. After an error the file's writes and finish are skipped; drop still runs.
   A File collected before its finish or drop is closed where it is: PART keeps the audio up to then. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { OP_OPEN, OP_WRITE, OP_FINISH, OP_DROP, OP_CLOSE };

typedef struct {
    int fd, error, refs, pending, ended;
    const char *failed; /* the path the error is about */
    char *part, *path;
} State; /* shared by the Python object and its queued ops (refs), under `lock` */

typedef struct Op {
    struct Op *next;
    int kind;
    State *st;
    char *data; /* malloc'd copy, or NULL */
    size_t len;
} Op;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work = PTHREAD_COND_INITIALIZER, done = PTHREAD_COND_INITIALIZER;
static Op *head, *tail;
static int started;

static void release(State *st) { /* with the lock held */
    if (--st->refs == 0) {
        free(st->part);
        free(st->path);
        free(st);
    }
}

static int make_parents(char *path) { /* mkdir -p of PATH's folder; PATH is restored */
    for (char *p = strchr(path + 1, '/'); p; p = strchr(p + 1, '/')) {
        *p = '\0';
        int r = mkdir(path, 0755);
        int e = errno;
        *p = '/';
        if (r < 0 && e != EEXIST)
            return e;
    }
    return 0;
}

static int write_all(int fd, const char *data, size_t len, off_t *at) { /* at: pwrite there, else write */
    while (len) {
        ssize_t n = at ? pwrite(fd, data, len, *at) : write(fd, data, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno;
        }
        data += n;
        len -= (size_t)n;
        if (at)
            *at += n;
    }
    return 0;
}

static void run(Op *op) { /* without the lock: only this thread touches fd, error and failed once queued */
    State *st = op->st;
    int e = 0;
    const char *about = st->part;
    switch (op->kind) {
    case OP_OPEN:
        e = make_parents(st->part);
        if (!e) {
            st->fd = open(st->part, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
            e = st->fd < 0 ? errno : 0;
        }
        break;
    case OP_WRITE:
        if (!st->error)
            e = write_all(st->fd, op->data, op->len, NULL);
        break;
    case OP_FINISH:
        if (!st->error) {
            off_t zero = 0;
            e = op->data ? write_all(st->fd, op->data, op->len, &zero) : 0;
            if (close(st->fd) < 0 && !e)
                e = errno;
            st->fd = -1;
            if (!e && rename(st->part, st->path) < 0) {
                e = errno;
                about = st->path;
            }
        }
        break;
    case OP_DROP:
    case OP_CLOSE:
        if (st->fd >= 0)
            close(st->fd);
        st->fd = -1;
        if (op->kind == OP_DROP)
            unlink(st->part);
        break;
    }
    if (e && !st->error) {
        st->error = e;
        st->failed = about;
    }
}

static void *spool_thread(void *arg) {
    pthread_setname_np(pthread_self(), "relaybox-spool");
    pthread_mutex_lock(&lock);
    for (;;) {
        while (!head)
            pthread_cond_wait(&work, &lock);
        Op *op = head;
        head = op->next;
        if (!head)
            tail = NULL;
        pthread_mutex_unlock(&lock);
        run(op);
        free(op->data);
        pthread_mutex_lock(&lock);
        op->st->pending--;
        release(op->st);
        free(op);
        pthread_cond_broadcast(&done);
    }
    return NULL;
}

/* queue KIND for ST with a copy of DATA (NULL: none); -1 with an exception set */
static int submit(State *st, int kind, const char *data, size_t len) {
    Op *op = calloc(1, sizeof *op);
    if (op && data) {
        op->data = malloc(len ? len : 1);
        if (op->data)
            memcpy(op->data, data, len);
    }
    if (!op || (data && !op->data)) {
        free(op);
        PyErr_NoMemory();
        return -1;
    }
    op->kind = kind;
    op->st = st;
    op->len = len;
    pthread_mutex_lock(&lock);
    if (!started) {
        pthread_t thread;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        int r = pthread_create(&thread, &attr, spool_thread, NULL);
        pthread_attr_destroy(&attr);
        if (r != 0) {
            pthread_mutex_unlock(&lock);
            free(op->data);
            free(op);
            errno = r;
            PyErr_SetFromErrno(PyExc_OSError);
            return -1;
        }
        started = 1;
    }
    st->refs++;
    st->pending++;
    if (tail)
        tail->next = op;
    else
        head = op;
    tail = op;
    pthread_cond_signal(&work);
    pthread_mutex_unlock(&lock);
    return 0;
}

typedef struct {
    PyObject_HEAD
    State *st;
} File;

static int File_init(File *self, PyObject *args, PyObject *kw) {
    const char *part, *path;
    if (self->st) {
        PyErr_SetString(PyExc_RuntimeError, "File is already initialised");
        return -1;
    }
    if (!PyArg_ParseTuple(args, "ss", &part, &path))
        return -1;
    State *st = calloc(1, sizeof *st);
    if (st) {
        st->part = strdup(part);
        st->path = strdup(path);
    }
    if (!st || !st->part || !st->path) {
        if (st) {
            free(st->part);
            free(st->path);
        }
        free(st);
        PyErr_NoMemory();
        return -1;
    }
    st->fd = -1;
    st->refs = 1;
    self->st = st;
    return submit(st, OP_OPEN, NULL, 0);
}

static int check_init(File *self) {
    if (!self->st) {
        PyErr_SetString(PyExc_RuntimeError, "File is not initialised");
        return -1;
    }
    return 0;
}

static int check_open(File *self) {
    if (check_init(self) < 0)
        return -1;
    if (self->st->ended) {
        PyErr_SetString(PyExc_ValueError, "the file is already finished or dropped");
        return -1;
    }
    return 0;
}

static PyObject *File_write(File *self, PyObject *arg) {
    Py_buffer b;
    if (check_open(self) < 0 || PyObject_GetBuffer(arg, &b, PyBUF_C_CONTIGUOUS) < 0)
        return NULL;
    int r = b.len ? submit(self->st, OP_WRITE, b.buf, (size_t)b.len) : 0;
    PyBuffer_Release(&b);
    if (r < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *File_finish(File *self, PyObject *arg) {
    Py_buffer b = {0};
    if (check_open(self) < 0 || (arg != Py_None && PyObject_GetBuffer(arg, &b, PyBUF_C_CONTIGUOUS) < 0))
        return NULL;
    int r = submit(self->st, OP_FINISH, arg != Py_None ? b.buf : NULL, (size_t)b.len);
    if (arg != Py_None)
        PyBuffer_Release(&b);
    if (r < 0)
        return NULL;
    self->st->ended = 1;
    Py_RETURN_NONE;
}

static PyObject *File_drop(File *self, PyObject *Py_UNUSED(ignored)) {
    if (check_init(self) < 0 || submit(self->st, OP_DROP, NULL, 0) < 0)
        return NULL;
    self->st->ended = 1;
    Py_RETURN_NONE;
}

static PyObject *File_wait(File *self, PyObject *Py_UNUSED(ignored)) {
    if (check_init(self) < 0)
        return NULL;
    State *st = self->st;
    int error;
    const char *failed;
    Py_BEGIN_ALLOW_THREADS
    pthread_mutex_lock(&lock);
    while (st->pending)
        pthread_cond_wait(&done, &lock);
    error = st->error;
    failed = st->failed;
    pthread_mutex_unlock(&lock);
    Py_END_ALLOW_THREADS
    if (error) {
        errno = error;
        return PyErr_SetFromErrnoWithFilename(PyExc_OSError, failed);
    }
    Py_RETURN_NONE;
}

static void File_dealloc(File *self) {
    State *st = self->st;
    if (st) {
        if (!st->ended) {
            PyObject *type, *value, *traceback; /* an exception may be on its way: keep it */
            PyErr_Fetch(&type, &value, &traceback);
            if (submit(st, OP_CLOSE, NULL, 0) < 0)
                PyErr_Clear(); /* out of memory: the descriptor stays open */
            PyErr_Restore(type, value, traceback);
        }
        pthread_mutex_lock(&lock);
        release(st);
        pthread_mutex_unlock(&lock);
    }
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMethodDef File_methods[] = {
    {"write", (PyCFunction)File_write, METH_O, "write(buffer): queue a copy of BUFFER's bytes"},
    {"finish", (PyCFunction)File_finish, METH_O, "finish(header|None): header at 0, close, rename part -> path"},
    {"drop", (PyCFunction)File_drop, METH_NOARGS, "drop(): close and remove the part file"},
    {"wait", (PyCFunction)File_wait, METH_NOARGS, "wait(): until this file's queued work is done; OSError"},
    {NULL},
};

static PyTypeObject FileType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "relaybox.media._spool.File",
    .tp_basicsize = sizeof(File),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)File_init,
    .tp_dealloc = (destructor)File_dealloc,
    .tp_methods = File_methods,
    .tp_doc = "A recording's file, written by the spool's thread in the order asked",
};

static void after_fork(void) { /* the child has no spool thread: it starts its own, the parent's queue forgotten */
    pthread_mutex_init(&lock, NULL);
    pthread_cond_init(&work, NULL);
    pthread_cond_init(&done, NULL);
    head = tail = NULL;
    started = 0;
}

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_spool", "relaybox's recordings spool", -1, NULL};

PyMODINIT_FUNC PyInit__spool(void) {
    if (PyType_Ready(&FileType) < 0 || pthread_atfork(NULL, NULL, after_fork) != 0)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (!m)
        return NULL;
    Py_INCREF(&FileType);
    if (PyModule_AddObject(m, "File", (PyObject *)&FileType) < 0) {
        Py_DECREF(&FileType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
