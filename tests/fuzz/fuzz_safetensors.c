/* fuzz_safetensors.c — libFuzzer target: arbitrary bytes as a whole safetensors file.
 *
 * Built by tests/fuzz/run_fuzz.sh (clang -fsanitize=fuzzer,address,undefined) and, with the
 * normal compiler, by tests/fuzz/replay.c for the ctest entry fuzz_safetensors_corpus.
 * Beyond "no crash", it checks what the reader promises for every file it accepts: each tensor
 * lies inside the input, its byte count matches dtype x shape, the tensors tile the buffer, and
 * lookups find what was parsed. A rejected file must come with a message naming the file.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/safetensors.h"

#define EXPECT(cond) \
    do {             \
        if (!(cond)) abort(); \
    } while (0)

static volatile uint8_t g_sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    vr_clear_error();
    st_file *f = st_open_memory(data, size, "fuzz");
    if (!f) {
        EXPECT(!strncmp(vr_error(), "fuzz: ", 6) && strlen(vr_error()) > 6);
        return 0;
    }
    EXPECT(f->data >= data && f->data + f->data_len == data + size);
    uint64_t pos = 0;
    uint8_t acc = 0;
    for (int i = 0; i < f->n_tensors; i++) {
        const st_tensor *t = &f->tensors[i];
        EXPECT(t->name && t->name[0] && t->ndim >= 0 && t->ndim <= ST_MAX_DIMS);
        EXPECT(st_find(f, t->name) == t);
        EXPECT(t->begin == pos && t->end >= t->begin && t->end <= f->data_len);
        pos = t->end;
        int64_t n = st_numel(t);
        EXPECT(n >= 0 && (uint64_t)n * st_dtype_size(t->dtype) == t->end - t->begin);
        /* read every byte the reader vouched for: ASan flags anything outside the input */
        const uint8_t *p = st_tensor_data(f, t);
        EXPECT(p != NULL);
        for (uint64_t k = 0; k < t->end - t->begin; k++) acc ^= p[k];
    }
    EXPECT(pos == f->data_len);
    for (int i = 0; i < f->n_meta; i++) EXPECT(st_meta(f, f->meta_keys[i]) != NULL && f->meta_values[i]);
    g_sink = acc;
    st_close(f);
    return 0;
}
