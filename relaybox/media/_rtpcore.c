/* relaybox's RTP hot path in C: what the 20 ms pacer does for every call on every tick.
 *
 * Python keeps the logic of a call's media (what to play, detectors, recordings, RFC 4733 keys, RTCP,
 * symmetric-RTP latching, SSRC changes); this module does the per-packet and per-frame work it would
 * otherwise repeat thousands of times a second in the interpreter:
 *
 *   JitterBuffer  G.711 payloads by RTP timestamp, one 20 ms frame out per tick (see jitter.py's docstring)
 *   Reception     RFC 3550 A.1/A.8 loss and interarrival-jitter counters (rtcp.ReceptionStats extends it)
 *   dtmf_key      the in-band DTMF key of a 40 ms window (see tones.py's docstring for the tests it passes)
 *   Core          every endpoint's sockets in one epoll: `receive` reads all waiting datagrams and keeps the
 *                 usual packet (the negotiated codec from the latched source) in C, handing the others to
 *                 Python; `take` decodes each endpoint's due frame into one int16 matrix, with its energy and
 *                 the DTMF key of its last 40 ms, and says which endpoints Python must tick; `send` encodes a
 *                 frame, builds the RTP header and sends it; `quiet` does a whole tick (silence out) for the
 *                 endpoints Python has nothing to do for; while `capture` is on, both directions of every
 *                 tick are kept for recordings, and `drain` hands them over.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
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
    jb_push(self, ssrc, ts, buf.buf, (int)buf.len);
    PyBuffer_Release(&buf);
    Py_RETURN_NONE;
}

static PyObject *JitterBuffer_pop(JitterBuffer *self, PyObject *Py_UNUSED(ignored)) {
    PyObject *out = PyBytes_FromStringAndSize(NULL, self->frame);
    if (!out)
        return NULL;
    if (jb_pop(self, (uint8_t *)PyBytes_AS_STRING(out)) == POP_NONE) {
        Py_DECREF(out);
        Py_RETURN_NONE;
    }
    return out;
}

static PyObject *JitterBuffer_reset(JitterBuffer *self, PyObject *Py_UNUSED(ignored)) {
    jb_reset(self);
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
    self->fill = (uint8_t)PyBytes_AS_STRING(value)[0];
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
    reception_update(self, ssrc, (uint16_t)seq, ts, arrival);
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

/* -- Core --------------------------------------------------------------------------------------------- */

typedef struct {
    int16_t *data;
    size_t len, cap;
} Pcm;

static int pcm_append(Pcm *p, const int16_t *frame) { /* FRAME samples, or zeros for NULL */
    if (p->len + 160 > p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 160 * 256;
        int16_t *grown = PyMem_Realloc(p->data, cap * sizeof(int16_t));
        if (!grown)
            return -1;
        p->data = grown;
        p->cap = cap;
    }
    if (frame)
        memcpy(p->data + p->len, frame, 160 * sizeof(int16_t));
    else
        memset(p->data + p->len, 0, 160 * sizeof(int16_t));
    p->len += 160;
    return 0;
}

static void pcm_free(Pcm *p) {
    PyMem_Free(p->data);
    p->data = NULL;
    p->len = p->cap = 0;
}

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
    uint32_t ssrc, ts;
    uint16_t seq;
    int marker;
    unsigned long long sent_packets, sent_octets;
    /* Python ticks the slot while `busy`; `analyse`: energy and DTMF of each frame, from the previous one's
       projection and energy (and the previous frame itself, for Python's tone analysis when `tones`) */
    int busy, analyse, tones;
    float proj[16];
    double energy;
    int16_t prev[160];
    /* recording: this tick's frames each way (zeros unless `has_`), and every tick's so far */
    int capture, has_rx, has_tx, capture_failed;
    int16_t rx[160], tx[160];
    Pcm speak, listen;
} Slot;

typedef struct {
    PyObject_HEAD
    int epfd;
    Slot *slots;
    int nslots, cap;
    int16_t decode[2][256];
    uint8_t encode[2][65536]; /* by the sample's bits as uint16 */
} Core;

static int Core_init(Core *self, PyObject *args, PyObject *kw) {
    Py_buffer tables[4];
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
    if (self->epfd <= 0) {
        self->epfd = epoll_create1(EPOLL_CLOEXEC);
        if (self->epfd < 0) {
            PyErr_SetFromErrno(PyExc_OSError);
            return -1;
        }
    }
    return 0;
}

static void Core_dealloc(Core *self) {
    for (int i = 0; i < self->nslots; i++) {
        Py_XDECREF(self->slots[i].jitter);
        Py_XDECREF(self->slots[i].reception);
        pcm_free(&self->slots[i].speak);
        pcm_free(&self->slots[i].listen);
    }
    PyMem_Free(self->slots);
    if (self->epfd > 0)
        close(self->epfd);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static Slot *core_slot(Core *self, int id) {
    if (id < 0 || id >= self->nslots || !self->slots[id].in_use) {
        PyErr_Format(PyExc_KeyError, "no RTP slot %d", id);
        return NULL;
    }
    return &self->slots[id];
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

/* add(rtp_fd, rtcp_fd, jitter, reception, ssrc, seq, ts) -> slot: read these sockets at each `receive` (-1: none) */
static PyObject *Core_add(Core *self, PyObject *args) {
    int fd, rtcp_fd, seq;
    unsigned int ssrc, ts;
    PyObject *jitter, *reception;
    if (!PyArg_ParseTuple(args, "iiO!O!IiI", &fd, &rtcp_fd, &JitterBufferType, &jitter, &ReceptionType, &reception,
                          &ssrc, &seq, &ts))
        return NULL;
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
            if (!grown)
                return PyErr_NoMemory();
            self->slots = grown;
            self->cap = cap;
        }
        id = self->nslots++;
    }
    Slot *s = &self->slots[id];
    memset(s, 0, sizeof *s);
    s->fd = fd;
    s->rtcp_fd = rtcp_fd;
    if (watch(self, fd, id, 0) < 0)
        return NULL;
    if (watch(self, rtcp_fd, id, 1) < 0) {
        if (fd >= 0)
            epoll_ctl(self->epfd, EPOLL_CTL_DEL, fd, NULL);
        return NULL;
    }
    s->in_use = 1;
    Py_INCREF(jitter);
    Py_INCREF(reception);
    s->jitter = (JitterBuffer *)jitter;
    s->reception = (Reception *)reception;
    s->ssrc = ssrc;
    s->seq = (uint16_t)seq;
    s->ts = ts;
    s->marker = 1;
    s->busy = 1;
    return PyLong_FromLong(id);
}

/* remove(slot): stop reading its sockets (Python closes them) */
static PyObject *Core_remove(Core *self, PyObject *args) {
    int id;
    if (!PyArg_ParseTuple(args, "i", &id))
        return NULL;
    Slot *s = core_slot(self, id);
    if (!s)
        return NULL;
    if (s->fd >= 0)
        epoll_ctl(self->epfd, EPOLL_CTL_DEL, s->fd, NULL);
    if (s->rtcp_fd >= 0)
        epoll_ctl(self->epfd, EPOLL_CTL_DEL, s->rtcp_fd, NULL);
    s->in_use = 0;
    Py_CLEAR(s->jitter);
    Py_CLEAR(s->reception);
    pcm_free(&s->speak);
    pcm_free(&s->listen);
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
   what makes a packet the usual one (law: 0 PCMU, 1 PCMA) and where `send` sends */
static PyObject *Core_configure(Core *self, PyObject *args) {
    int id, started, hold, latched, pt, law, port;
    const char *host;
    long long remote_ssrc;
    if (!PyArg_ParseTuple(args, "ipppiiziL", &id, &started, &hold, &latched, &pt, &law, &host, &port, &remote_ssrc))
        return NULL;
    Slot *s = core_slot(self, id);
    if (!s)
        return NULL;
    struct sockaddr_in remote;
    if (host && parse_addr(host, port, &remote) < 0)
        return NULL;
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
    Py_RETURN_NONE;
}

static int is_usual(Slot *s, const uint8_t *d, ssize_t n, const struct sockaddr_in *from) {
    return s->started && n > 12 && d[0] == 0x80 && (d[1] & 0x7F) == s->pt && s->latched && s->has_remote &&
           s->has_remote_ssrc && from->sin_port == s->remote.sin_port &&
           from->sin_addr.s_addr == s->remote.sin_addr.s_addr &&
           ((uint32_t)d[8] << 24 | (uint32_t)d[9] << 16 | (uint32_t)d[10] << 8 | d[11]) == s->remote_ssrc;
}

/* receive(now) -> [(slot, data, (host, port), rtcp)]: every datagram waiting; the usual packets are counted
   and buffered here, the others are returned for Python */
static PyObject *Core_receive(Core *self, PyObject *args) {
    double now;
    if (!PyArg_ParseTuple(args, "d", &now))
        return NULL;
    PyObject *others = PyList_New(0);
    if (!others)
        return NULL;
    struct epoll_event events[256];
    uint8_t buf[2048];
    for (int round = 0; round < 8; round++) {
        int n = epoll_wait(self->epfd, events, 256, 0);
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
            char host[INET_ADDRSTRLEN];
            inet_ntop(AF_INET, &from.sin_addr, host, sizeof host);
            PyObject *item = Py_BuildValue("(iy#(si)O)", id, (const char *)buf, (Py_ssize_t)got, host,
                                           (int)ntohs(from.sin_port), rtcp ? Py_True : Py_False);
            if (!item || PyList_Append(others, item) < 0) {
                Py_XDECREF(item);
                Py_DECREF(others);
                return NULL;
            }
            Py_DECREF(item);
        }
    }
    return others;
}

/* count(slot, nbytes, now): a packet Python took as the call's (source_at, counters) */
static PyObject *Core_count(Core *self, PyObject *args) {
    int id;
    Py_ssize_t nbytes;
    double now;
    if (!PyArg_ParseTuple(args, "ind", &id, &nbytes, &now))
        return NULL;
    Slot *s = core_slot(self, id);
    if (!s)
        return NULL;
    s->source_at = now;
    s->packets_received++;
    s->bytes_received += (unsigned long long)nbytes;
    Py_RETURN_NONE;
}

/* take(slots, out, audio, energy, keys, busy, prev): each slot of the int32 array SLOTS (row i):
   OUT[i] its due frame decoded (int16, left as it was when nothing plays or it is the codec's digital silence:
   AUDIO[i] 0, else 1); for slots that analyse, ENERGY[i] (float64) the frame's energy, KEYS[i] (int8) the DTMF key
   of its last 40 ms or -1, and PREV[i] the frame before (slots that want tones); BUSY[i] 1 when Python must tick
   it (its owner is busy, or a key was heard) */
static PyObject *Core_take(Core *self, PyObject *args) {
    Py_buffer b[7];
    if (!PyArg_ParseTuple(args, "y*w*w*w*w*w*w*", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &b[6]))
        return NULL;
    PyObject *result = NULL;
    Py_ssize_t n = b[0].len / (Py_ssize_t)sizeof(int32_t);
    Py_ssize_t frame_bytes = 160 * (Py_ssize_t)sizeof(int16_t);
    if (b[1].len < n * frame_bytes || b[2].len < n || b[3].len < n * (Py_ssize_t)sizeof(double) || b[4].len < n ||
        b[5].len < n || b[6].len < n * frame_bytes) {
        PyErr_SetString(PyExc_ValueError, "take: an output array is too small");
        goto done;
    }
    const int32_t *slot_ids = b[0].buf;
    int16_t *rows = b[1].buf, *prevs = b[6].buf;
    uint8_t *audio = b[2].buf, *busy = b[5].buf;
    double *energies = b[3].buf;
    int8_t *keys = b[4].buf;
    uint8_t frame[160];
    static const int16_t zeros[160];
    for (Py_ssize_t i = 0; i < n; i++) {
        audio[i] = 0;
        energies[i] = 0.0;
        keys[i] = -1;
        busy[i] = 0;
        int id = slot_ids[i];
        if (id < 0 || id >= self->nslots || !self->slots[id].in_use)
            continue;
        Slot *s = &self->slots[id];
        busy[i] = (uint8_t)s->busy;
        JitterBuffer *jb = s->jitter;
        int16_t *row = rows + i * 160;
        if (!s->hold && jb->frame == 160 && jb_pop(jb, frame) != POP_NONE) {
            int silent = 1;
            for (int k = 0; k < 160; k++)
                if (frame[k] != jb->fill) {
                    silent = 0;
                    break;
                }
            if (!silent) {
                const int16_t *table = self->decode[s->law];
                for (int k = 0; k < 160; k++)
                    row[k] = table[frame[k]];
                audio[i] = 1;
                if (s->capture) {
                    memcpy(s->rx, row, sizeof s->rx);
                    s->has_rx = 1;
                }
            }
        }
        if (!s->analyse)
            continue;
        const int16_t *heard = audio[i] ? row : zeros;
        if (s->tones)
            memcpy(prevs + i * 160, s->prev, sizeof s->prev);
        float proj[16] = {0};
        double energy = 0.0;
        if (audio[i]) {
            energy = frame_energy(heard);
            project(heard, proj);
        }
        keys[i] = (int8_t)dtmf_classify(s->proj, proj, s->energy + energy);
        if (keys[i] >= 0)
            busy[i] = 1;
        energies[i] = energy;
        memcpy(s->proj, proj, sizeof proj);
        s->energy = energy;
        memcpy(s->prev, heard, sizeof s->prev);
    }
    result = Py_NewRef(Py_None);
done:
    for (int k = 0; k < 7; k++)
        PyBuffer_Release(&b[k]);
    return result;
}

/* flags(slot, busy, analyse, tones): whether Python ticks the slot, and what `take` works out for it */
static PyObject *Core_flags(Core *self, PyObject *args) {
    int id, busy, analyse, tones;
    if (!PyArg_ParseTuple(args, "ippp", &id, &busy, &analyse, &tones))
        return NULL;
    Slot *s = core_slot(self, id);
    if (!s)
        return NULL;
    s->busy = busy;
    if (analyse != s->analyse) {
        memset(s->proj, 0, sizeof s->proj);
        memset(s->prev, 0, sizeof s->prev);
        s->energy = 0.0;
    }
    s->analyse = analyse;
    s->tones = tones;
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
    if (s->fd < 0 || !s->has_remote)
        return;
    put_header(pkt, s->pt, s->marker, s->seq, s->ts, s->ssrc);
    s->marker = 0;
    send_packet(s, pkt, 12 + 160, 160);
}

/* send(slot, frame or None, transmit): this tick's 20 ms of int16 samples toward the far end (None: digital
   silence); TRANSMIT: encoded in the negotiated codec and sent (else only kept for a recording) */
static PyObject *Core_send(Core *self, PyObject *args) {
    int id, transmit;
    PyObject *frame;
    if (!PyArg_ParseTuple(args, "iOp", &id, &frame, &transmit))
        return NULL;
    Slot *s = core_slot(self, id);
    if (!s)
        return NULL;
    uint8_t pkt[12 + 160];
    if (frame == Py_None) {
        memset(pkt + 12, s->law ? 0xD5 : 0xFF, 160);
    } else {
        Py_buffer b;
        if (PyObject_GetBuffer(frame, &b, PyBUF_C_CONTIGUOUS) < 0)
            return NULL;
        if (b.len != 320) {
            PyBuffer_Release(&b);
            PyErr_SetString(PyExc_ValueError, "send: a frame is 160 int16 samples");
            return NULL;
        }
        const int16_t *pcm = b.buf;
        const uint8_t *table = self->encode[s->law];
        for (int k = 0; k < 160; k++)
            pkt[12 + k] = table[(uint16_t)pcm[k]];
        if (s->capture) {
            memcpy(s->tx, pcm, sizeof s->tx);
            s->has_tx = 1;
        }
        PyBuffer_Release(&b);
    }
    if (transmit)
        send_audio(s, pkt);
    Py_RETURN_NONE;
}

/* send_raw(slot, pt, ts, marker, payload): another packet of our stream (RFC 4733), next sequence number */
static PyObject *Core_send_raw(Core *self, PyObject *args) {
    int id, pt, marker;
    unsigned int ts;
    Py_buffer payload;
    if (!PyArg_ParseTuple(args, "iiIpy*", &id, &pt, &ts, &marker, &payload))
        return NULL;
    Slot *s = core_slot(self, id);
    if (!s || payload.len > 1500) {
        if (s)
            PyErr_SetString(PyExc_ValueError, "payload too long");
        PyBuffer_Release(&payload);
        return NULL;
    }
    uint8_t pkt[12 + 1500];
    put_header(pkt, pt, marker, s->seq, ts, s->ssrc);
    memcpy(pkt + 12, payload.buf, (size_t)payload.len);
    if (s->fd >= 0 && s->has_remote)
        send_packet(s, pkt, 12 + (size_t)payload.len, (size_t)payload.len);
    PyBuffer_Release(&payload);
    Py_RETURN_NONE;
}

/* the end of a slot's tick: its frames each way are recorded, its clock moves on one frame */
static void end_tick(Slot *s) {
    if (s->capture && !s->capture_failed &&
        (pcm_append(&s->speak, s->has_rx ? s->rx : NULL) < 0 || pcm_append(&s->listen, s->has_tx ? s->tx : NULL) < 0))
        s->capture_failed = 1; /* out of memory: `drain` says so */
    s->has_rx = s->has_tx = 0;
    s->ts += 160;
}

/* advance(slot, marker): the end of the slot's tick (see end_tick); MARKER: the next audio packet starts a
   talkspurt */
static PyObject *Core_advance(Core *self, PyObject *args) {
    int id, marker;
    if (!PyArg_ParseTuple(args, "ip", &id, &marker))
        return NULL;
    Slot *s = core_slot(self, id);
    if (!s)
        return NULL;
    end_tick(s);
    if (marker)
        s->marker = 1;
    Py_RETURN_NONE;
}

/* quiet(slots, busy): a whole tick for each slot of the int32 array SLOTS whose byte in BUSY is 0: digital
   silence out (unless on hold), its frames recorded, its clock on one frame */
static PyObject *Core_quiet(Core *self, PyObject *args) {
    Py_buffer ids, busy;
    if (!PyArg_ParseTuple(args, "y*y*", &ids, &busy))
        return NULL;
    Py_ssize_t n = ids.len / (Py_ssize_t)sizeof(int32_t);
    if (busy.len < n) {
        PyBuffer_Release(&ids);
        PyBuffer_Release(&busy);
        PyErr_SetString(PyExc_ValueError, "quiet: BUSY is too small");
        return NULL;
    }
    const int32_t *slot_ids = ids.buf;
    const uint8_t *flags = busy.buf;
    uint8_t silence[2][12 + 160];
    memset(silence[0] + 12, 0xFF, 160);
    memset(silence[1] + 12, 0xD5, 160);
    for (Py_ssize_t i = 0; i < n; i++) {
        int id = slot_ids[i];
        if (flags[i] || id < 0 || id >= self->nslots || !self->slots[id].in_use)
            continue;
        Slot *s = &self->slots[id];
        if (!s->hold)
            send_audio(s, silence[s->law]);
        end_tick(s);
    }
    PyBuffer_Release(&ids);
    PyBuffer_Release(&busy);
    Py_RETURN_NONE;
}

/* capture(slot, on): keep both directions of every tick from now on (True), or stop and forget them */
static PyObject *Core_capture(Core *self, PyObject *args) {
    int id, on;
    if (!PyArg_ParseTuple(args, "ip", &id, &on))
        return NULL;
    Slot *s = core_slot(self, id);
    if (!s)
        return NULL;
    s->capture = on;
    s->capture_failed = s->has_rx = s->has_tx = 0;
    s->speak.len = s->listen.len = 0;
    if (!on) {
        pcm_free(&s->speak);
        pcm_free(&s->listen);
    }
    Py_RETURN_NONE;
}

/* drain(slot) -> (speak, listen): the int16 samples captured each way since the last drain */
static PyObject *Core_drain(Core *self, PyObject *args) {
    int id;
    if (!PyArg_ParseTuple(args, "i", &id))
        return NULL;
    Slot *s = core_slot(self, id);
    if (!s)
        return NULL;
    if (s->capture_failed) {
        s->capture_failed = 0;
        return PyErr_NoMemory();
    }
    const char *speak = s->speak.data ? (const char *)s->speak.data : "";
    const char *listen = s->listen.data ? (const char *)s->listen.data : ""; /* NULL would give None */
    PyObject *out = Py_BuildValue("(y#y#)", speak, (Py_ssize_t)(s->speak.len * sizeof(int16_t)), listen,
                                  (Py_ssize_t)(s->listen.len * sizeof(int16_t)));
    s->speak.len = s->listen.len = 0;
    return out;
}

/* state(slot) -> (ssrc, seq, ts, sent_packets, sent_octets, source_at, packets_received, bytes_received) */
static PyObject *Core_state(Core *self, PyObject *args) {
    int id;
    if (!PyArg_ParseTuple(args, "i", &id))
        return NULL;
    Slot *s = core_slot(self, id);
    if (!s)
        return NULL;
    return Py_BuildValue("(kikKKdKK)", (unsigned long)s->ssrc, (int)s->seq, (unsigned long)s->ts, s->sent_packets,
                         s->sent_octets, s->source_at, s->packets_received, s->bytes_received);
}

static PyMethodDef Core_methods[] = {
    {"add", (PyCFunction)Core_add, METH_VARARGS, NULL},
    {"remove", (PyCFunction)Core_remove, METH_VARARGS, NULL},
    {"configure", (PyCFunction)Core_configure, METH_VARARGS, NULL},
    {"receive", (PyCFunction)Core_receive, METH_VARARGS, NULL},
    {"count", (PyCFunction)Core_count, METH_VARARGS, NULL},
    {"take", (PyCFunction)Core_take, METH_VARARGS, NULL},
    {"flags", (PyCFunction)Core_flags, METH_VARARGS, NULL},
    {"send", (PyCFunction)Core_send, METH_VARARGS, NULL},
    {"send_raw", (PyCFunction)Core_send_raw, METH_VARARGS, NULL},
    {"advance", (PyCFunction)Core_advance, METH_VARARGS, NULL},
    {"quiet", (PyCFunction)Core_quiet, METH_VARARGS, NULL},
    {"capture", (PyCFunction)Core_capture, METH_VARARGS, NULL},
    {"drain", (PyCFunction)Core_drain, METH_VARARGS, NULL},
    {"state", (PyCFunction)Core_state, METH_VARARGS, NULL},
    {NULL}};

static PyTypeObject CoreType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "relaybox.media._rtpcore.Core",
    .tp_basicsize = sizeof(Core),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "every RTP endpoint of a pacer: one epoll, the usual packets handled in C",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Core_init,
    .tp_dealloc = (destructor)Core_dealloc,
    .tp_methods = Core_methods,
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
