/* relaybox's RTP hot path in C: what the 20 ms clock does for every call on every tick.
 *
 * Python keeps the logic of a call's media (what to play, detectors, recordings, RFC 4733 keys, RTCP,
 * symmetric-RTP latching, SSRC changes); this module does the per-packet and per-frame work it would
 * otherwise repeat thousands of times a second in the interpreter, on a thread of its own:
 *
 *   JitterBuffer  G.711 payloads by RTP timestamp, one 20 ms frame out per tick (see jitter.py's docstring)
 *   Reception     RFC 3550 A.1/A.8 loss and interarrival-jitter counters (rtcp.ReceptionStats extends it)
 *   dtmf_key      the in-band DTMF key of a 40 ms window (see tones.py's docstring for the tests it passes)
 *   Core          every endpoint's sockets in one epoll and the 20 ms clock (see the Core section below)
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static inline int32_t ts_delta(uint32_t a, uint32_t b) { return (int32_t)(b - a); } /* b - a, 32-bit space */
static inline int seq_delta(uint16_t a, uint16_t b) { return (int16_t)(uint16_t)(b - a); }

/* -- in-band DTMF -------------------------------------------------------------------------------------
   A 40 ms window's projections on the eight DTMF frequencies are those of its two 20 ms frames, the second
   rotated by its 20 ms phase: so each frame is projected once, when it arrives, and the window costs eight
   complex multiplications. */

#define WINDOW 320
#define MIN_ENERGY (1e4 * WINDOW) /* about -50 dBm0: quieter windows hold no key */
static const double DTMF_HZ[8] = {697.0, 770.0, 852.0, 941.0, 1209.0, 1336.0, 1477.0, 1633.0};
static float KERNEL[160][16]; /* cos | -sin of each frequency at each sample of a frame */
static double ROT_RE[8], ROT_IM[8]; /* e^(-i w 160) */

static void dtmf_init(void) {
    for (int f = 0; f < 8; f++) {
        double w = 2.0 * 3.14159265358979323846 * DTMF_HZ[f] / 8000.0;
        for (int t = 0; t < 160; t++) {
            KERNEL[t][f] = (float)cos(w * t);
            KERNEL[t][8 + f] = (float)-sin(w * t);
        }
        ROT_RE[f] = cos(w * 160);
        ROT_IM[f] = -sin(w * 160);
    }
}

static void project(const int16_t *x, float out[16]) {
    float acc[16] = {0};
    for (int t = 0; t < 160; t++) {
        float v = (float)x[t];
        for (int k = 0; k < 16; k++)
            acc[k] += v * KERNEL[t][k];
    }
    memcpy(out, acc, sizeof acc);
}

static double frame_energy(const int16_t *x) {
    double e = 0.0;
    for (int t = 0; t < 160; t++)
        e += (double)x[t] * x[t];
    return e;
}

/* The key (index into "123A456B789C*0#D") whose two tones carry the window of frames A then B (their
   projections), -1 for none: its tones carry 75% of the energy, each row/column tone 15% with a twist within
   8 dB, and stands 9 dB above the other tones of its group (speech and music fail that). */
static int dtmf_classify(const float a[16], const float b[16], double energy) {
    if (energy < MIN_ENERGY)
        return -1;
    double power[8];
    for (int f = 0; f < 8; f++) {
        double re = a[f] + (ROT_RE[f] * b[f] - ROT_IM[f] * b[8 + f]);
        double im = a[8 + f] + (ROT_RE[f] * b[8 + f] + ROT_IM[f] * b[f]);
        power[f] = (re * re + im * im) * 2.0 / (WINDOW * energy);
    }
    int best[2];
    double top[2], second[2];
    for (int g = 0; g < 2; g++) {
        const double *p = power + 4 * g;
        best[g] = 0;
        for (int k = 1; k < 4; k++)
            if (p[k] > p[best[g]])
                best[g] = k;
        top[g] = p[best[g]];
        second[g] = 0.0;
        for (int k = 0; k < 4; k++)
            if (k != best[g] && p[k] > second[g])
                second[g] = p[k];
    }
    double lo = top[0] < top[1] ? top[0] : top[1], hi = top[0] < top[1] ? top[1] : top[0];
    if (top[0] + top[1] >= 0.75 && lo >= 0.15 && hi <= 6.3 * lo && second[0] <= top[0] / 8 && second[1] <= top[1] / 8)
        return best[0] * 4 + best[1];
    return -1;
}

/* dtmf_key(window) -> key index or -1: WINDOW is 320 int16 samples (40 ms) */
static PyObject *dtmf_key(PyObject *module, PyObject *arg) {
    Py_buffer b;
    if (PyObject_GetBuffer(arg, &b, PyBUF_C_CONTIGUOUS) < 0)
        return NULL;
    if (b.len != WINDOW * 2) {
        PyBuffer_Release(&b);
        PyErr_SetString(PyExc_ValueError, "dtmf_key: a window is 320 int16 samples");
        return NULL;
    }
    const int16_t *x = b.buf;
    float pa[16], pb[16];
    project(x, pa);
    project(x + 160, pb);
    int key = dtmf_classify(pa, pb, frame_energy(x) + frame_energy(x + 160));
    PyBuffer_Release(&b);
    return PyLong_FromLong(key);
}

/* A JitterBuffer or Reception in a Core is shared with the core's clock thread (`lock` is the core's, NULL
   outside one): Python's calls take it, releasing the GIL while they wait, so that the clock never waits on
   the interpreter. A caller that has to wait says so (`waiters`): the clock, which holds the lock for a whole
   tick (10 ms with 1,000 calls), lets it in between two groups of slots (`let_python_in`: it sleeps on
   `handed` until the last waiter is done), so that the event loop never waits for more than a group. */
typedef struct {
    pthread_mutex_t mutex;
    pthread_cond_t handed;
    atomic_int waiters;
    int handing; /* the clock sleeps on `handed` until the waiters are done */
} SharedLock;

static void lock_shared(SharedLock *lock) {
    if (lock && pthread_mutex_trylock(&lock->mutex) != 0) {
        atomic_fetch_add(&lock->waiters, 1);
        Py_BEGIN_ALLOW_THREADS
        pthread_mutex_lock(&lock->mutex);
        Py_END_ALLOW_THREADS
        atomic_fetch_sub(&lock->waiters, 1);
    }
}

static void unlock_shared(SharedLock *lock) {
    if (!lock)
        return;
    if (lock->handing && !atomic_load(&lock->waiters)) {
        lock->handing = 0;
        pthread_cond_signal(&lock->handed);
    }
    pthread_mutex_unlock(&lock->mutex);
}

/* -- JitterBuffer ------------------------------------------------------------------------------- */

enum { SLOT_EMPTY = 0, SLOT_WHOLE = 1, SLOT_PART = 2 }; /* a whole packet's frame, or pieces of several */

typedef struct {
    PyObject_HEAD
    int frame, delay, max, idle_ticks, resync; /* in samples (idle_ticks in ticks) */
    int nslots;                                /* ring size: every frame from playout to playout + max */
    uint8_t fill;                              /* the byte that is silence in the codec */
    int has_ssrc, playing;
    uint32_t ssrc, playout, newest;
    int head;      /* ring index of the frame at `playout` */
    int filled;    /* slots not empty */
    int empty_ticks;
    uint8_t *state;
    uint8_t *data; /* nslots * frame bytes */
    unsigned long long received, played, concealed, late, duplicates, resets, overflows;
    SharedLock *lock;
} JitterBuffer;

static void jb_reset(JitterBuffer *jb) {
    jb->has_ssrc = jb->playing = 0;
    jb->filled = jb->empty_ticks = 0;
    jb->head = 0;
    memset(jb->state, 0, (size_t)jb->nslots);
}

static int JitterBuffer_init(JitterBuffer *self, PyObject *args, PyObject *kw) {
    static char *names[] = {"frame", "delay_frames", "max_frames", "idle_ticks", "resync", NULL};
    int frame = 160, delay = 2, max = 15, idle = 10, resync = 16000;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|iiiii", names, &frame, &delay, &max, &idle, &resync))
        return -1;
    if (frame <= 0 || delay < 0 || max < 1 || max > 1000 || idle < 1 || resync < frame) {
        PyErr_SetString(PyExc_ValueError, "bad jitter buffer sizes");
        return -1;
    }
    if (self->lock) {
        PyErr_SetString(PyExc_RuntimeError, "the jitter buffer is in use by an RTP core");
        return -1;
    }
    PyMem_Free(self->state);
    PyMem_Free(self->data);
    self->frame = frame;
    self->delay = delay * frame;
    self->max = max * frame;
    self->idle_ticks = idle;
    self->resync = resync;
    self->nslots = max + 1;
    self->fill = 0xFF;
    self->state = PyMem_Calloc((size_t)self->nslots, 1);
    self->data = PyMem_Malloc((size_t)self->nslots * (size_t)frame);
    if (!self->state || !self->data) {
        PyErr_NoMemory();
        return -1;
    }
    self->received = self->played = self->concealed = self->late = 0;
    self->duplicates = self->resets = self->overflows = 0;
    jb_reset(self);
    return 0;
}

static void JitterBuffer_dealloc(JitterBuffer *self) {
    PyMem_Free(self->state);
    PyMem_Free(self->data);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* drop the frame at playout and move on one frame */
static void jb_advance(JitterBuffer *jb) {
    if (jb->state[jb->head] != SLOT_EMPTY) {
        jb->state[jb->head] = SLOT_EMPTY;
        jb->filled--;
    }
    jb->head = (jb->head + 1) % jb->nslots;
    jb->playout += (uint32_t)jb->frame;
}

/* Audio of one packet (LEN samples, one byte each) that starts at TS. */
static void jb_push(JitterBuffer *jb, uint32_t ssrc, uint32_t ts, const uint8_t *payload, int len) {
    int f = jb->frame;
    jb->received++;
    if (len <= 0)
        return;
    int jump = jb->playing && llabs((long long)ts_delta(jb->playout, ts)) > jb->resync;
    if (!jb->has_ssrc || ssrc != jb->ssrc || jump) {
        if (jb->has_ssrc)
            jb->resets++;
        jb_reset(jb);
        jb->has_ssrc = 1;
        jb->ssrc = ssrc;
    }
    if (!jb->playing) {
        jb->playing = 1;
        jb->playout = ts - (uint32_t)jb->delay;
        jb->newest = jb->playout;
        jb->head = 0;
    }
    int64_t rel = ts_delta(jb->playout, ts);
    int64_t end = rel + len;
    if (end <= 0) {
        jb->late++;
        return;
    }
    /* the sender runs ahead of us (clock drift, a burst after a stall): the oldest audio goes first, so
       that the newest frame this packet writes fits in the buffer */
    int64_t last = (end - 1) - ((end - 1) % f);
    int64_t newest = ts_delta(jb->playout, jb->newest);
    if (last > newest)
        newest = last;
    while (newest > jb->max) {
        jb->overflows++;
        jb_advance(jb);
        rel -= f;
        end -= f;
        newest -= f;
    }
    if (end <= 0)
        return;
    int64_t begin = rel > 0 ? rel : 0;
    int wrote = 0;
    for (int64_t base = begin - begin % f; base < end; base += f) {
        int64_t lo = base > begin ? base : begin;
        int64_t hi = base + f < end ? base + f : end;
        int idx = (int)((jb->head + base / f) % jb->nslots);
        uint8_t *slot = jb->data + (size_t)idx * (size_t)f;
        int whole = lo == base && hi == base + f;
        if (jb->state[idx] == SLOT_EMPTY) {
            if (!whole)
                memset(slot, jb->fill, (size_t)f);
            jb->state[idx] = whole ? SLOT_WHOLE : SLOT_PART;
            jb->filled++;
        } else if (jb->state[idx] == SLOT_WHOLE || whole) {
            jb->duplicates++; /* this frame came already */
            continue;
        }
        memcpy(slot + (lo - base), payload + (lo - rel), (size_t)(hi - lo));
        wrote = 1;
        if (ts_delta(jb->playout, jb->newest) < base)
            jb->newest = jb->playout + (uint32_t)base;
    }
    if (wrote)
        jb->empty_ticks = 0;
}

enum { POP_NONE = 0, POP_FRAME = 1, POP_MISSING = 2 };

/* The frame due now into OUT (FRAME bytes): POP_FRAME, POP_MISSING (lost or late: OUT is silence) or
   POP_NONE (nothing playing). */
static int jb_pop(JitterBuffer *jb, uint8_t *out) {
    if (!jb->playing)
        return POP_NONE;
    int idx = jb->head;
    int had = jb->state[idx] != SLOT_EMPTY;
    if (had)
        memcpy(out, jb->data + (size_t)idx * (size_t)jb->frame, (size_t)jb->frame);
    jb_advance(jb);
    if (!had) {
        jb->empty_ticks++;
        if (!jb->filled && jb->empty_ticks >= jb->idle_ticks) { /* paused: restart on the next packet */
            jb->playing = 0;
            return POP_NONE;
        }
        jb->concealed++;
        memset(out, jb->fill, (size_t)jb->frame);
        return POP_MISSING;
    }
    jb->empty_ticks = 0;
    jb->played++;
    return POP_FRAME;
}

static PyObject *JitterBuffer_push(JitterBuffer *self, PyObject *args) {
    unsigned int ssrc, ts;
    Py_buffer buf;
    if (!PyArg_ParseTuple(args, "IIy*", &ssrc, &ts, &buf))
        return NULL;
    if (buf.len > 65536) {
        PyBuffer_Release(&buf);
        PyErr_SetString(PyExc_ValueError, "payload too long");
        return NULL;
    }
    SharedLock *lock = self->lock;
    lock_shared(lock);
    jb_push(self, ssrc, ts, buf.buf, (int)buf.len);
    unlock_shared(lock);
    PyBuffer_Release(&buf);
    Py_RETURN_NONE;
}

static PyObject *JitterBuffer_pop(JitterBuffer *self, PyObject *Py_UNUSED(ignored)) {
    PyObject *out = PyBytes_FromStringAndSize(NULL, self->frame);
    if (!out)
        return NULL;
    SharedLock *lock = self->lock;
    lock_shared(lock);
    int popped = jb_pop(self, (uint8_t *)PyBytes_AS_STRING(out));
    unlock_shared(lock);
    if (popped == POP_NONE) {
        Py_DECREF(out);
        Py_RETURN_NONE;
    }
    return out;
}

static PyObject *JitterBuffer_reset(JitterBuffer *self, PyObject *Py_UNUSED(ignored)) {
    SharedLock *lock = self->lock;
    lock_shared(lock);
    jb_reset(self);
    unlock_shared(lock);
    Py_RETURN_NONE;
}

static PyObject *JitterBuffer_counters(JitterBuffer *self, PyObject *Py_UNUSED(ignored)) {
    return Py_BuildValue("{sKsKsKsKsKsKsK}", "received", self->received, "played", self->played, "concealed",
                         self->concealed, "late", self->late, "duplicates", self->duplicates, "resets", self->resets,
                         "overflows", self->overflows);
}

static PyObject *JitterBuffer_get_fill(JitterBuffer *self, void *Py_UNUSED(c)) {
    return PyBytes_FromStringAndSize((const char *)&self->fill, 1);
}

static int JitterBuffer_set_fill(JitterBuffer *self, PyObject *value, void *Py_UNUSED(c)) {
    if (!value || !PyBytes_Check(value) || PyBytes_GET_SIZE(value) != 1) {
        PyErr_SetString(PyExc_TypeError, "fill is one byte");
        return -1;
    }
    self->fill = (uint8_t)PyBytes_AS_STRING(value)[0]; /* one byte: the clock sees the old or the new */
    return 0;
}

static PyObject *JitterBuffer_get_playout(JitterBuffer *self, void *Py_UNUSED(c)) {
    if (!self->playing)
        Py_RETURN_NONE;
    return PyLong_FromUnsignedLong(self->playout);
}

static PyMethodDef JitterBuffer_methods[] = {
    {"push", (PyCFunction)JitterBuffer_push, METH_VARARGS, "push(ssrc, timestamp, payload): one packet's audio"},
    {"pop", (PyCFunction)JitterBuffer_pop, METH_NOARGS, "the frame due now (bytes), or None while nothing plays"},
    {"reset", (PyCFunction)JitterBuffer_reset, METH_NOARGS, "forget the stream"},
    {"counters", (PyCFunction)JitterBuffer_counters, METH_NOARGS, "the statistics, as a dict"},
    {NULL}};

static PyGetSetDef JitterBuffer_getset[] = {
    {"fill", (getter)JitterBuffer_get_fill, (setter)JitterBuffer_set_fill, "the codec's silence byte", NULL},
    {"playout", (getter)JitterBuffer_get_playout, NULL, "timestamp of the next frame to play (None: idle)", NULL},
    {NULL}};

static PyTypeObject JitterBufferType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "relaybox.media._rtpcore.JitterBuffer",
    .tp_basicsize = sizeof(JitterBuffer),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "G.711 payloads by RTP timestamp; one frame out per tick",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)JitterBuffer_init,
    .tp_dealloc = (destructor)JitterBuffer_dealloc,
    .tp_methods = JitterBuffer_methods,
    .tp_getset = JitterBuffer_getset,
};

/* -- Reception ------------------------------------------------------------------------------------ */

typedef struct {
    PyObject_HEAD
    int rate;
    int has_ssrc, has_transit;
    uint32_t ssrc;
    long long base_seq, max_seq, cycles, received;
    double jitter, transit;
    SharedLock *lock;
} Reception;

static void reception_update(Reception *r, uint32_t ssrc, uint16_t seq, uint32_t ts, double arrival) {
    if (!r->has_ssrc || ssrc != r->ssrc) {
        r->cycles = r->received = 0;
        r->jitter = 0.0;
        r->has_transit = 0;
        r->has_ssrc = 1;
        r->ssrc = ssrc;
        r->base_seq = r->max_seq = seq;
    } else if (seq_delta((uint16_t)r->max_seq, seq) > 0) {
        if (seq < r->max_seq)
            r->cycles += 1 << 16;
        r->max_seq = seq;
    }
    r->received++;
    double transit = arrival * r->rate - (double)ts;
    if (r->has_transit) {
        double d = transit - r->transit;
        if (d < 0)
            d = -d;
        r->jitter += (d - r->jitter) / 16;
    }
    r->transit = transit;
    r->has_transit = 1;
}

static int Reception_init(Reception *self, PyObject *args, PyObject *kw) {
    static char *names[] = {"rate", NULL};
    int rate = 8000;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|i", names, &rate))
        return -1;
    if (self->lock) {
        PyErr_SetString(PyExc_RuntimeError, "the reception counters are in use by an RTP core");
        return -1;
    }
    self->rate = rate;
    self->has_ssrc = self->has_transit = 0;
    self->base_seq = self->max_seq = self->cycles = self->received = 0;
    self->jitter = 0.0;
    return 0;
}

static PyObject *Reception_update(Reception *self, PyObject *args) {
    unsigned int ssrc, ts;
    int seq;
    double arrival;
    if (!PyArg_ParseTuple(args, "IiId", &ssrc, &seq, &ts, &arrival))
        return NULL;
    SharedLock *lock = self->lock;
    lock_shared(lock);
    reception_update(self, ssrc, (uint16_t)seq, ts, arrival);
    unlock_shared(lock);
    Py_RETURN_NONE;
}

static PyObject *Reception_get_ssrc(Reception *self, void *Py_UNUSED(c)) {
    if (!self->has_ssrc)
        Py_RETURN_NONE;
    return PyLong_FromUnsignedLong(self->ssrc);
}

static PyMemberDef Reception_members[] = {
    {"rate", T_INT, offsetof(Reception, rate), READONLY, NULL},
    {"base_seq", T_LONGLONG, offsetof(Reception, base_seq), READONLY, NULL},
    {"max_seq", T_LONGLONG, offsetof(Reception, max_seq), READONLY, NULL},
    {"cycles", T_LONGLONG, offsetof(Reception, cycles), READONLY, NULL},
    {"received", T_LONGLONG, offsetof(Reception, received), READONLY, NULL},
    {"jitter", T_DOUBLE, offsetof(Reception, jitter), READONLY, NULL},
    {NULL}};

static PyMethodDef Reception_methods[] = {
    {"update", (PyCFunction)Reception_update, METH_VARARGS, "update(ssrc, seq, timestamp, arrival): one packet"},
    {NULL}};

static PyGetSetDef Reception_getset[] = {
    {"ssrc", (getter)Reception_get_ssrc, NULL, "the source counted (None before the first packet)", NULL},
    {NULL}};

static PyTypeObject ReceptionType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "relaybox.media._rtpcore.Reception",
    .tp_basicsize = sizeof(Reception),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "loss and interarrival jitter of a received stream (RFC 3550 A.1, A.8)",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Reception_init,
    .tp_members = Reception_members,
    .tp_methods = Reception_methods,
    .tp_getset = Reception_getset,
};

/* -- Core ---------------------------------------------------------------------------------------------
   The 20 ms clock is the core's own thread (`start`): it never takes the GIL, so a collection of the
   interpreter's garbage, a slow callback or a busy event loop does not delay a packet. Each tick, under the
   core's lock: every waiting datagram is read (the usual packets into the jitter buffers, the others kept for
   Python), and for every started slot the due frame is decoded and analysed, one packet is sent (the head of
   the slot's queue of frames Python prepared, else digital silence), and the frames each way are recorded.
   What Python must see (the frames of the slots it is busy with, a key heard, the other datagrams) waits in
   the outbox, and the eventfd (`fd`) becomes readable; Python `collect`s it and `push`es the next frames of
   its busy slots, a few ticks ahead of the clock. Python's calls take the lock too, releasing the GIL while
   they wait. */

typedef struct {
    int16_t *data;
    size_t len, cap;
} Pcm;

static int pcm_append(Pcm *p, const int16_t *left, const int16_t *right) { /* a frame each way, interleaved;
                                                                                NULL: zeros */
    if (p->len + 320 > p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 320 * 256;
        int16_t *grown = realloc(p->data, cap * sizeof(int16_t)); /* the clock's thread: no PyMem here */
        if (!grown)
            return -1;
        p->data = grown;
        p->cap = cap;
    }
    static const int16_t zeros[160];
    const int16_t *l = left ? left : zeros, *r = right ? right : zeros;
    int16_t *out = p->data + p->len;
    for (int k = 0; k < 160; k++) {
        out[2 * k] = l[k];
        out[2 * k + 1] = r[k];
    }
    p->len += 320;
    return 0;
}

static void pcm_free(Pcm *p) {
    free(p->data);
    p->data = NULL;
    p->len = p->cap = 0;
}

enum { OUT_SILENCE = 0, OUT_AUDIO = 1, OUT_EVENT = 2 };
#define QUEUE 16 /* frames Python may prepare ahead of a slot's clock */

typedef struct {
    uint8_t kind, transmit, marker, first, end, pt, len;
    int16_t pcm[160];   /* OUT_AUDIO */
    uint8_t payload[16]; /* OUT_EVENT: an RFC 4733 payload */
} Out;

typedef struct {
    int in_use, fd, rtcp_fd;
    JitterBuffer *jitter; /* owned references */
    Reception *reception;
    /* the usual packet, as Python configured it (`configure`) */
    int started, hold, latched, has_remote_ssrc, pt, law;
    uint32_t remote_ssrc;
    struct sockaddr_in remote;
    int has_remote;
    /* counters of packets Python would have counted */
    double source_at;
    unsigned long long packets_received, bytes_received;
    /* sending */
    uint32_t ssrc, ts, event_ts;
    uint16_t seq;
    int marker;
    unsigned long long sent_packets, sent_octets;
    Out queue[QUEUE];
    int head, queued;
    /* Python hears the slot while `busy` (and prepares its frames); `analyse`: energy and DTMF of each frame,
       from the previous one's projection and energy (and the previous frame itself, for Python's tone
       analysis when `tones`) */
    int busy, flowing, analyse, tones; /* flowing: the last frame sent was Python's audio (or a key) */
    float proj[16];
    double energy;
    int16_t prev[160];
    /* recording: this tick's frames each way (zeros unless `has_`), and every tick's so far, interleaved
       (speak: what the far end sent, listen: what we sent) */
    int capture, has_rx, has_tx, capture_failed;
    int16_t rx[160], tx[160];
    Pcm both;
} Slot;

/* what Python hears of a slot's tick (numpy: endpoint.RECORD) */
typedef struct {
    int32_t slot;
    int8_t key;
    uint8_t audio, busy, tones;
    double energy;
    int16_t frame[160];
    int16_t prev[160];
} Record;

typedef struct {
    int slot, rtcp, len;
    struct sockaddr_in from;
    uint8_t *data;
} Other;

#define MAX_RECORDS 65536 /* about 1.3 s of 1,000 busy slots: beyond, Python is not keeping up */
#define MAX_OTHERS 16384
#define TICK_NS 20000000LL

typedef struct {
    PyObject_HEAD
    int ready, epfd, efd;
    SharedLock lock;
    pthread_cond_t wake;
    pthread_t thread;
    int running, signalled, realtime;
    Slot *slots;
    int nslots, cap;
    int16_t decode[2][256];
    uint8_t encode[2][65536]; /* by the sample's bits as uint16 */
    Record *records;
    int nrecords, caprecords;
    Other *others;
    int nothers, capothers;
    /* statistics */
    unsigned long long ticks, late_ticks, frames, busy_frames, underruns, dropped, handovers;
    double max_late, cpu, signalled_at, max_lag;
} Core;

static void core_lock(Core *c) {
    lock_shared(&c->lock);
}

static int Core_init(Core *self, PyObject *args, PyObject *kw) {
    Py_buffer tables[4];
    if (self->ready) {
        PyErr_SetString(PyExc_RuntimeError, "Core is already initialised");
        return -1;
    }
    if (!PyArg_ParseTuple(args, "y*y*y*y*", &tables[0], &tables[1], &tables[2], &tables[3]))
        return -1;
    int ok = tables[0].len == 512 && tables[1].len == 512 && tables[2].len == 65536 && tables[3].len == 65536;
    if (ok) {
        memcpy(self->decode[0], tables[0].buf, 512);
        memcpy(self->decode[1], tables[1].buf, 512);
        memcpy(self->encode[0], tables[2].buf, 65536);
        memcpy(self->encode[1], tables[3].buf, 65536);
    }
    for (int i = 0; i < 4; i++)
        PyBuffer_Release(&tables[i]);
    if (!ok) {
        PyErr_SetString(PyExc_ValueError, "Core(ulaw_decode, alaw_decode, ulaw_encode, alaw_encode): G.711 tables");
        return -1;
    }
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_mutex_init(&self->lock.mutex, NULL);
    pthread_cond_init(&self->lock.handed, &attr);
    atomic_init(&self->lock.waiters, 0);
    pthread_cond_init(&self->wake, &attr);
    pthread_condattr_destroy(&attr);
    self->ready = 1;
    self->epfd = epoll_create1(EPOLL_CLOEXEC);
    self->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (self->epfd < 0 || self->efd < 0) {
        PyErr_SetFromErrno(PyExc_OSError);
        return -1;
    }
    return 0;
}

static void core_stop(Core *c);
static void close_fds(int epfd, Slot *s);

static void free_others(Other *others, int n) {
    for (int i = 0; i < n; i++)
        free(others[i].data);
}

static void Core_dealloc(Core *self) {
    if (self->ready)
        core_stop(self);
    for (int i = 0; i < self->nslots; i++) {
        Slot *s = &self->slots[i];
        if (s->in_use)
            close_fds(self->epfd, s);
        if (s->jitter)
            s->jitter->lock = NULL;
        if (s->reception)
            s->reception->lock = NULL;
        Py_XDECREF(s->jitter);
        Py_XDECREF(s->reception);
        pcm_free(&s->both);
    }
    PyMem_Free(self->slots);
    free(self->records);
    free_others(self->others, self->nothers);
    free(self->others);
    if (self->epfd > 0)
        close(self->epfd);
    if (self->efd > 0)
        close(self->efd);
    if (self->ready) {
        pthread_mutex_destroy(&self->lock.mutex);
        pthread_cond_destroy(&self->lock.handed);
        pthread_cond_destroy(&self->wake);
    }
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static Slot *core_slot(Core *self, int id) { /* with the lock held */
    if (id < 0 || id >= self->nslots || !self->slots[id].in_use) {
        PyErr_Format(PyExc_KeyError, "no RTP slot %d", id);
        return NULL;
    }
    return &self->slots[id];
}

static void close_fds(int epfd, Slot *s) {
    /* out of the epoll first: while Python's descriptor of the same socket is open, closing ours would not */
    int fds[2] = {s->fd, s->rtcp_fd};
    for (int i = 0; i < 2; i++)
        if (fds[i] >= 0) {
            epoll_ctl(epfd, EPOLL_CTL_DEL, fds[i], NULL);
            close(fds[i]);
        }
    s->fd = s->rtcp_fd = -1;
}

static int watch(Core *self, int fd, int id, int rtcp) {
    if (fd < 0)
        return 0;
    struct epoll_event ev = {.events = EPOLLIN, .data = {.u64 = ((uint64_t)id << 1) | (uint64_t)rtcp}};
    if (epoll_ctl(self->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        PyErr_SetFromErrno(PyExc_OSError);
        return -1;
    }
    return 0;
}

/* add(rtp_fd, rtcp_fd, jitter, reception, ssrc, seq, ts) -> slot: read these sockets at each tick (-1: none) */
static PyObject *Core_add(Core *self, PyObject *args) {
    int fd, rtcp_fd, seq;
    unsigned int ssrc, ts;
    PyObject *jitter, *reception;
    if (!PyArg_ParseTuple(args, "iiO!O!IiI", &fd, &rtcp_fd, &JitterBufferType, &jitter, &ReceptionType, &reception,
                          &ssrc, &seq, &ts))
        return NULL;
    if (((JitterBuffer *)jitter)->lock || ((Reception *)reception)->lock) {
        PyErr_SetString(PyExc_ValueError, "add: that jitter buffer or reception is another slot's");
        return NULL;
    }
    PyObject *result = NULL;
    core_lock(self);
    int id = -1;
    for (int i = 0; i < self->nslots; i++)
        if (!self->slots[i].in_use) {
            id = i;
            break;
        }
    if (id < 0) {
        if (self->nslots == self->cap) {
            int cap = self->cap ? self->cap * 2 : 64;
            Slot *grown = PyMem_Realloc(self->slots, (size_t)cap * sizeof(Slot));
            if (!grown) {
                PyErr_NoMemory();
                goto done;
            }
            self->slots = grown;
            self->cap = cap;
        }
        id = self->nslots++;
    }
    Slot *s = &self->slots[id];
    memset(s, 0, sizeof *s);
    /* the core's own descriptors of the sockets: the clock's thread never sends on a number the process
       has since given to another file, whatever happens to Python's socket objects */
    s->fd = fd >= 0 ? fcntl(fd, F_DUPFD_CLOEXEC, 0) : -1;
    s->rtcp_fd = rtcp_fd >= 0 ? fcntl(rtcp_fd, F_DUPFD_CLOEXEC, 0) : -1;
    if ((fd >= 0 && s->fd < 0) || (rtcp_fd >= 0 && s->rtcp_fd < 0) || watch(self, s->fd, id, 0) < 0 ||
        watch(self, s->rtcp_fd, id, 1) < 0) {
        if (!PyErr_Occurred())
            PyErr_SetFromErrno(PyExc_OSError);
        close_fds(self->epfd, s);
        goto done;
    }
    s->in_use = 1;
    Py_INCREF(jitter);
    Py_INCREF(reception);
    s->jitter = (JitterBuffer *)jitter;
    s->reception = (Reception *)reception;
    s->jitter->lock = s->reception->lock = &self->lock;
    s->ssrc = ssrc;
    s->seq = (uint16_t)seq;
    s->ts = ts;
    s->marker = 1;
    s->busy = 1;
    result = PyLong_FromLong(id);
done:
    unlock_shared(&self->lock);
    return result;
}

/* remove(slot): stop reading its sockets (Python closes them) and ticking it */
static PyObject *Core_remove(Core *self, PyObject *args) {
    int id;
    if (!PyArg_ParseTuple(args, "i", &id))
        return NULL;
    core_lock(self);
    Slot *s = core_slot(self, id);
    if (!s) {
        unlock_shared(&self->lock);
        return NULL;
    }
    close_fds(self->epfd, s);
    s->in_use = 0;
    /* what its ticks left uncollected goes too: the slot's number may be the next endpoint's */
    int kept = 0;
    for (int i = 0; i < self->nrecords; i++)
        if (self->records[i].slot != id)
            self->records[kept++] = self->records[i];
    self->nrecords = kept;
    kept = 0;
    for (int i = 0; i < self->nothers; i++) {
        if (self->others[i].slot == id)
            free(self->others[i].data);
        else
            self->others[kept++] = self->others[i];
    }
    self->nothers = kept;
    JitterBuffer *jitter = s->jitter;
    Reception *reception = s->reception;
    jitter->lock = NULL;
    reception->lock = NULL;
    s->jitter = NULL;
    s->reception = NULL;
    pcm_free(&s->both);
    unlock_shared(&self->lock);
    Py_DECREF(jitter);
    Py_DECREF(reception);
    Py_RETURN_NONE;
}

static int parse_addr(const char *host, int port, struct sockaddr_in *out) {
    memset(out, 0, sizeof *out);
    out->sin_family = AF_INET;
    out->sin_port = htons((uint16_t)port);
    if (port <= 0 || port > 65535 || inet_pton(AF_INET, host, &out->sin_addr) != 1) {
        PyErr_Format(PyExc_ValueError, "not an IPv4 address and port: %s:%d", host, port);
        return -1;
    }
    return 0;
}

/* configure(slot, started, hold, latched, pt, law, remote_host or None, remote_port, remote_ssrc or -1):
   whether the clock ticks the slot, what makes a packet the usual one (law: 0 PCMU, 1 PCMA) and where it
   sends */
static PyObject *Core_configure(Core *self, PyObject *args) {
    int id, started, hold, latched, pt, law, port;
    const char *host;
    long long remote_ssrc;
    if (!PyArg_ParseTuple(args, "ipppiiziL", &id, &started, &hold, &latched, &pt, &law, &host, &port, &remote_ssrc))
        return NULL;
    struct sockaddr_in remote;
    if (host && parse_addr(host, port, &remote) < 0)
        return NULL;
    core_lock(self);
    Slot *s = core_slot(self, id);
    if (s) {
        s->has_remote = host != NULL;
        if (host)
            s->remote = remote;
        s->started = started;
        s->hold = hold;
        s->latched = latched;
        s->pt = pt;
        s->law = law ? 1 : 0;
        s->has_remote_ssrc = remote_ssrc >= 0;
        s->remote_ssrc = (uint32_t)(remote_ssrc >= 0 ? remote_ssrc : 0);
    }
    unlock_shared(&self->lock);
    if (!s)
        return NULL;
    Py_RETURN_NONE;
}

static int is_usual(Slot *s, const uint8_t *d, ssize_t n, const struct sockaddr_in *from) {
    return s->started && n > 12 && d[0] == 0x80 && (d[1] & 0x7F) == s->pt && s->latched && s->has_remote &&
           s->has_remote_ssrc && from->sin_port == s->remote.sin_port &&
           from->sin_addr.s_addr == s->remote.sin_addr.s_addr &&
           ((uint32_t)d[8] << 24 | (uint32_t)d[9] << 16 | (uint32_t)d[10] << 8 | d[11]) == s->remote_ssrc;
}

#define GROUP 64 /* slots ticked between two chances for a waiting Python call to take the lock */

static void add_ns(struct timespec *t, long ns) { /* NS < 1 s */
    t->tv_nsec += ns;
    if (t->tv_nsec >= 1000000000L) {
        t->tv_nsec -= 1000000000L;
        t->tv_sec++;
    }
}

/* Between two groups of a tick's work, with the lock held: a Python call waiting for it takes it now (the tick
   goes on once it is done), rather than after the whole tick. The clock sleeps on `handed` (the lock free)
   until the last waiter has had it, or for 0.2 ms if none came after all. No Slot pointer is held across it:
   Python may add or remove slots meanwhile. */
static void let_python_in(Core *c) {
    if (!atomic_load_explicit(&c->lock.waiters, memory_order_relaxed))
        return;
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    add_ns(&until, 200000);
    c->lock.handing = 1;
    while (c->lock.handing && pthread_cond_timedwait(&c->lock.handed, &c->lock.mutex, &until) != ETIMEDOUT)
        ;
    c->lock.handing = 0;
    c->handovers++;
}

/* every datagram waiting: the usual packets are counted and buffered here, the others kept for Python */
static void core_receive(Core *self, double now) {
    struct epoll_event events[GROUP * 4];
    uint8_t buf[2048];
    for (int round = 0; round < 8; round++) {
        if (round)
            let_python_in(self);
        int n = epoll_wait(self->epfd, events, GROUP * 4, 0);
        if (n <= 0)
            break;
        for (int i = 0; i < n; i++) {
            int id = (int)(events[i].data.u64 >> 1), rtcp = (int)(events[i].data.u64 & 1);
            if (id >= self->nslots || !self->slots[id].in_use)
                continue;
            Slot *s = &self->slots[id];
            struct sockaddr_in from;
            socklen_t fromlen = sizeof from;
            ssize_t got = recvfrom(rtcp ? s->rtcp_fd : s->fd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&from,
                                   &fromlen);
            if (got < 0 || from.sin_family != AF_INET)
                continue; /* nothing after all, or an ICMP error from an earlier send */
            if (!rtcp && is_usual(s, buf, got, &from)) {
                s->source_at = now;
                s->packets_received++;
                s->bytes_received += (unsigned long long)got;
                uint32_t ts = (uint32_t)buf[4] << 24 | (uint32_t)buf[5] << 16 | (uint32_t)buf[6] << 8 | buf[7];
                reception_update(s->reception, s->remote_ssrc, (uint16_t)(buf[2] << 8 | buf[3]), ts, now);
                if (!s->hold)
                    jb_push(s->jitter, s->remote_ssrc, ts, buf + 12, (int)(got - 12));
                continue;
            }
            if (self->nothers == self->capothers) {
                int cap = self->capothers ? self->capothers * 2 : 256;
                Other *grown = cap <= MAX_OTHERS ? realloc(self->others, (size_t)cap * sizeof(Other)) : NULL;
                if (!grown) {
                    self->dropped++;
                    continue;
                }
                self->others = grown;
                self->capothers = cap;
            }
            Other *o = &self->others[self->nothers];
            o->data = malloc((size_t)got);
            if (!o->data) {
                self->dropped++;
                continue;
            }
            memcpy(o->data, buf, (size_t)got);
            o->slot = id;
            o->rtcp = rtcp;
            o->len = (int)got;
            o->from = from;
            self->nothers++;
        }
    }
}

/* count(slot, nbytes, now): a packet Python took as the call's (source_at, counters) */
static PyObject *Core_count(Core *self, PyObject *args) {
    int id;
    Py_ssize_t nbytes;
    double now;
    if (!PyArg_ParseTuple(args, "ind", &id, &nbytes, &now))
        return NULL;
    core_lock(self);
    Slot *s = core_slot(self, id);
    if (s) {
        s->source_at = now;
        s->packets_received++;
        s->bytes_received += (unsigned long long)nbytes;
    }
    unlock_shared(&self->lock);
    if (!s)
        return NULL;
    Py_RETURN_NONE;
}

/* flags(slot, busy, analyse, tones): whether Python hears the slot and prepares its frames, and what each tick
   works out for it */
static PyObject *Core_flags(Core *self, PyObject *args) {
    int id, busy, analyse, tones;
    if (!PyArg_ParseTuple(args, "ippp", &id, &busy, &analyse, &tones))
        return NULL;
    core_lock(self);
    Slot *s = core_slot(self, id);
    if (s) {
        s->busy = busy;
        if (analyse != s->analyse) {
            memset(s->proj, 0, sizeof s->proj);
            memset(s->prev, 0, sizeof s->prev);
            s->energy = 0.0;
        }
        s->analyse = analyse;
        s->tones = tones;
    }
    unlock_shared(&self->lock);
    if (!s)
        return NULL;
    Py_RETURN_NONE;
}

static void send_packet(Slot *s, uint8_t *pkt, size_t len, size_t payload) {
    ssize_t r = sendto(s->fd, pkt, len, MSG_DONTWAIT, (struct sockaddr *)&s->remote, sizeof s->remote);
    (void)r; /* a full socket buffer or an ICMP error: the datagram is lost, as on the wire */
    s->seq++;
    s->sent_packets++;
    s->sent_octets += payload;
}

static void put_header(uint8_t *p, int pt, int marker, uint16_t seq, uint32_t ts, uint32_t ssrc) {
    p[0] = 0x80;
    p[1] = (uint8_t)(pt | (marker ? 0x80 : 0));
    p[2] = (uint8_t)(seq >> 8);
    p[3] = (uint8_t)seq;
    p[4] = (uint8_t)(ts >> 24);
    p[5] = (uint8_t)(ts >> 16);
    p[6] = (uint8_t)(ts >> 8);
    p[7] = (uint8_t)ts;
    p[8] = (uint8_t)(ssrc >> 24);
    p[9] = (uint8_t)(ssrc >> 16);
    p[10] = (uint8_t)(ssrc >> 8);
    p[11] = (uint8_t)ssrc;
}

static void send_audio(Slot *s, uint8_t *pkt) { /* pkt: 12 bytes of room, then the 160 payload bytes */
    if (s->fd < 0 || !s->has_remote || s->hold)
        return;
    put_header(pkt, s->pt, s->marker, s->seq, s->ts, s->ssrc);
    s->marker = 0;
    send_packet(s, pkt, 12 + 160, 160);
}

/* this tick's packet of the slot: the head of its queue, else digital silence */
static void send_next(Core *c, Slot *s) {
    uint8_t pkt[12 + 160];
    if (!s->queued) {
        if (s->busy && s->flowing)
            c->underruns++; /* audio was going out and Python has not prepared the next frame in time */
        else
            s->flowing = 0;
        memset(pkt + 12, s->law ? 0xD5 : 0xFF, 160);
        send_audio(s, pkt);
        return;
    }
    Out *o = &s->queue[s->head];
    s->head = (s->head + 1) % QUEUE;
    s->queued--;
    s->flowing = o->kind != OUT_SILENCE;
    if (o->kind == OUT_EVENT) {
        if (o->first)
            s->event_ts = s->ts;
        if (s->fd >= 0 && s->has_remote && !s->hold) {
            uint8_t raw[12 + sizeof o->payload];
            put_header(raw, o->pt, o->marker, s->seq, s->event_ts, s->ssrc);
            memcpy(raw + 12, o->payload, o->len);
            send_packet(s, raw, 12 + (size_t)o->len, o->len);
        }
        if (o->end)
            s->marker = 1; /* the next audio packet starts a talkspurt */
        return;
    }
    if (o->kind == OUT_AUDIO) {
        const uint8_t *table = c->encode[s->law];
        for (int k = 0; k < 160; k++)
            pkt[12 + k] = table[(uint16_t)o->pcm[k]];
        if (s->capture) {
            memcpy(s->tx, o->pcm, sizeof s->tx);
            s->has_tx = 1;
        }
    } else {
        memset(pkt + 12, s->law ? 0xD5 : 0xFF, 160);
    }
    if (o->transmit)
        send_audio(s, pkt);
}

static Record *new_record(Core *c) {
    if (c->nrecords == c->caprecords) {
        int cap = c->caprecords ? c->caprecords * 2 : 256;
        Record *grown = cap <= MAX_RECORDS ? realloc(c->records, (size_t)cap * sizeof(Record)) : NULL;
        if (!grown) {
            c->dropped++;
            return NULL;
        }
        c->records = grown;
        c->caprecords = cap;
    }
    return &c->records[c->nrecords++];
}

/* one slot's tick: its due frame decoded and analysed (a record for Python when it listens or a key was
   heard), one packet sent, the frames each way recorded, its clock on one frame */
static void tick_slot(Core *c, int id, Slot *s) {
    static const int16_t zeros[160];
    int16_t row[160];
    uint8_t frame[160];
    int audio = 0;
    JitterBuffer *jb = s->jitter;
    if (!s->hold && jb->frame == 160 && jb_pop(jb, frame) != POP_NONE) {
        int silent = 1;
        for (int k = 0; k < 160; k++)
            if (frame[k] != jb->fill) {
                silent = 0;
                break;
            }
        if (!silent) {
            const int16_t *table = c->decode[s->law];
            for (int k = 0; k < 160; k++)
                row[k] = table[frame[k]];
            audio = 1;
            if (s->capture) {
                memcpy(s->rx, row, sizeof s->rx);
                s->has_rx = 1;
            }
        }
    }
    const int16_t *heard = audio ? row : zeros;
    int key = -1;
    double energy = 0.0;
    if (s->analyse) {
        float proj[16] = {0};
        if (audio) {
            energy = frame_energy(heard);
            project(heard, proj);
        }
        key = dtmf_classify(s->proj, proj, s->energy + energy);
        memcpy(s->proj, proj, sizeof proj);
        s->energy = energy;
    }
    if (s->busy || key >= 0 || s->tones) {
        Record *r = new_record(c);
        if (r) {
            r->slot = id;
            r->key = (int8_t)key;
            r->audio = (uint8_t)audio;
            r->busy = (uint8_t)s->busy;
            r->tones = (uint8_t)s->tones;
            r->energy = energy;
            memcpy(r->frame, heard, sizeof r->frame);
            memcpy(r->prev, s->prev, sizeof r->prev);
        }
    }
    if (s->analyse)
        memcpy(s->prev, heard, sizeof s->prev);
    send_next(c, s);
    if (s->capture && !s->capture_failed &&
        pcm_append(&s->both, s->has_rx ? s->rx : NULL, s->has_tx ? s->tx : NULL) < 0)
        s->capture_failed = 1; /* out of memory: `drain` says so */
    s->has_rx = s->has_tx = 0;
    s->ts += 160;
}

/* a whole tick, with the lock held */
static void core_tick(Core *c, double now) {
    c->ticks++;
    core_receive(c, now);
    for (int id = 0; id < c->nslots; id++) {
        if (id % GROUP == GROUP - 1)
            let_python_in(c);
        Slot *s = &c->slots[id];
        if (s->in_use && s->started) {
            c->busy_frames += (unsigned long long)(s->busy != 0);
            tick_slot(c, id, s);
            c->frames++;
        }
    }
    if ((c->nrecords || c->nothers) && !c->signalled) {
        uint64_t one = 1;
        ssize_t r = write(c->efd, &one, sizeof one);
        (void)r; /* the counter cannot overflow with one write per collect */
        c->signalled = 1;
        c->signalled_at = now;
    }
}

static double seconds(const struct timespec *t) {
    return (double)t->tv_sec + (double)t->tv_nsec / 1e9;
}

static void *clock_thread(void *arg) {
    Core *c = arg;
    struct timespec deadline, now, cpu0, cpu1;
    pthread_setname_np(pthread_self(), "relaybox-rtp"); /* top, ps -L and the benches tell it apart */
    /* a real-time thread when the process may have one (CAP_SYS_NICE): woken on time even when every core is
       busy; it sleeps most of each tick, and the kernel's RT throttling bounds it anyway */
    struct sched_param param = {.sched_priority = 1};
    int realtime = pthread_setschedparam(pthread_self(), SCHED_FIFO, &param) == 0;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    pthread_mutex_lock(&c->lock.mutex);
    c->realtime = realtime;
    while (c->running) {
        add_ns(&deadline, TICK_NS);
        /* sleep until the deadline with the lock released (or until `stop`) */
        while (c->running && pthread_cond_timedwait(&c->wake, &c->lock.mutex, &deadline) != ETIMEDOUT)
            ;
        if (!c->running)
            break;
        clock_gettime(CLOCK_MONOTONIC, &now);
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu0);
        double late = seconds(&now) - seconds(&deadline);
        if (late > 0.020)
            c->late_ticks++;
        if (late > c->max_late)
            c->max_late = late;
        if (late > 0.1) /* stalled (the machine, not Python): skip the missed ticks rather than burst them */
            deadline = now;
        core_tick(c, seconds(&now));
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu1);
        c->cpu += seconds(&cpu1) - seconds(&cpu0);
    }
    pthread_mutex_unlock(&c->lock.mutex);
    return NULL;
}

/* start(): tick every 20 ms on the core's own thread until `stop` */
static PyObject *Core_start(Core *self, PyObject *Py_UNUSED(ignored)) {
    core_lock(self);
    int err = 0;
    if (!self->running) {
        self->running = 1;
        err = pthread_create(&self->thread, NULL, clock_thread, self);
        if (err)
            self->running = 0;
    }
    unlock_shared(&self->lock);
    if (err) {
        errno = err;
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    Py_RETURN_NONE;
}

static void core_stop(Core *c) {
    core_lock(c);
    int was = c->running;
    c->running = 0;
    pthread_cond_signal(&c->wake);
    unlock_shared(&c->lock);
    if (was) {
        Py_BEGIN_ALLOW_THREADS
        pthread_join(c->thread, NULL);
        Py_END_ALLOW_THREADS
    }
}

/* stop(): the clock stops (at once: it is woken) */
static PyObject *Core_stop(Core *self, PyObject *Py_UNUSED(ignored)) {
    core_stop(self);
    Py_RETURN_NONE;
}

/* tick(now): one tick on the caller's thread (tests; the clock's thread must not be running) */
static PyObject *Core_tick(Core *self, PyObject *args) {
    double now;
    if (!PyArg_ParseTuple(args, "d", &now))
        return NULL;
    core_lock(self);
    core_tick(self, now);
    unlock_shared(&self->lock);
    Py_RETURN_NONE;
}

/* collect() -> ([(slot, data, (host, port), rtcp)], records): what the ticks since the last collect left for
   Python: the datagrams that are not the usual packet, and the records (bytes, endpoint.RECORD) */
static PyObject *Core_collect(Core *self, PyObject *Py_UNUSED(ignored)) {
    core_lock(self);
    Record *records = self->records;
    int nrecords = self->nrecords;
    Other *others = self->others;
    int nothers = self->nothers;
    self->records = NULL;
    self->nrecords = self->caprecords = 0;
    self->others = NULL;
    self->nothers = self->capothers = 0;
    uint64_t count;
    ssize_t r = read(self->efd, &count, sizeof count);
    (void)r; /* nothing to read (EAGAIN) is fine */
    if (self->signalled) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        double lag = seconds(&now) - self->signalled_at;
        if (lag > self->max_lag)
            self->max_lag = lag;
    }
    self->signalled = 0;
    unlock_shared(&self->lock);

    PyObject *list = PyList_New(0), *result = NULL;
    PyObject *raw = PyBytes_FromStringAndSize((const char *)records, (Py_ssize_t)nrecords * (Py_ssize_t)sizeof(Record));
    if (!list || !raw)
        goto done;
    for (int i = 0; i < nothers; i++) {
        Other *o = &others[i];
        char host[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &o->from.sin_addr, host, sizeof host);
        PyObject *item = Py_BuildValue("(iy#(si)O)", o->slot, (const char *)o->data, (Py_ssize_t)o->len, host,
                                       (int)ntohs(o->from.sin_port), o->rtcp ? Py_True : Py_False);
        if (!item || PyList_Append(list, item) < 0) {
            Py_XDECREF(item);
            goto done;
        }
        Py_DECREF(item);
    }
    result = PyTuple_Pack(2, list, raw);
done:
    Py_XDECREF(list);
    Py_XDECREF(raw);
    free(records);
    free_others(others, nothers);
    free(others);
    return result;
}

static Out *queue_tail(Slot *s) {
    if (s->queued == QUEUE) {
        PyErr_SetString(PyExc_OverflowError, "the slot's queue of frames is full");
        return NULL;
    }
    Out *o = &s->queue[(s->head + s->queued) % QUEUE];
    memset(o, 0, offsetof(Out, pcm));
    return o;
}

/* push(slot, frame or None, transmit) -> queued: the slot's next 20 ms of int16 samples toward the far end
   (None: digital silence); TRANSMIT: encoded in the negotiated codec and sent (else only recorded) */
static PyObject *Core_push(Core *self, PyObject *args) {
    int id, transmit;
    PyObject *frame;
    if (!PyArg_ParseTuple(args, "iOp", &id, &frame, &transmit))
        return NULL;
    Py_buffer b = {0};
    if (frame != Py_None) {
        if (PyObject_GetBuffer(frame, &b, PyBUF_C_CONTIGUOUS) < 0)
            return NULL;
        if (b.len != 320) {
            PyBuffer_Release(&b);
            PyErr_SetString(PyExc_ValueError, "push: a frame is 160 int16 samples");
            return NULL;
        }
    }
    core_lock(self);
    Slot *s = core_slot(self, id);
    Out *o = s ? queue_tail(s) : NULL;
    int queued = -1;
    if (o) {
        o->kind = frame == Py_None ? OUT_SILENCE : OUT_AUDIO;
        o->transmit = (uint8_t)transmit;
        if (frame != Py_None)
            memcpy(o->pcm, b.buf, 320);
        queued = ++s->queued;
    }
    unlock_shared(&self->lock);
    if (frame != Py_None)
        PyBuffer_Release(&b);
    if (!o)
        return NULL;
    return PyLong_FromLong(queued);
}

/* push_event(slot, pt, marker, first, end, payload) -> queued: an RFC 4733 packet in place of a frame (FIRST: its
   event's timestamp is this tick's; END: the next audio packet starts a talkspurt) */
static PyObject *Core_push_event(Core *self, PyObject *args) {
    int id, pt, marker, first, end;
    Py_buffer payload;
    if (!PyArg_ParseTuple(args, "iipppy*", &id, &pt, &marker, &first, &end, &payload))
        return NULL;
    if (payload.len > (Py_ssize_t)sizeof(((Out *)0)->payload) || pt < 0 || pt > 127) {
        PyBuffer_Release(&payload);
        PyErr_SetString(PyExc_ValueError, "push_event: an RFC 4733 payload (at most 16 bytes) and a payload type");
        return NULL;
    }
    core_lock(self);
    Slot *s = core_slot(self, id);
    Out *o = s ? queue_tail(s) : NULL;
    int queued = -1;
    if (o) {
        o->kind = OUT_EVENT;
        o->pt = (uint8_t)pt;
        o->marker = (uint8_t)marker;
        o->first = (uint8_t)first;
        o->end = (uint8_t)end;
        o->len = (uint8_t)payload.len;
        memcpy(o->payload, payload.buf, (size_t)payload.len);
        queued = ++s->queued;
    }
    unlock_shared(&self->lock);
    PyBuffer_Release(&payload);
    if (!o)
        return NULL;
    return PyLong_FromLong(queued);
}

/* queued(slot) -> the frames waiting in the slot's queue; clear(slot): drop them (barge-in) */
static PyObject *slot_queue(Core *self, PyObject *args, int clear) {
    int id;
    if (!PyArg_ParseTuple(args, "i", &id))
        return NULL;
    core_lock(self);
    Slot *s = core_slot(self, id);
    int queued = s ? s->queued : -1;
    if (s && clear)
        s->queued = 0;
    unlock_shared(&self->lock);
    if (!s)
        return NULL;
    return PyLong_FromLong(queued);
}

static PyObject *Core_queued(Core *self, PyObject *args) {
    return slot_queue(self, args, 0);
}

static PyObject *Core_clear(Core *self, PyObject *args) {
    return slot_queue(self, args, 1);
}

/* capture(slot, on): keep both directions of every tick from now on (True), or stop and forget them */
static PyObject *Core_capture(Core *self, PyObject *args) {
    int id, on;
    if (!PyArg_ParseTuple(args, "ip", &id, &on))
        return NULL;
    core_lock(self);
    Slot *s = core_slot(self, id);
    if (s) {
        s->capture = on;
        s->capture_failed = s->has_rx = s->has_tx = 0;
        s->both.len = 0;
        if (!on)
            pcm_free(&s->both);
    }
    unlock_shared(&self->lock);
    if (!s)
        return NULL;
    Py_RETURN_NONE;
}

/* drain(slot) -> bytes: the int16 samples captured since the last drain, interleaved (speak, listen) */
static PyObject *Core_drain(Core *self, PyObject *args) {
    int id;
    if (!PyArg_ParseTuple(args, "i", &id))
        return NULL;
    PyObject *out = NULL;
    core_lock(self);
    Slot *s = core_slot(self, id);
    if (s && s->capture_failed) {
        s->capture_failed = 0;
        PyErr_NoMemory();
    } else if (s) {
        out = PyBytes_FromStringAndSize(s->both.data ? (const char *)s->both.data : "",
                                        (Py_ssize_t)(s->both.len * sizeof(int16_t)));
        s->both.len = 0;
    }
    unlock_shared(&self->lock);
    return out;
}

/* state(slot) -> (ssrc, seq, ts, sent_packets, sent_octets, source_at, packets_received, bytes_received) */
static PyObject *Core_state(Core *self, PyObject *args) {
    int id;
    if (!PyArg_ParseTuple(args, "i", &id))
        return NULL;
    core_lock(self);
    Slot *s = core_slot(self, id);
    Slot copy;
    if (s)
        memcpy(&copy, s, offsetof(Slot, queue));
    unlock_shared(&self->lock);
    if (!s)
        return NULL;
    return Py_BuildValue("(kikKKdKK)", (unsigned long)copy.ssrc, (int)copy.seq, (unsigned long)copy.ts,
                         copy.sent_packets, copy.sent_octets, copy.source_at, copy.packets_received,
                         copy.bytes_received);
}

/* stats() -> the clock's counters: ticks, late_ticks (> 20 ms after their deadline), max_late (s), frames
   (slot-ticks), busy_frames (those of busy slots), underruns (a busy slot's tick with nothing prepared while
   its audio was going out),
   max_lag (s: the longest Python took to collect after a tick), dropped (records or datagrams Python was too
   late to collect), cpu (the clock thread's CPU seconds), realtime (the thread runs SCHED_FIFO) */
static PyObject *Core_stats(Core *self, PyObject *Py_UNUSED(ignored)) {
    core_lock(self);
    PyObject *out = Py_BuildValue("{sKsKsdsKsKsKsdsKsdsOsK}", "ticks", self->ticks, "late_ticks", self->late_ticks,
                                  "max_late", self->max_late, "frames", self->frames, "busy_frames",
                                  self->busy_frames, "underruns", self->underruns, "max_lag", self->max_lag,
                                  "dropped", self->dropped, "cpu", self->cpu, "realtime",
                                  self->realtime ? Py_True : Py_False, "handovers", self->handovers);
    unlock_shared(&self->lock);
    return out;
}

static PyObject *Core_get_fd(Core *self, void *Py_UNUSED(c)) {
    return PyLong_FromLong(self->efd);
}

static PyMethodDef Core_methods[] = {
    {"add", (PyCFunction)Core_add, METH_VARARGS, NULL},
    {"remove", (PyCFunction)Core_remove, METH_VARARGS, NULL},
    {"configure", (PyCFunction)Core_configure, METH_VARARGS, NULL},
    {"count", (PyCFunction)Core_count, METH_VARARGS, NULL},
    {"flags", (PyCFunction)Core_flags, METH_VARARGS, NULL},
    {"start", (PyCFunction)Core_start, METH_NOARGS, NULL},
    {"stop", (PyCFunction)Core_stop, METH_NOARGS, NULL},
    {"tick", (PyCFunction)Core_tick, METH_VARARGS, NULL},
    {"collect", (PyCFunction)Core_collect, METH_NOARGS, NULL},
    {"push", (PyCFunction)Core_push, METH_VARARGS, NULL},
    {"push_event", (PyCFunction)Core_push_event, METH_VARARGS, NULL},
    {"queued", (PyCFunction)Core_queued, METH_VARARGS, NULL},
    {"clear", (PyCFunction)Core_clear, METH_VARARGS, NULL},
    {"capture", (PyCFunction)Core_capture, METH_VARARGS, NULL},
    {"drain", (PyCFunction)Core_drain, METH_VARARGS, NULL},
    {"state", (PyCFunction)Core_state, METH_VARARGS, NULL},
    {"stats", (PyCFunction)Core_stats, METH_NOARGS, NULL},
    {NULL}};

static PyGetSetDef Core_getset[] = {
    {"fd", (getter)Core_get_fd, NULL, "an eventfd, readable when a tick left something to `collect`", NULL},
    {NULL}};

static PyTypeObject CoreType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "relaybox.media._rtpcore.Core",
    .tp_basicsize = sizeof(Core),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "every RTP endpoint of a pacer: one epoll and a 20 ms clock thread, the usual packets handled in C",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Core_init,
    .tp_dealloc = (destructor)Core_dealloc,
    .tp_methods = Core_methods,
    .tp_getset = Core_getset,
};

static PyMethodDef module_methods[] = {
    {"dtmf_key", (PyCFunction)dtmf_key, METH_O, "the DTMF key index (0..15) of a 40 ms window, or -1"},
    {NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_rtpcore", "relaybox's RTP hot path", -1,
                                    module_methods};

PyMODINIT_FUNC PyInit__rtpcore(void) {
    dtmf_init();
    if (PyType_Ready(&JitterBufferType) < 0 || PyType_Ready(&ReceptionType) < 0 || PyType_Ready(&CoreType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (!m)
        return NULL;
    if (PyModule_AddObjectRef(m, "JitterBuffer", (PyObject *)&JitterBufferType) < 0 ||
        PyModule_AddObjectRef(m, "Reception", (PyObject *)&ReceptionType) < 0 ||
        PyModule_AddObjectRef(m, "Core", (PyObject *)&CoreType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
