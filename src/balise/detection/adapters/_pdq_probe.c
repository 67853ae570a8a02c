/* The probing kernel of PdqIndex (pdq_index.py), compiled.
 *
 * It walks the same arrays and the same probe plan as the numpy kernel `_probe`, and returns
 * the same (query, row, distance) triples: the numpy kernel stays as the reference and the
 * fallback, and a test compares the two on every kind of data the index holds.
 *
 * Why compiled: per query the numpy kernel runs some thirty array operations over ~1,400 probes
 * (1 M hashes), each with its own temporary; a query cost ~100 us alone and ~50 us in a batch
 * of 100. Here a query is three tight loops over its probes, with the bucket-table and prefix
 * reads prefetched a few probes ahead so that many cache misses are in flight at once, and,
 * for a batch, the GIL released: another thread of the process (the event loop) runs meanwhile.
 *
 * The arrays are read-only here and may be memory-mapped. Every bucket's range and every row
 * is bounds-checked, so a corrupt snapshot gives a ValueError, never a read outside an array.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define WORDS 4
#define MAX_CHUNKS 256
/* Probes in one call from which the GIL is released (about 8 queries at 1 M hashes). */
#define RELEASE_GIL_PROBES 2048
/* Probes between a prefetch and its read. */
#define AHEAD 32

#if defined(__GNUC__) || defined(__clang__)
#define POPCOUNT64(x) __builtin_popcountll(x)
#define PREFETCH(p) __builtin_prefetch((p), 0, 1)
#else
static int POPCOUNT64(uint64_t x) {
    x = x - ((x >> 1) & 0x5555555555555555ULL);
    x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
    return (int)((x * 0x0101010101010101ULL) >> 56);
}
#define PREFETCH(p) ((void)0)
#endif

typedef struct {
    int64_t q, row, d;
} Hit;

typedef struct {
    Hit *v;
    size_t n, cap;
} Hits;

static int hits_push(Hits *h, int64_t q, int64_t row, int64_t d) {
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        Hit *v = realloc(h->v, cap * sizeof(Hit));
        if (!v) return -1;
        h->v = v;
        h->cap = cap;
    }
    h->v[h->n].q = q;
    h->v[h->n].row = row;
    h->v[h->n].d = d;
    h->n++;
    return 0;
}

static int by_row(const void *a, const void *b) {
    int64_t x = ((const Hit *)a)->row, y = ((const Hit *)b)->row;
    return (x > y) - (x < y);
}

/* Bits [start, start + b) of the big-endian 256-bit string held as four uint64 words. */
static inline int64_t chunk_value(const uint64_t *w, int64_t start, int64_t b) {
    int64_t k = start >> 6, off = start & 63;
    uint64_t mask = (b == 64) ? ~0ULL : ((1ULL << b) - 1);
    if (off + b <= 64) return (int64_t)((w[k] >> (64 - off - b)) & mask);
    int64_t b1 = 64 - off, b2 = b - b1;
    return (int64_t)(((w[k] & ((1ULL << b1) - 1)) << b2) | (w[k + 1] >> (64 - b2)));
}

typedef struct {
    Py_buffer view;
    int held;
} Buf;

static int get_buf(PyObject *obj, Buf *out, Py_ssize_t itemsize, const char *name) {
    if (PyObject_GetBuffer(obj, &out->view, PyBUF_C_CONTIGUOUS) < 0) return -1;
    out->held = 1;
    if (out->view.itemsize != itemsize && !(itemsize == 0 && (out->view.itemsize == 4 || out->view.itemsize == 8))) {
        PyErr_Format(PyExc_ValueError, "%s: unexpected item size %zd", name, out->view.itemsize);
        return -1;
    }
    return 0;
}

static void release(Buf *b) {
    if (b->held) PyBuffer_Release(&b->view);
    b->held = 0;
}

/* probe(queries, table, perm, prefix, words, starts, bits, chunk, mask, base, shift, threshold)
 *   -> bytes of int64 triples (query, row, distance), unique per (query, row), in query order.
 */
static PyObject *probe(PyObject *self, PyObject *args) {
    PyObject *o_q, *o_table, *o_perm, *o_prefix, *o_words, *o_starts, *o_bits, *o_chunk, *o_mask, *o_base;
    int shift, threshold;
    if (!PyArg_ParseTuple(args, "OOOOOOOOOOii", &o_q, &o_table, &o_perm, &o_prefix, &o_words, &o_starts, &o_bits,
                          &o_chunk, &o_mask, &o_base, &shift, &threshold))
        return NULL;
    Buf bq = {0}, btable = {0}, bperm = {0}, bprefix = {0}, bwords = {0}, bstarts = {0}, bbits = {0}, bchunk = {0},
        bmask = {0}, bbase = {0};
    PyObject *result = NULL;
    Hits hits = {0};
    int64_t *keys = NULL, *bstart = NULL, *bcount = NULL;
    if (get_buf(o_q, &bq, 8, "queries") < 0 || get_buf(o_table, &btable, 8, "table") < 0 ||
        get_buf(o_perm, &bperm, 0, "perm") < 0 || get_buf(o_prefix, &bprefix, 8, "prefix") < 0 ||
        get_buf(o_words, &bwords, 8, "words") < 0 || get_buf(o_starts, &bstarts, 8, "starts") < 0 ||
        get_buf(o_bits, &bbits, 8, "bits") < 0 || get_buf(o_chunk, &bchunk, 8, "chunk") < 0 ||
        get_buf(o_mask, &bmask, 8, "mask") < 0 || get_buf(o_base, &bbase, 8, "base") < 0)
        goto done;

    const Py_ssize_t nq = bq.view.len / (8 * WORDS);
    const Py_ssize_t ntable = btable.view.len / 8;
    const Py_ssize_t perm_item = bperm.view.itemsize;
    const Py_ssize_t nperm = bperm.view.len / perm_item;
    const Py_ssize_t n = bwords.view.len / (8 * WORDS);
    const Py_ssize_t m = bstarts.view.len / 8;
    const Py_ssize_t nprobe = bchunk.view.len / 8;
    if (bq.view.len % (8 * WORDS) || bwords.view.len % (8 * WORDS) || bprefix.view.len != nperm * 16 ||
        bbits.view.len != bstarts.view.len || bmask.view.len != bchunk.view.len || bbase.view.len != bchunk.view.len ||
        m < 1 || m > MAX_CHUNKS || shift < 1 || shift > 62 || threshold < 0) {
        PyErr_SetString(PyExc_ValueError, "probe: inconsistent array sizes");
        goto done;
    }
    const uint64_t *q = bq.view.buf, *prefix = bprefix.view.buf, *words = bwords.view.buf;
    const int64_t *table = btable.view.buf, *starts = bstarts.view.buf, *bits = bbits.view.buf,
                  *chunk = bchunk.view.buf, *mask = bmask.view.buf, *base = bbase.view.buf;
    const int32_t *perm32 = perm_item == 4 ? bperm.view.buf : NULL;
    const int64_t *perm64 = perm_item == 8 ? bperm.view.buf : NULL;
    int64_t qc[MAX_CHUNKS];

    /* Plans are built by the index itself; checked once here so the loops need not. */
    for (Py_ssize_t i = 0; i < m; i++) {
        if (starts[i] < 0 || bits[i] < 1 || bits[i] > 63 || starts[i] + bits[i] > 256) {
            PyErr_SetString(PyExc_ValueError, "probe: bad chunk layout");
            goto done;
        }
    }
    for (Py_ssize_t p = 0; p < nprobe; p++) {
        int64_t c = chunk[p];
        if (c < 0 || c >= m || mask[p] < 0 || mask[p] >= ((int64_t)1 << bits[c]) || base[p] < 0 ||
            base[p] + ((int64_t)1 << bits[c]) > ntable) {
            PyErr_SetString(PyExc_ValueError, "probe: plan does not fit the bucket table");
            goto done;
        }
    }
    keys = malloc((size_t)(nprobe ? nprobe : 1) * sizeof(int64_t));
    bstart = malloc((size_t)(nprobe ? nprobe : 1) * sizeof(int64_t));
    bcount = malloc((size_t)(nprobe ? nprobe : 1) * sizeof(int64_t));
    if (!keys || !bstart || !bcount) {
        PyErr_NoMemory();
        goto done;
    }

    const int64_t cmask = ((int64_t)1 << shift) - 1;
    int err = 0; /* 1: out of memory, 2: corrupt bucket or row */
    /* The GIL is released for a batch only. A query or two is answered on the event loop in
     * tens of microseconds; giving the GIL up there lets a background thread (the access
     * log's writer) take it, and the loop may then wait up to the 5 ms switch interval to
     * get it back. */
    PyThreadState *released = (int64_t)nq * nprobe >= RELEASE_GIL_PROBES ? PyEval_SaveThread() : NULL;
    for (Py_ssize_t qi = 0; qi < nq && !err; qi++) {
        const uint64_t *qw = q + qi * WORDS;
        for (Py_ssize_t i = 0; i < m; i++) qc[i] = chunk_value(qw, starts[i], bits[i]);
        for (Py_ssize_t p = 0; p < nprobe; p++) keys[p] = (qc[chunk[p]] ^ mask[p]) + base[p];
        /* The bucket table: one random read per probe, prefetched AHEAD probes early. */
        Py_ssize_t nb = 0;
        for (Py_ssize_t p = 0; p < nprobe; p++) {
            if (p + AHEAD < nprobe) PREFETCH(table + keys[p + AHEAD]);
            int64_t e = table[keys[p]];
            int64_t cnt = e & cmask;
            if (cnt) {
                int64_t s = e >> shift;
                if (s < 0 || s + cnt > nperm) {
                    err = 2;
                    break;
                }
                bstart[nb] = s;
                bcount[nb] = cnt;
                nb++;
            }
        }
        if (err) break;
        /* The candidates: first 128 bits from the bucket-ordered prefix, then all 256. */
        size_t first_hit = hits.n;
        for (Py_ssize_t b = 0; b < nb && !err; b++) {
            if (b + AHEAD < nb) {
                /* Every cache line of the bucket AHEAD: its entries are read in a row. */
                const char *lo = (const char *)(prefix + 2 * bstart[b + AHEAD]);
                const char *hi = (const char *)(prefix + 2 * (bstart[b + AHEAD] + bcount[b + AHEAD]));
                for (const char *c = lo; c < hi; c += 64) PREFETCH(c);
            }
            int64_t s = bstart[b], e = s + bcount[b];
            for (int64_t pos = s; pos < e; pos++) {
                const uint64_t *pf = prefix + 2 * pos;
                int dh = POPCOUNT64(pf[0] ^ qw[0]) + POPCOUNT64(pf[1] ^ qw[1]);
                if (dh > threshold) continue;
                int64_t row = perm32 ? (int64_t)perm32[pos] : perm64[pos];
                if (row < 0 || row >= n) {
                    err = 2;
                    break;
                }
                const uint64_t *w = words + row * WORDS;
                int d = dh + POPCOUNT64(w[2] ^ qw[2]) + POPCOUNT64(w[3] ^ qw[3]);
                if (d <= threshold && hits_push(&hits, qi, row, d) < 0) {
                    err = 1;
                    break;
                }
            }
        }
        /* A near hash is often found through several chunks: keep it once (same distance). */
        size_t k = hits.n - first_hit;
        if (k > 1 && !err) {
            Hit *h = hits.v + first_hit;
            qsort(h, k, sizeof(Hit), by_row);
            size_t out = 1;
            for (size_t i = 1; i < k; i++)
                if (h[i].row != h[out - 1].row) h[out++] = h[i];
            hits.n = first_hit + out;
        }
    }
    if (released) PyEval_RestoreThread(released);
    if (err == 1) {
        PyErr_NoMemory();
        goto done;
    }
    if (err == 2) {
        PyErr_SetString(PyExc_ValueError, "PDQ index: a bucket or row points outside its array (corrupt snapshot)");
        goto done;
    }
    result = PyBytes_FromStringAndSize((const char *)hits.v, (Py_ssize_t)(hits.n * sizeof(Hit)));

done:
    free(keys);
    free(bstart);
    free(bcount);
    free(hits.v);
    release(&bq);
    release(&btable);
    release(&bperm);
    release(&bprefix);
    release(&bwords);
    release(&bstarts);
    release(&bbits);
    release(&bchunk);
    release(&bmask);
    release(&bbase);
    return result;
}

static PyMethodDef methods[] = {
    {"probe", probe, METH_VARARGS,
     "probe(queries, table, perm, prefix, words, starts, bits, chunk, mask, base, shift, threshold) -> bytes of "
     "int64 (query, row, distance) triples"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_pdq_probe", "Compiled probing kernel of PdqIndex.", -1,
                                    methods};

PyMODINIT_FUNC PyInit__pdq_probe(void) { return PyModule_Create(&module); }
