// tt.cpp — the libtorch side of tt.h. The only C++ translation unit in vrobin that includes
// torch headers (compiling it takes ~15 s; everything else is C and builds in a blink).
//
// Rules kept by every entry point:
//  * catch everything: c10::Error (shape errors etc.), std::exception, and anything else;
//    store "function: message" in a thread-local string and return NULL / -1;
//  * a NULL input keeps the earlier error (root cause) and returns NULL;
//  * every new handle is registered in the current scope (see tt_scope_begin).
#include <torch/torch.h>
#include <torch/version.h>
#include <ATen/autocast_mode.h>
#include <torch/csrc/autograd/profiler_legacy.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <tuple>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/fused.h"
#include "core/tt.h"

#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 1)
#define TT_HAVE_SDPA 1  // public scaled_dot_product_attention with a `scale` argument
#else
#define TT_HAVE_SDPA 0  // 1.13: only a private op whose signature changed in 2.x; do it by hand
#endif

#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define TT_AUTOCAST_DEVICE_API 1  // set_autocast_enabled(device_type, bool)
#else
#define TT_AUTOCAST_DEVICE_API 0  // set_cpu_enabled / set_enabled
#endif

struct tt_tensor {
    at::Tensor t;
    int depth;    // 0: caller-owned; k > 0: registered in scope k; -1: owned by a tt_params
    size_t slot;  // index in its scope's list
};

struct tt_gen {
    at::Generator g;
};

struct tt_params {
    std::vector<std::string> names;
    std::vector<tt_tensor *> tensors;
    std::unordered_map<std::string, int> index;
};

// ---- errors ---------------------------------------------------------------------------------

static thread_local std::string g_error;

static void set_error(const char *fn, const char *msg) {
    g_error = std::string(fn) + ": " + msg;
    // c10 messages may end with a newline or carry a second line of context; keep one line
    // per cause but strip trailing whitespace so messages compose cleanly.
    while (!g_error.empty() && (g_error.back() == '\n' || g_error.back() == ' ')) g_error.pop_back();
}

static std::nullptr_t null_arg(const char *fn, const char *name) {
    if (g_error.empty()) g_error = std::string(fn) + ": argument '" + name + "' is NULL";
    return nullptr;
}

extern "C" const char *tt_last_error(void) { return g_error.c_str(); }
extern "C" void tt_clear_error(void) { g_error.clear(); }

extern "C" void *tt_fail(const char *fmt, ...) {
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    g_error = buf;
    return nullptr;
}

#define TT_CATCH(fn)                                                  \
    catch (const c10::Error &e) {                                     \
        set_error(fn, e.what_without_backtrace());                    \
    }                                                                 \
    catch (const std::exception &e) {                                 \
        set_error(fn, e.what());                                      \
    }                                                                 \
    catch (...) {                                                     \
        set_error(fn, "unknown C++ exception");                       \
    }

// Wrap the body of a handle-returning op.
#define OP(...)              \
    try {                    \
        __VA_ARGS__          \
    }                        \
    TT_CATCH(__func__)       \
    return nullptr;

// Same for int-returning ops (0 ok, -1 error).
#define OPI(...)             \
    try {                    \
        __VA_ARGS__          \
        return 0;            \
    }                        \
    TT_CATCH(__func__)       \
    return -1;

#define ARG(x) \
    if (!(x)) return null_arg(__func__, #x)
#define ARGI(x)                    \
    if (!(x)) {                    \
        null_arg(__func__, #x);    \
        return -1;                 \
    }

// ---- scopes ---------------------------------------------------------------------------------

static thread_local std::vector<std::vector<tt_tensor *>> g_scopes;
static thread_local int64_t g_live = 0;

static tt_tensor *wrap(at::Tensor t) {
    tt_tensor *h = new tt_tensor{std::move(t), 0, 0};
    g_live++;
    if (!g_scopes.empty()) {
        h->depth = (int)g_scopes.size();
        h->slot = g_scopes.back().size();
        g_scopes.back().push_back(h);
    }
    return h;
}

static void unlink_from_scope(tt_tensor *h) {
    if (h->depth > 0 && (size_t)h->depth <= g_scopes.size()) {
        auto &s = g_scopes[h->depth - 1];
        if (h->slot < s.size() && s[h->slot] == h) s[h->slot] = nullptr;
    }
    if (h->depth > 0) h->depth = 0;
}

extern "C" void tt_scope_begin(void) { g_scopes.emplace_back(); }

extern "C" void tt_scope_end(void) {
    if (g_scopes.empty()) return;
    std::vector<tt_tensor *> s = std::move(g_scopes.back());
    g_scopes.pop_back();
    for (tt_tensor *h : s)
        if (h) {
            delete h;
            g_live--;
        }
}

extern "C" tt_tensor *tt_keep(tt_tensor *h) {
    if (!h || h->depth <= 0) return h;
    int parent = h->depth - 1;
    unlink_from_scope(h);
    if (parent > 0) {
        h->depth = parent;
        h->slot = g_scopes[parent - 1].size();
        g_scopes[parent - 1].push_back(h);
    }
    return h;
}

extern "C" void tt_free(tt_tensor *h) {
    if (!h || h->depth < 0) return;  // params are freed with their registry
    unlink_from_scope(h);
    delete h;
    g_live--;
}

extern "C" int tt_scope_depth(void) { return (int)g_scopes.size(); }
extern "C" int64_t tt_live_handles(void) { return g_live; }

// ---- dtypes and devices -----------------------------------------------------------------------

static at::ScalarType to_st(tt_dtype d) {
    switch (d) {
        case TT_F32: return at::kFloat;
        case TT_F64: return at::kDouble;
        case TT_F16: return at::kHalf;
        case TT_BF16: return at::kBFloat16;
        case TT_I64: return at::kLong;
        case TT_I32: return at::kInt;
        case TT_I16: return at::kShort;
        case TT_I8: return at::kChar;
        case TT_U8: return at::kByte;
        case TT_BOOL: return at::kBool;
        case TT_C64: return at::kComplexFloat;
    }
    throw std::invalid_argument("unknown tt_dtype " + std::to_string((int)d));
}

static tt_dtype from_st(at::ScalarType s) {
    switch (s) {
        case at::kFloat: return TT_F32;
        case at::kDouble: return TT_F64;
        case at::kHalf: return TT_F16;
        case at::kBFloat16: return TT_BF16;
        case at::kLong: return TT_I64;
        case at::kInt: return TT_I32;
        case at::kShort: return TT_I16;
        case at::kChar: return TT_I8;
        case at::kByte: return TT_U8;
        case at::kBool: return TT_BOOL;
        case at::kComplexFloat: return TT_C64;
        default: return (tt_dtype)-1;
    }
}

static thread_local tt_device g_device = TT_CPU;

static at::Device to_dev(tt_device d) { return d == TT_CUDA ? at::Device(at::kCUDA) : at::Device(at::kCPU); }

static at::TensorOptions opts(tt_dtype d) { return at::TensorOptions().dtype(to_st(d)).device(to_dev(g_device)); }

static std::vector<int64_t> dims_of(const int64_t *shape, int ndim) {
    if (ndim < 0 || ndim > 16) throw std::invalid_argument("ndim must be in 0..16, got " + std::to_string(ndim));
    if (ndim > 0 && !shape) throw std::invalid_argument("shape is NULL");
    return std::vector<int64_t>(shape, shape + ndim);
}

extern "C" size_t tt_dtype_size(tt_dtype d) {
    try {
        return c10::elementSize(to_st(d));
    } catch (...) {
        return 0;
    }
}

extern "C" const char *tt_dtype_name(tt_dtype d) {
    static const char *names[] = {"f32", "f64", "f16", "bf16", "i64", "i32", "i16", "i8", "u8", "bool", "c64"};
    return (int)d >= 0 && (int)d <= (int)TT_C64 ? names[d] : "?";
}

// ---- runtime ----------------------------------------------------------------------------------

extern "C" const char *tt_version(void) { return TORCH_VERSION; }

extern "C" char *tt_build_config(void) {
    try {
        return strdup(at::show_config().c_str());
    }
    TT_CATCH(__func__)
    return nullptr;
}

extern "C" int tt_cuda_available(void) {
    try {
        return torch::cuda::is_available() ? 1 : 0;
    } catch (...) {
        return 0;
    }
}

extern "C" int tt_has_fused_attention(void) { return TT_HAVE_SDPA; }

extern "C" void tt_set_num_threads(int n) {
    if (n > 0) at::set_num_threads(n);
}
extern "C" int tt_get_num_threads(void) { return at::get_num_threads(); }
extern "C" void tt_set_default_device(tt_device d) { g_device = d; }
extern "C" tt_device tt_get_default_device(void) { return g_device; }

extern "C" void tt_synchronize(void) {
    try {
        if (g_device == TT_CUDA && torch::cuda::is_available()) torch::cuda::synchronize();
    } catch (...) {
    }
}

// ---- info -------------------------------------------------------------------------------------

extern "C" int tt_ndim(const tt_tensor *t) { return t ? (int)t->t.dim() : -1; }

extern "C" int64_t tt_size(const tt_tensor *t, int dim) {
    if (!t) return null_arg(__func__, "t"), -1;
    try {
        return t->t.size(dim);
    }
    TT_CATCH(__func__)
    return -1;
}

extern "C" int64_t tt_numel(const tt_tensor *t) { return t ? t->t.numel() : -1; }

extern "C" int tt_shape(const tt_tensor *t, int64_t *out, int cap) {
    if (!t) return null_arg(__func__, "t"), -1;
    int nd = (int)t->t.dim();
    for (int i = 0; i < nd && i < cap; i++) out[i] = t->t.size(i);
    return nd;
}

extern "C" tt_dtype tt_dtype_of(const tt_tensor *t) { return t ? from_st(t->t.scalar_type()) : (tt_dtype)-1; }
extern "C" tt_device tt_device_of(const tt_tensor *t) { return t && t->t.is_cuda() ? TT_CUDA : TT_CPU; }

extern "C" char *tt_describe(const tt_tensor *t) {
    if (!t) return strdup("NULL");
    std::string s = tt_dtype_name(tt_dtype_of(t));
    s += "[";
    for (int i = 0; i < t->t.dim(); i++) s += (i ? ", " : "") + std::to_string(t->t.size(i));
    s += t->t.is_cuda() ? "] cuda" : "] cpu";
    if (t->t.requires_grad()) s += " requires_grad";
    return strdup(s.c_str());
}

// ---- creation ---------------------------------------------------------------------------------

extern "C" tt_tensor *tt_empty(const int64_t *shape, int ndim, tt_dtype dt) {
    OP(return wrap(at::empty(dims_of(shape, ndim), opts(dt)));)
}
extern "C" tt_tensor *tt_zeros(const int64_t *shape, int ndim, tt_dtype dt) {
    OP(return wrap(at::zeros(dims_of(shape, ndim), opts(dt)));)
}
extern "C" tt_tensor *tt_ones(const int64_t *shape, int ndim, tt_dtype dt) {
    OP(return wrap(at::ones(dims_of(shape, ndim), opts(dt)));)
}
extern "C" tt_tensor *tt_full(const int64_t *shape, int ndim, double value, tt_dtype dt) {
    OP(return wrap(at::full(dims_of(shape, ndim), value, opts(dt)));)
}
extern "C" tt_tensor *tt_scalar(double value, tt_dtype dt) { OP(return wrap(at::scalar_tensor(value, opts(dt)));) }
extern "C" tt_tensor *tt_arange(double start, double end, double step, tt_dtype dt) {
    OP(return wrap(at::arange(start, end, step, opts(dt)));)
}
extern "C" tt_tensor *tt_eye(int64_t n, tt_dtype dt) { OP(return wrap(at::eye(n, opts(dt)));) }
extern "C" tt_tensor *tt_hann_window(int64_t n, tt_dtype dt) {
    OP(return wrap(at::hann_window(n, /*periodic=*/true, opts(dt)));)
}

extern "C" tt_tensor *tt_from_data(const void *data, tt_dtype dt, const int64_t *shape, int ndim) {
    OP({
        auto dims = dims_of(shape, ndim);
        int64_t n = 1;
        for (int64_t d : dims) n *= d;
        if (n > 0 && !data) throw std::invalid_argument("data is NULL");
        // from_blob does not own the memory: clone before the caller's buffer can go away.
        at::Tensor cpu = n > 0 ? at::from_blob(const_cast<void *>(data), dims, at::TensorOptions().dtype(to_st(dt))).clone()
                               : at::empty(dims, at::TensorOptions().dtype(to_st(dt)));
        return wrap(g_device == TT_CPU ? cpu : cpu.to(to_dev(g_device)));
    })
}

extern "C" int tt_to_data(const tt_tensor *t, void *dst, size_t nbytes) {
    ARGI(t);
    OPI({
        at::Tensor c = t->t.detach().to(at::kCPU).contiguous();
        size_t need = (size_t)c.numel() * c.element_size();
        if (need != nbytes)
            throw std::invalid_argument("buffer holds " + std::to_string(nbytes) + " bytes, tensor needs " +
                                        std::to_string(need));
        if (need) std::memcpy(dst, c.data_ptr(), need);
    })
}

extern "C" int tt_item(const tt_tensor *t, double *out) {
    ARGI(t);
    OPI({
        if (t->t.numel() != 1)
            throw std::invalid_argument("tensor has " + std::to_string(t->t.numel()) + " elements, expected 1");
        *out = t->t.item().toDouble();
    })
}

extern "C" void *tt_data_ptr(tt_tensor *t) {
    if (!t) return null_arg(__func__, "t");
    if (!t->t.is_cpu() || !t->t.is_contiguous()) {
        set_error(__func__, "tensor is not a contiguous CPU tensor");
        return nullptr;
    }
    return t->t.data_ptr();
}

// ---- random -----------------------------------------------------------------------------------
// Numbers are always drawn on the CPU generator and moved to the device, so a seed gives the
// same stream on CPU and CUDA (at a small copy cost on GPUs).

extern "C" tt_gen *tt_gen_new(uint64_t seed) {
    try {
        return new tt_gen{at::make_generator<at::CPUGeneratorImpl>(seed)};
    }
    TT_CATCH(__func__)
    return nullptr;
}

extern "C" void tt_gen_free(tt_gen *g) { delete g; }

extern "C" int64_t tt_gen_get_state(tt_gen *g, void *buf, size_t cap) {
    ARGI(g);
    try {
        std::lock_guard<std::mutex> lock(g->g.mutex());
        at::Tensor s = g->g.get_state();
        size_t n = (size_t)s.numel();
        if (buf && cap >= n) std::memcpy(buf, s.data_ptr(), n);
        return (int64_t)n;
    }
    TT_CATCH(__func__)
    return -1;
}

extern "C" int tt_gen_set_state(tt_gen *g, const void *buf, size_t n) {
    ARGI(g);
    ARGI(buf);
    OPI({
        at::Tensor s = at::empty({(int64_t)n}, at::kByte);
        std::memcpy(s.data_ptr(), buf, n);
        std::lock_guard<std::mutex> lock(g->g.mutex());
        g->g.set_state(s);
    })
}

static at::Tensor on_device(at::Tensor cpu) { return g_device == TT_CPU ? cpu : cpu.to(to_dev(g_device)); }

static at::TensorOptions cpu_opts(tt_dtype d) { return at::TensorOptions().dtype(to_st(d)); }

extern "C" tt_tensor *tt_randn(tt_gen *g, const int64_t *shape, int ndim, tt_dtype dt) {
    ARG(g);
    OP(return wrap(on_device(at::randn(dims_of(shape, ndim), g->g, cpu_opts(dt))));)
}
extern "C" tt_tensor *tt_rand(tt_gen *g, const int64_t *shape, int ndim, tt_dtype dt) {
    ARG(g);
    OP(return wrap(on_device(at::rand(dims_of(shape, ndim), g->g, cpu_opts(dt))));)
}
extern "C" tt_tensor *tt_randint(tt_gen *g, int64_t low, int64_t high, const int64_t *shape, int ndim) {
    ARG(g);
    OP(return wrap(on_device(at::randint(low, high, dims_of(shape, ndim), g->g, cpu_opts(TT_I64))));)
}
extern "C" tt_tensor *tt_randperm(tt_gen *g, int64_t n) {
    ARG(g);
    OP(return wrap(on_device(at::randperm(n, g->g, cpu_opts(TT_I64))));)
}
extern "C" int tt_normal_(tt_tensor *t, tt_gen *g, double mean, double std) {
    ARGI(t);
    ARGI(g);
    OPI({
        at::NoGradGuard ng;
        at::Tensor r = at::empty(t->t.sizes(), at::TensorOptions().dtype(t->t.scalar_type()));
        r.normal_(mean, std, g->g);
        t->t.copy_(r);
    })
}
extern "C" int tt_uniform_(tt_tensor *t, tt_gen *g, double lo, double hi) {
    ARGI(t);
    ARGI(g);
    OPI({
        at::NoGradGuard ng;
        at::Tensor r = at::empty(t->t.sizes(), at::TensorOptions().dtype(t->t.scalar_type()));
        r.uniform_(lo, hi, g->g);
        t->t.copy_(r);
    })
}

// ---- copies, dtype, device ----------------------------------------------------------------------

#define UNARY(name, expr)                     \
    extern "C" tt_tensor *name(const tt_tensor *a_) { \
        ARG(a_);                              \
        OP(const at::Tensor &a = a_->t; return wrap(expr);) \
    }
#define BINARY(name, expr)                                       \
    extern "C" tt_tensor *name(const tt_tensor *a_, const tt_tensor *b_) { \
        ARG(a_);                                                 \
        ARG(b_);                                                 \
        OP(const at::Tensor &a = a_->t; const at::Tensor &b = b_->t; return wrap(expr);) \
    }

UNARY(tt_clone, a.clone())
UNARY(tt_detach, a.detach())
UNARY(tt_contiguous, a.contiguous())

extern "C" tt_tensor *tt_to_dtype(const tt_tensor *a, tt_dtype dt) {
    ARG(a);
    OP(return wrap(a->t.to(to_st(dt)));)
}
extern "C" tt_tensor *tt_to_device(const tt_tensor *a, tt_device d) {
    ARG(a);
    OP(return wrap(a->t.to(to_dev(d)));)
}

// ---- elementwise ------------------------------------------------------------------------------

BINARY(tt_add, a + b)
BINARY(tt_sub, a - b)
BINARY(tt_mul, a * b)
BINARY(tt_div, a / b)
BINARY(tt_maximum, at::maximum(a, b))
BINARY(tt_minimum, at::minimum(a, b))
BINARY(tt_pow, at::pow(a, b))

extern "C" tt_tensor *tt_add_scalar(const tt_tensor *a, double s) { ARG(a); OP(return wrap(a->t + s);) }
extern "C" tt_tensor *tt_mul_scalar(const tt_tensor *a, double s) { ARG(a); OP(return wrap(a->t * s);) }
extern "C" tt_tensor *tt_rsub_scalar(double s, const tt_tensor *a) { ARG(a); OP(return wrap(s - a->t);) }
extern "C" tt_tensor *tt_pow_scalar(const tt_tensor *a, double p) { ARG(a); OP(return wrap(at::pow(a->t, p));) }
extern "C" tt_tensor *tt_clamp(const tt_tensor *a, double lo, double hi) {
    ARG(a);
    OP(return wrap(at::clamp(a->t, lo, hi));)
}

UNARY(tt_neg, at::neg(a))
UNARY(tt_exp, at::exp(a))
UNARY(tt_log, at::log(a))
UNARY(tt_sqrt, at::sqrt(a))
UNARY(tt_rsqrt, at::rsqrt(a))
UNARY(tt_abs, at::abs(a))
UNARY(tt_square, at::square(a))
UNARY(tt_tanh, at::tanh(a))
UNARY(tt_sigmoid, at::sigmoid(a))
UNARY(tt_sin, at::sin(a))
UNARY(tt_cos, at::cos(a))
UNARY(tt_round, at::round(a))
UNARY(tt_floor, at::floor(a))
UNARY(tt_sign, at::sign(a))
UNARY(tt_relu, at::relu(a))
UNARY(tt_silu, at::silu(a))
UNARY(tt_round_ste, a + (at::round(a) - a).detach())
UNARY(tt_logical_not, at::logical_not(a))
UNARY(tt_isfinite, at::isfinite(a))
UNARY(tt_angle, at::angle(a))
UNARY(tt_real, at::real(a))
UNARY(tt_imag, at::imag(a))
UNARY(tt_diagonal, at::diagonal(a))

// Under CPU bf16 autocast the fused kernels' inputs arrive as the bf16 outputs of linears. They
// run on a float copy (one conversion pass) rather than on libtorch's composite ops, which in 1.13
// are several times slower in bf16 on CPU (the bf16 variant of bench/run_robin_train_bench.sh);
// the outputs are float, which autocast's next linear casts back. Outside autocast nothing changes.
static at::Tensor autocast_f32(const at::Tensor &t) {
    bool low = t.scalar_type() == at::kBFloat16 || t.scalar_type() == at::kHalf;
    return low && t.device().is_cpu() && at::autocast::is_cpu_enabled() ? t.to(at::kFloat) : t;
}

// GELU (tanh form) on contiguous f32 CPU tensors through the fused loops of core/fused.h: one
// pass forward, one backward, instead of libtorch 1.13's Sleef tanh passes (18 % of a training
// step of the small model). Saves its input as at::gelu does; no double backward.
struct GeluTanhFused : public torch::autograd::Function<GeluTanhFused> {
    static at::Tensor forward(torch::autograd::AutogradContext *ctx, const at::Tensor &x) {
        ctx->save_for_backward({x});
        at::Tensor y = at::empty_like(x);
        vr_gelu_tanh_fwd(x.data_ptr<float>(), y.data_ptr<float>(), (size_t)x.numel());
        return y;
    }
    static torch::autograd::variable_list backward(torch::autograd::AutogradContext *ctx,
                                                   torch::autograd::variable_list gy) {
        at::Tensor x = ctx->get_saved_variables()[0], g = gy[0].contiguous().to(at::kFloat);
        at::Tensor gx = at::empty_like(x);
        vr_gelu_tanh_bwd(x.data_ptr<float>(), g.data_ptr<float>(), gx.data_ptr<float>(), (size_t)x.numel());
        return {gx};
    }
};

extern "C" tt_tensor *tt_gelu(const tt_tensor *a, int tanh_approx) {
    ARG(a);
    OP(at::Tensor x = tanh_approx ? autocast_f32(a->t) : a->t;
       if (tanh_approx && x.device().is_cpu() && x.scalar_type() == at::kFloat && x.is_contiguous() && x.numel() > 0)
           return wrap(GeluTanhFused::apply(x));
       return wrap(at::gelu(a->t, tanh_approx ? "tanh" : "none"));)
}

BINARY(tt_lt, at::lt(a, b))
BINARY(tt_gt, at::gt(a, b))
BINARY(tt_eq, at::eq(a, b))
BINARY(tt_logical_and, at::logical_and(a, b))
extern "C" tt_tensor *tt_lt_scalar(const tt_tensor *a, double s) { ARG(a); OP(return wrap(at::lt(a->t, s));) }
extern "C" tt_tensor *tt_gt_scalar(const tt_tensor *a, double s) { ARG(a); OP(return wrap(at::gt(a->t, s));) }
extern "C" tt_tensor *tt_eq_scalar(const tt_tensor *a, double s) { ARG(a); OP(return wrap(at::eq(a->t, s));) }

extern "C" tt_tensor *tt_where(const tt_tensor *cond, const tt_tensor *a, const tt_tensor *b) {
    ARG(cond);
    ARG(a);
    ARG(b);
    OP(return wrap(at::where(cond->t, a->t, b->t));)
}
extern "C" tt_tensor *tt_masked_fill(const tt_tensor *a, const tt_tensor *mask, double value) {
    ARG(a);
    ARG(mask);
    OP(return wrap(a->t.masked_fill(mask->t, value));)
}
extern "C" tt_tensor *tt_tril(const tt_tensor *a, int64_t k) { ARG(a); OP(return wrap(at::tril(a->t, k));) }
extern "C" tt_tensor *tt_triu(const tt_tensor *a, int64_t k) { ARG(a); OP(return wrap(at::triu(a->t, k));) }

// ---- linear algebra ---------------------------------------------------------------------------

BINARY(tt_matmul, at::matmul(a, b))
BINARY(tt_cdist, at::cdist(a, b))

static c10::optional<at::Tensor> opt(const tt_tensor *t) {
    return t ? c10::optional<at::Tensor>(t->t) : c10::optional<at::Tensor>();
}

extern "C" tt_tensor *tt_linear(const tt_tensor *x, const tt_tensor *w, const tt_tensor *b) {
    ARG(x);
    ARG(w);
    OP(return wrap(at::linear(x->t, w->t, opt(b)));)
}

extern "C" int tt_linalg_eigh(const tt_tensor *a, tt_tensor **evals, tt_tensor **evecs) {
    ARGI(a);
    OPI({
        auto r = at::linalg_eigh(a->t, "L");
        *evals = wrap(std::get<0>(r));
        *evecs = wrap(std::get<1>(r));
    })
}

// ---- neural-net ops ---------------------------------------------------------------------------

extern "C" tt_tensor *tt_softmax(const tt_tensor *a, int dim) { ARG(a); OP(return wrap(at::softmax(a->t, dim));) }
extern "C" tt_tensor *tt_log_softmax(const tt_tensor *a, int dim) {
    ARG(a);
    OP(return wrap(at::log_softmax(a->t, dim));)
}

extern "C" tt_tensor *tt_layer_norm(const tt_tensor *x, const tt_tensor *w, const tt_tensor *b, double eps) {
    ARG(x);
    OP(return wrap(at::layer_norm(x->t, {x->t.size(-1)}, opt(w), opt(b), eps));)
}

extern "C" tt_tensor *tt_rms_norm(const tt_tensor *x, const tt_tensor *w, double eps) {
    ARG(x);
    OP({
        at::Tensor y = x->t * at::rsqrt(x->t.square().mean(-1, /*keepdim=*/true) + eps);
        return wrap(w ? y * w->t : y);
    })
}

extern "C" tt_tensor *tt_embedding(const tt_tensor *weight, const tt_tensor *indices) {
    ARG(weight);
    ARG(indices);
    OP(return wrap(at::embedding(weight->t, indices->t));)
}

// Causal mask aligned at the end: query i (of Tq) sees keys j <= i + Tk - Tq, as an additive
// float mask (0 / -inf). Cached per shape/dtype/device and thread: rebuilding it costs three
// dispatched ops per attention call, which is most of the per-call overhead for short sequences.
static at::Tensor causal_additive_mask(int64_t tq, int64_t tk, const at::TensorOptions &o) {
    static thread_local std::map<std::tuple<int64_t, int64_t, int, int, int>, at::Tensor> cache;
    auto key = std::make_tuple(tq, tk, (int)o.dtype().toScalarType(), (int)o.device().type(), (int)o.device().index());
    auto it = cache.find(key);
    if (it != cache.end()) return it->second;
    at::NoGradGuard ng;
    at::Tensor allowed = at::ones({tq, tk}, o.dtype(at::kBool)).tril(tk - tq);
    at::Tensor m = at::zeros({tq, tk}, o).masked_fill(allowed.logical_not(), -std::numeric_limits<float>::infinity());
    if (cache.size() > 64) cache.clear();
    cache.emplace(key, m);
    return m;
}

// ---- adaLN: LayerNorm + modulation, gated residual, through core/fused.h ----

// rows [N, 1, d] of shift/scale/gate with contiguous elements, read at a row stride (chunks of
// the stacked adaLN projection are such views)
static bool row_view_fits(const at::Tensor &r, const at::Tensor &x) {
    return r.dim() == 3 && r.size(0) == x.size(0) && r.size(1) == 1 && r.size(2) == x.size(2) && r.stride(2) == 1 &&
           r.scalar_type() == at::kFloat && r.device().is_cpu();
}

static bool dit_fused_fits(const at::Tensor &x) {
    return x.dim() == 3 && x.scalar_type() == at::kFloat && x.device().is_cpu() && x.numel() > 0;
}

struct LnModulate : public torch::autograd::Function<LnModulate> {
    static at::Tensor forward(torch::autograd::AutogradContext *ctx, const at::Tensor &x, const at::Tensor &shift,
                              const at::Tensor &scale, double eps) {
        int64_t N = x.size(0), S = x.size(1), d = x.size(2);
        at::Tensor y = at::empty_like(x), stats = at::empty({N * S, 2}, x.options());
        // shift and scale may sit at different row strides: the kernel takes one, so align them
        at::Tensor sh = shift.stride(0) == scale.stride(0) ? shift : shift.contiguous();
        at::Tensor sc = shift.stride(0) == scale.stride(0) ? scale : scale.contiguous();
        vr_ln_modulate_fwd(x.data_ptr<float>(), sh.data_ptr<float>(), sc.data_ptr<float>(), sc.stride(0),
                           y.data_ptr<float>(), stats.data_ptr<float>(), N, (int)S, (int)d, (float)eps);
        ctx->save_for_backward({x, sc, stats});
        return y;
    }
    static torch::autograd::variable_list backward(torch::autograd::AutogradContext *ctx,
                                                   torch::autograd::variable_list grads) {
        auto saved = ctx->get_saved_variables();
        at::Tensor x = saved[0], sc = saved[1], stats = saved[2], gy = grads[0].contiguous();
        int64_t N = x.size(0), S = x.size(1), d = x.size(2);
        at::Tensor gx = at::empty_like(x), gshift = at::empty({N, 1, d}, x.options()),
                   gscale = at::empty({N, 1, d}, x.options());
        vr_ln_modulate_bwd(x.data_ptr<float>(), sc.data_ptr<float>(), sc.stride(0), stats.data_ptr<float>(),
                           gy.data_ptr<float>(), gx.data_ptr<float>(), gshift.data_ptr<float>(),
                           gscale.data_ptr<float>(), N, (int)S, (int)d);
        return {gx, gshift, gscale, at::Tensor()};
    }
};

struct GatedAdd : public torch::autograd::Function<GatedAdd> {
    static at::Tensor forward(torch::autograd::AutogradContext *ctx, const at::Tensor &x, const at::Tensor &gate,
                              const at::Tensor &y) {
        int64_t N = x.size(0), S = x.size(1), d = x.size(2);
        at::Tensor h = at::empty_like(x);
        vr_gated_add_fwd(x.data_ptr<float>(), gate.data_ptr<float>(), gate.stride(0), y.data_ptr<float>(),
                         h.data_ptr<float>(), N, (int)S, (int)d);
        ctx->save_for_backward({gate, y});
        return h;
    }
    static torch::autograd::variable_list backward(torch::autograd::AutogradContext *ctx,
                                                   torch::autograd::variable_list grads) {
        auto saved = ctx->get_saved_variables();
        at::Tensor gate = saved[0], y = saved[1], gh = grads[0].contiguous();
        int64_t N = y.size(0), S = y.size(1), d = y.size(2);
        at::Tensor gy = at::empty_like(y), ggate = at::empty({N, 1, d}, y.options());
        vr_gated_add_bwd(gate.data_ptr<float>(), gate.stride(0), y.data_ptr<float>(), gh.data_ptr<float>(),
                         gy.data_ptr<float>(), ggate.data_ptr<float>(), N, (int)S, (int)d);
        return {gh, ggate, gy};
    }
};

extern "C" tt_tensor *tt_ln_modulate(const tt_tensor *x, const tt_tensor *shift, const tt_tensor *scale, double eps) {
    ARG(x);
    ARG(shift);
    ARG(scale);
    OP({
        at::Tensor xf = autocast_f32(x->t), sh = autocast_f32(shift->t), sc = autocast_f32(scale->t);
        if (dit_fused_fits(xf) && row_view_fits(sh, xf) && row_view_fits(sc, xf))
            return wrap(LnModulate::apply(xf.contiguous(), sh, sc, eps));
        at::Tensor ln = at::layer_norm(x->t, {x->t.size(-1)}, {}, {}, eps);
        return wrap(ln * (scale->t + 1.0) + shift->t);
    })
}

extern "C" tt_tensor *tt_gated_add(const tt_tensor *x, const tt_tensor *gate, const tt_tensor *y) {
    ARG(x);
    ARG(gate);
    ARG(y);
    OP({
        at::Tensor xf = autocast_f32(x->t), gf = autocast_f32(gate->t), yf = autocast_f32(y->t);
        if (dit_fused_fits(xf) && row_view_fits(gf, xf) && yf.sizes() == xf.sizes() && yf.scalar_type() == at::kFloat &&
            yf.device().is_cpu())
            return wrap(GatedAdd::apply(xf.contiguous(), gf, yf.contiguous()));
        return wrap(x->t + gate->t * y->t);
    })
}

// ---- attention over short sequences through core/fused.h (no mask, f32, CPU) ----

// where each [.., T, D] sequence of t starts, in elements from t's first one (row-major order)
static std::vector<int64_t> sequence_offsets(const at::Tensor &t) {
    std::vector<int64_t> off(1, 0);
    for (int64_t a = 0; a < t.dim() - 2; a++) {
        std::vector<int64_t> next;
        next.reserve(off.size() * t.size(a));
        for (int64_t o : off)
            for (int64_t i = 0; i < t.size(a); i++) next.push_back(o + i * t.stride(a));
        off.swap(next);
    }
    return off;
}

static vr_attn_view attn_view(const at::Tensor &t, const std::vector<int64_t> &off) {
    return vr_attn_view{t.data_ptr<float>(), off.data(), t.stride(-2)};
}

// The short kernels on [.., T, D] views (any strides with contiguous elements): o = attention,
// p receives the probabilities; and the gradients from them into gq, gk, gv (overwritten).
static at::Tensor attn_short_forward(const at::Tensor &q, const at::Tensor &k, const at::Tensor &v,
                                     const at::Tensor &o, double scale) {
    std::vector<int64_t> oq = sequence_offsets(q), ok = sequence_offsets(k), ov = sequence_offsets(v),
                         oo = sequence_offsets(o);
    int64_t tq = q.size(-2), tk = k.size(-2);
    at::Tensor p = at::empty({(int64_t)oq.size(), tq, tk}, q.options());
    vr_attn_short_fwd(attn_view(q, oq), attn_view(k, ok), attn_view(v, ov), attn_view(o, oo), p.data_ptr<float>(),
                      (int64_t)oq.size(), (int)tq, (int)tk, (int)q.size(-1), (int)v.size(-1), (float)scale);
    return p;
}

static void attn_short_backward(const at::Tensor &q, const at::Tensor &k, const at::Tensor &v, const at::Tensor &p,
                                const at::Tensor &go, const at::Tensor &gq, const at::Tensor &gk, const at::Tensor &gv,
                                double scale) {
    std::vector<int64_t> oq = sequence_offsets(q), ok = sequence_offsets(k), ov = sequence_offsets(v),
                         og = sequence_offsets(go), ogq = sequence_offsets(gq), ogk = sequence_offsets(gk),
                         ogv = sequence_offsets(gv);
    vr_attn_short_bwd(attn_view(q, oq), attn_view(k, ok), attn_view(v, ov), p.data_ptr<float>(), attn_view(go, og),
                      attn_view(gq, ogq), attn_view(gk, ogk), attn_view(gv, ogv), (int64_t)oq.size(), (int)q.size(-2),
                      (int)k.size(-2), (int)q.size(-1), (int)v.size(-1), (float)scale);
}

struct AttnShort : public torch::autograd::Function<AttnShort> {
    static at::Tensor forward(torch::autograd::AutogradContext *ctx, const at::Tensor &q, const at::Tensor &k,
                              const at::Tensor &v, double scale) {
        int64_t tq = q.size(-2), dv = v.size(-1);
        // [B, H, T, D] heads: the output laid out [B, T, H, D], so merging the heads is a view
        std::vector<int64_t> shape = q.sizes().vec();
        shape.back() = dv;
        at::Tensor o = q.dim() == 4 ? at::empty({q.size(0), tq, q.size(1), dv}, q.options()).permute({0, 2, 1, 3})
                                    : at::empty(shape, q.options());
        at::Tensor p = attn_short_forward(q, k, v, o, scale);
        ctx->save_for_backward({q, k, v, p});
        ctx->saved_data["scale"] = scale;
        return o;
    }
    static torch::autograd::variable_list backward(torch::autograd::AutogradContext *ctx,
                                                   torch::autograd::variable_list grads) {
        auto saved = ctx->get_saved_variables();
        at::Tensor q = saved[0], k = saved[1], v = saved[2], p = saved[3], go = grads[0];
        if (go.stride(-1) != 1 || go.scalar_type() != at::kFloat) go = go.to(at::kFloat).contiguous();
        at::Tensor gq = at::empty(q.sizes().vec(), q.options()), gk = at::empty(k.sizes().vec(), k.options()),
                   gv = at::empty(v.sizes().vec(), v.options());
        attn_short_backward(q, k, v, p, go, gq, gk, gv, ctx->saved_data["scale"].toDouble());
        return {gq, gk, gv, at::Tensor()};
    }
};

// the short-sequence kernel applies: no mask, f32 CPU, <= VR_ATTN_SHORT_MAX tokens, the same
// batch dimensions on q, k, v, elements contiguous
static bool attn_short_fits(const at::Tensor &q, const at::Tensor &k, const at::Tensor &v) {
    if (q.dim() < 3 || k.dim() != q.dim() || v.dim() != q.dim()) return false;
    for (const at::Tensor *t : {&q, &k, &v})
        if (!t->device().is_cpu() || t->scalar_type() != at::kFloat || t->stride(-1) != 1 || t->numel() == 0)
            return false;
    for (int64_t a = 0; a < q.dim() - 2; a++)
        if (k.size(a) != q.size(a) || v.size(a) != q.size(a)) return false;
    return q.size(-2) <= VR_ATTN_SHORT_MAX && k.size(-2) <= VR_ATTN_SHORT_MAX && v.size(-2) == k.size(-2) &&
           k.size(-1) == q.size(-1);
}

// softmax(s q k^T + mask) v by libtorch's ops, for any dtype, device, mask and length
static at::Tensor attention_general(const at::Tensor &q, const at::Tensor &k, const at::Tensor &v,
                                    const at::Tensor &mask, bool causal, double s) {
    int64_t tq = q.size(-2), tk = k.size(-2);
    at::TensorOptions fo = q.options();
    // one additive mask [.., Tq, Tk] (or none) from the causal flag and the caller's mask
    at::Tensor add;
    if (causal) add = causal_additive_mask(tq, tk, fo);
    if (mask.defined()) {
        at::Tensor m = mask.scalar_type() == at::kBool
                           ? at::zeros(mask.sizes(), fo).masked_fill(mask.logical_not(),
                                                                        -std::numeric_limits<float>::infinity())
                           : mask;
        add = add.defined() ? add + m : m;
    }
#if TT_HAVE_SDPA
    bool plain_causal = causal && !mask.defined() && tq == tk;  // SDPA's is_causal aligns top-left
    return at::scaled_dot_product_attention(
        q, k, v, (plain_causal || !add.defined()) ? c10::optional<at::Tensor>() : c10::optional<at::Tensor>(add),
        0.0, plain_causal, s);
#else
    // [.., T, D] -> [N, T, D]; scores = s * q k^T + mask in one baddbmm (matmul, scale and mask
    // fused), softmax, then p v.
    std::vector<int64_t> batch(q.sizes().begin(), q.sizes().end() - 2);
    int64_t d = q.size(-1);
    at::Tensor q3 = q.reshape({-1, tq, d}), k3 = k.reshape({-1, tk, d}), v3 = v.reshape({-1, tk, v.size(-1)});
    int64_t n = q3.size(0);
    at::Tensor scores;
    if (add.defined()) {
        if (add.dim() > 2) {  // a batched mask: broadcast over q's batch dims, then flatten
            std::vector<int64_t> full(batch);
            full.push_back(tq);
            full.push_back(tk);
            add = add.expand(full).reshape({n, tq, tk});
        }
        scores = at::baddbmm(add, q3, k3.transpose(1, 2), 1.0, s);
    } else {
        scores = at::bmm(q3, k3.transpose(1, 2)) * s;
    }
    at::Tensor out = at::bmm(at::softmax(scores, -1), v3);
    std::vector<int64_t> shape(batch);
    shape.push_back(tq);
    shape.push_back(v.size(-1));
    return out.reshape(shape);
#endif
}

extern "C" tt_tensor *tt_attention(const tt_tensor *q, const tt_tensor *k, const tt_tensor *v, const tt_tensor *mask,
                                   int causal, double scale) {
    ARG(q);
    ARG(k);
    ARG(v);
    OP({
        double s = scale > 0 ? scale : 1.0 / std::sqrt((double)q->t.size(-1));
        if (!causal && !mask && attn_short_fits(q->t, k->t, v->t)) return wrap(AttnShort::apply(q->t, k->t, v->t, s));
        return wrap(attention_general(q->t, k->t, v->t, mask ? mask->t : at::Tensor(), causal, s));
    })
}

// ---- attention on a fused QKV projection ----
// A transformer's qkv projection [B, T, 3C] holds q, k and v of every head. Split with permute +
// select (as tt_attention's callers did), autograd's backward of the split costs a zero fill of
// the whole [3, B, H, T, D] gradient per head group, a copy into it and two adds, then a copy back
// through the permute: about ten passes over an activation where one does. These two functions
// take the projection itself and hand its gradient back in one pass.

// q, k, v of heads x [B, T, 3, H, D] -> [B, H, T, D] each, the heads made contiguous
static at::Tensor head_group(const at::Tensor &x, int64_t i) { return x.select(2, i).permute({0, 2, 1, 3}); }

struct SplitHeads : public torch::autograd::Function<SplitHeads> {
    static torch::autograd::variable_list forward(torch::autograd::AutogradContext *ctx, const at::Tensor &x) {
        ctx->saved_data["sizes"] = x.sizes().vec();
        return {head_group(x, 0).contiguous(), head_group(x, 1).contiguous(), head_group(x, 2).contiguous()};
    }
    static torch::autograd::variable_list backward(torch::autograd::AutogradContext *ctx,
                                                   torch::autograd::variable_list g) {
        // (autograd materialises the gradient of an unused output as zeros: all three are defined)
        at::Tensor gx = at::empty(ctx->saved_data["sizes"].toIntVector(), g[0].options());
        for (int64_t i = 0; i < 3; i++) head_group(gx, i).copy_(g[i]);
        return {gx};
    }
};

// The short-sequence kernel straight on the projection: q, k, v are strided views of it, the
// output is laid out [B, T, H, D] (heads merged by a view), the backward writes the projection's
// gradient whole (the three views cover it, so no fill).
struct AttnShortQKV : public torch::autograd::Function<AttnShortQKV> {
    static at::Tensor forward(torch::autograd::AutogradContext *ctx, const at::Tensor &x, double scale) {
        at::Tensor o = at::empty({x.size(0), x.size(1), x.size(3), x.size(4)}, x.options()); // [B, T, H, D]
        at::Tensor p = attn_short_forward(head_group(x, 0), head_group(x, 1), head_group(x, 2), o.permute({0, 2, 1, 3}),
                                          scale);
        ctx->save_for_backward({x, p});
        ctx->saved_data["scale"] = scale;
        return o;
    }
    static torch::autograd::variable_list backward(torch::autograd::AutogradContext *ctx,
                                                   torch::autograd::variable_list grads) {
        auto saved = ctx->get_saved_variables();
        at::Tensor x = saved[0], p = saved[1], go = grads[0];
        if (go.stride(-1) != 1 || go.scalar_type() != at::kFloat) go = go.to(at::kFloat).contiguous();
        at::Tensor gx = at::empty_like(x, at::MemoryFormat::Contiguous);
        attn_short_backward(head_group(x, 0), head_group(x, 1), head_group(x, 2), p, go.permute({0, 2, 1, 3}),
                            head_group(gx, 0), head_group(gx, 1), head_group(gx, 2),
                            ctx->saved_data["scale"].toDouble());
        return {gx, at::Tensor()};
    }
};

extern "C" tt_tensor *tt_attention_qkv(const tt_tensor *qkv, int n_heads, const tt_tensor *mask, int causal,
                                       double scale) {
    ARG(qkv);
    const at::Tensor &a = qkv->t;
    if (a.dim() != 3 || n_heads < 1 || a.size(2) % (3 * (int64_t)n_heads) || a.size(2) == 0) {
        char *desc = tt_describe(qkv);
        tt_fail("tt_attention_qkv: projection %s with %d heads: expected [B, T, 3C], C a multiple of the heads", desc,
                n_heads);
        free(desc);
        return nullptr;
    }
    OP({
        int64_t B = a.size(0), T = a.size(1), C = a.size(2) / 3, D = C / n_heads;
        double s = scale > 0 ? scale : 1.0 / std::sqrt((double)D);
        at::Tensor x = autocast_f32(a).reshape({B, T, 3, n_heads, D});
        if (!causal && !mask && x.is_contiguous() && x.device().is_cpu() && x.scalar_type() == at::kFloat &&
            x.numel() > 0 && T <= VR_ATTN_SHORT_MAX)
            return wrap(AttnShortQKV::apply(x, s).reshape({B, T, C}));
        auto qkv3 = SplitHeads::apply(a.reshape({B, T, 3, n_heads, D}));
        at::Tensor out = attention_general(qkv3[0], qkv3[1], qkv3[2], mask ? mask->t : at::Tensor(), causal, s);
        return wrap(out.transpose(1, 2).reshape({B, T, C}));
    })
}

extern "C" tt_tensor *tt_dropout(const tt_tensor *x, double p, int train, tt_gen *g) {
    ARG(x);
    OP({
        if (!train || p <= 0) return wrap(x->t);
        if (!g) throw std::invalid_argument("dropout needs a generator");
        if (p >= 1) return wrap(at::zeros_like(x->t));
        at::Tensor keep = at::rand(x->t.sizes(), g->g, at::TensorOptions().dtype(at::kFloat)).ge(p);
        keep = keep.to(x->t.device()).to(x->t.scalar_type());
        return wrap(x->t * keep * (1.0 / (1.0 - p)));
    })
}

extern "C" tt_tensor *tt_mse_loss(const tt_tensor *pred, const tt_tensor *target) {
    ARG(pred);
    ARG(target);
    OP(return wrap(at::mse_loss(pred->t, target->t));)
}

extern "C" tt_tensor *tt_cross_entropy(const tt_tensor *logits, const tt_tensor *target) {
    ARG(logits);
    ARG(target);
    OP(return wrap(at::cross_entropy_loss(logits->t, target->t));)
}

extern "C" tt_tensor *tt_conv1d(const tt_tensor *x, const tt_tensor *w, const tt_tensor *b, int64_t stride,
                                int64_t padding) {
    ARG(x);
    ARG(w);
    OP(return wrap(at::conv1d(x->t, w->t, opt(b), {stride}, {padding}));)
}

extern "C" tt_tensor *tt_conv2d(const tt_tensor *x, const tt_tensor *w, const tt_tensor *b, int64_t stride,
                                int64_t padding) {
    ARG(x);
    ARG(w);
    OP(return wrap(at::conv2d(x->t, w->t, opt(b), {stride, stride}, {padding, padding}));)
}

// ---- shape ------------------------------------------------------------------------------------

extern "C" tt_tensor *tt_reshape(const tt_tensor *a, const int64_t *shape, int ndim) {
    ARG(a);
    OP(return wrap(a->t.reshape(dims_of(shape, ndim)));)
}
extern "C" tt_tensor *tt_permute(const tt_tensor *a, const int64_t *dims, int ndim) {
    ARG(a);
    OP(return wrap(a->t.permute(dims_of(dims, ndim)));)
}
extern "C" tt_tensor *tt_transpose(const tt_tensor *a, int d0, int d1) { ARG(a); OP(return wrap(a->t.transpose(d0, d1));) }
extern "C" tt_tensor *tt_unsqueeze(const tt_tensor *a, int dim) { ARG(a); OP(return wrap(a->t.unsqueeze(dim));) }
extern "C" tt_tensor *tt_squeeze(const tt_tensor *a, int dim) { ARG(a); OP(return wrap(a->t.squeeze(dim));) }
extern "C" tt_tensor *tt_flatten(const tt_tensor *a, int start, int end) {
    ARG(a);
    OP(return wrap(a->t.flatten(start, end));)
}
extern "C" tt_tensor *tt_expand(const tt_tensor *a, const int64_t *shape, int ndim) {
    ARG(a);
    OP(return wrap(a->t.expand(dims_of(shape, ndim)));)
}
extern "C" tt_tensor *tt_repeat(const tt_tensor *a, const int64_t *reps, int ndim) {
    ARG(a);
    OP(return wrap(a->t.repeat(dims_of(reps, ndim)));)
}

static std::vector<at::Tensor> tensor_list(tt_tensor *const *ts, int n, const char *fn) {
    if (n <= 0 || !ts) throw std::invalid_argument("empty tensor list");
    std::vector<at::Tensor> v;
    v.reserve(n);
    for (int i = 0; i < n; i++) {
        if (!ts[i]) throw std::invalid_argument("tensor " + std::to_string(i) + " of the list is NULL");
        v.push_back(ts[i]->t);
    }
    return v;
}

extern "C" tt_tensor *tt_cat(tt_tensor *const *ts, int n, int dim) {
    for (int i = 0; ts && i < n; i++)
        if (!ts[i] && !g_error.empty()) return nullptr;  // keep the root cause
    OP(return wrap(at::cat(tensor_list(ts, n, __func__), dim));)
}
extern "C" tt_tensor *tt_stack(tt_tensor *const *ts, int n, int dim) {
    for (int i = 0; ts && i < n; i++)
        if (!ts[i] && !g_error.empty()) return nullptr;
    OP(return wrap(at::stack(tensor_list(ts, n, __func__), dim));)
}
extern "C" tt_tensor *tt_slice(const tt_tensor *a, int dim, int64_t start, int64_t end, int64_t step) {
    ARG(a);
    OP(return wrap(a->t.slice(dim, start, end, step));)
}
extern "C" tt_tensor *tt_select(const tt_tensor *a, int dim, int64_t index) { ARG(a); OP(return wrap(a->t.select(dim, index));) }
extern "C" int tt_chunk(const tt_tensor *a, int n, int dim, tt_tensor **out) {
    ARGI(a);
    OPI({
        auto parts = a->t.chunk(n, dim);
        if ((int)parts.size() != n)
            throw std::invalid_argument("size " + std::to_string(a->t.size(dim)) + " of dim " + std::to_string(dim) +
                                        " does not split into " + std::to_string(n) + " chunks");
        for (int i = 0; i < n; i++) out[i] = wrap(parts[i]);
    })
}
extern "C" tt_tensor *tt_flip(const tt_tensor *a, int dim) { ARG(a); OP(return wrap(a->t.flip({dim}));) }

// ---- reductions -------------------------------------------------------------------------------

extern "C" tt_tensor *tt_sum(const tt_tensor *a, int dim, int keepdim) {
    ARG(a);
    OP(return wrap(a->t.sum(std::vector<int64_t>{dim}, keepdim != 0));)
}
extern "C" tt_tensor *tt_mean(const tt_tensor *a, int dim, int keepdim) {
    ARG(a);
    OP(return wrap(a->t.mean(std::vector<int64_t>{dim}, keepdim != 0));)
}
extern "C" tt_tensor *tt_max(const tt_tensor *a, int dim, int keepdim) {
    ARG(a);
    OP(return wrap(std::get<0>(a->t.max(dim, keepdim != 0)));)
}
extern "C" tt_tensor *tt_min(const tt_tensor *a, int dim, int keepdim) {
    ARG(a);
    OP(return wrap(std::get<0>(a->t.min(dim, keepdim != 0)));)
}
extern "C" tt_tensor *tt_argmax(const tt_tensor *a, int dim, int keepdim) {
    ARG(a);
    OP(return wrap(a->t.argmax(dim, keepdim != 0));)
}
extern "C" tt_tensor *tt_var(const tt_tensor *a, int dim, int unbiased, int keepdim) {
    ARG(a);
    OP(return wrap(at::var(a->t, std::vector<int64_t>{dim}, unbiased != 0, keepdim != 0));)
}
extern "C" tt_tensor *tt_logsumexp(const tt_tensor *a, int dim, int keepdim) {
    ARG(a);
    OP(return wrap(at::logsumexp(a->t, std::vector<int64_t>{dim}, keepdim != 0));)
}
extern "C" tt_tensor *tt_cumsum(const tt_tensor *a, int dim) { ARG(a); OP(return wrap(a->t.cumsum(dim));) }
UNARY(tt_sum_all, a.sum())
UNARY(tt_mean_all, a.mean())
UNARY(tt_max_all, a.max())
UNARY(tt_norm_all, a.norm())

// ---- indexing ---------------------------------------------------------------------------------

extern "C" tt_tensor *tt_gather(const tt_tensor *a, int dim, const tt_tensor *index) {
    ARG(a);
    ARG(index);
    OP(return wrap(at::gather(a->t, dim, index->t));)
}
extern "C" tt_tensor *tt_index_select(const tt_tensor *a, int dim, const tt_tensor *index) {
    ARG(a);
    ARG(index);
    OP(return wrap(at::index_select(a->t, dim, index->t));)
}
extern "C" tt_tensor *tt_one_hot(const tt_tensor *index, int64_t n_classes) {
    ARG(index);
    OP(return wrap(at::one_hot(index->t, n_classes));)
}

// ---- audio ------------------------------------------------------------------------------------

static at::Tensor window_or_hann(const tt_tensor *window, int64_t win_length, const at::Tensor &like) {
    if (window) return window->t;
    return at::hann_window(win_length, true, at::TensorOptions().dtype(like.scalar_type() == at::kComplexFloat
                                                                          ? at::kFloat
                                                                          : like.scalar_type())
                                                 .device(like.device()));
}

extern "C" tt_tensor *tt_stft(const tt_tensor *x, int64_t n_fft, int64_t hop, int64_t win_length,
                              const tt_tensor *window, int center) {
    ARG(x);
    OP({
        at::Tensor w = window_or_hann(window, win_length, x->t);
        return wrap(at::stft(x->t, n_fft, hop, win_length, w, center != 0, "reflect", /*normalized=*/false,
                             /*onesided=*/true, /*return_complex=*/true));
    })
}

extern "C" tt_tensor *tt_istft(const tt_tensor *spec, int64_t n_fft, int64_t hop, int64_t win_length,
                               const tt_tensor *window, int center, int64_t length) {
    ARG(spec);
    OP({
        at::Tensor w = window_or_hann(window, win_length, spec->t);
        return wrap(at::istft(spec->t, n_fft, hop, win_length, w, center != 0, /*normalized=*/false,
                              /*onesided=*/true, length, /*return_complex=*/false));
    })
}

BINARY(tt_polar, at::polar(a, b))

// ---- in place (always without autograd: they update parameters and optimiser state) ----------

extern "C" int tt_copy_(tt_tensor *dst, const tt_tensor *src) {
    ARGI(dst);
    ARGI(src);
    OPI(at::NoGradGuard ng; dst->t.copy_(src->t);)
}
extern "C" int tt_zero_(tt_tensor *t) { ARGI(t); OPI(at::NoGradGuard ng; t->t.zero_();) }
extern "C" int tt_fill_(tt_tensor *t, double v) { ARGI(t); OPI(at::NoGradGuard ng; t->t.fill_(v);) }
extern "C" int tt_add_(tt_tensor *t, const tt_tensor *other, double alpha) {
    ARGI(t);
    ARGI(other);
    OPI(at::NoGradGuard ng; t->t.add_(other->t, alpha);)
}
extern "C" int tt_mul_scalar_(tt_tensor *t, double s) { ARGI(t); OPI(at::NoGradGuard ng; t->t.mul_(s);) }
extern "C" int tt_addcmul_(tt_tensor *t, const tt_tensor *a, const tt_tensor *b, double value) {
    ARGI(t);
    ARGI(a);
    ARGI(b);
    OPI(at::NoGradGuard ng; t->t.addcmul_(a->t, b->t, value);)
}
extern "C" int tt_addcdiv_(tt_tensor *t, const tt_tensor *a, const tt_tensor *b, double value) {
    ARGI(t);
    ARGI(a);
    ARGI(b);
    OPI(at::NoGradGuard ng; t->t.addcdiv_(a->t, b->t, value);)
}
extern "C" int tt_lerp_(tt_tensor *t, const tt_tensor *end, double weight) {
    ARGI(t);
    ARGI(end);
    OPI(at::NoGradGuard ng; t->t.lerp_(end->t, weight);)
}

// ---- autograd ---------------------------------------------------------------------------------

extern "C" int tt_set_requires_grad(tt_tensor *t, int on) {
    ARGI(t);
    OPI(t->t.set_requires_grad(on != 0);)
}
extern "C" int tt_requires_grad(const tt_tensor *t) { return t && t->t.requires_grad() ? 1 : 0; }

extern "C" int tt_backward(const tt_tensor *loss) {
    ARGI(loss);
    OPI({
        if (loss->t.numel() != 1)
            throw std::invalid_argument("loss has " + std::to_string(loss->t.numel()) + " elements, expected a scalar");
        loss->t.backward();
    })
}

extern "C" tt_tensor *tt_grad(const tt_tensor *t) {
    ARG(t);
    OP({
        at::Tensor g = t->t.grad();
        if (!g.defined()) throw std::invalid_argument("tensor has no gradient (not used in the loss, or no backward yet)");
        return wrap(g);
    })
}
extern "C" int tt_has_grad(const tt_tensor *t) { return t && t->t.grad().defined() ? 1 : 0; }
extern "C" int tt_zero_grad(tt_tensor *t) {
    ARGI(t);
    OPI(t->t.mutable_grad() = at::Tensor();)
}

static thread_local std::vector<std::unique_ptr<at::NoGradGuard>> g_no_grad;
extern "C" void tt_no_grad_begin(void) { g_no_grad.push_back(std::make_unique<at::NoGradGuard>()); }
extern "C" void tt_no_grad_end(void) {
    if (!g_no_grad.empty()) g_no_grad.pop_back();
}

static thread_local int g_autocast_depth = 0;

static void autocast_enable(bool on, at::ScalarType st) {
#if TT_AUTOCAST_DEVICE_API
    at::autocast::set_autocast_dtype(at::kCPU, st);
    at::autocast::set_autocast_enabled(at::kCPU, on);
    if (torch::cuda::is_available()) {
        at::autocast::set_autocast_dtype(at::kCUDA, st);
        at::autocast::set_autocast_enabled(at::kCUDA, on);
    }
#else
    at::autocast::set_autocast_cpu_dtype(st);
    at::autocast::set_cpu_enabled(on);
    if (torch::cuda::is_available()) {
        at::autocast::set_autocast_gpu_dtype(st);
        at::autocast::set_enabled(on);
    }
#endif
}

extern "C" void tt_autocast_begin(tt_dtype dt) {
    try {
        if (g_autocast_depth++ == 0) autocast_enable(true, to_st(dt));
    }
    TT_CATCH(__func__)
}

// The op profiler: libtorch's legacy CPU profiler with input shapes; at the end its push/pop
// events are paired per thread and written as Chrome-trace "X" events with the shapes in args.
static std::string g_profile_path;

extern "C" int tt_profile_begin(const char *path) {
    if (!g_profile_path.empty()) return tt_fail("tt_profile_begin: a profile is already running"), -1;
    OPI(namespace prof = torch::autograd::profiler;
        prof::enableProfilerLegacy(prof::ProfilerConfig(prof::ProfilerState::CPU, /*report_input_shapes=*/true));
        g_profile_path = path;)
}

extern "C" int tt_profile_end(void) {
    if (g_profile_path.empty()) return tt_fail("tt_profile_end: no profile is running"), -1;
    std::string path = g_profile_path;
    g_profile_path.clear();
    try {
        auto lists = torch::autograd::profiler::disableProfilerLegacy();
        std::string tmp = path + ".tmp"; // temp name + rename: no half-written trace
        FILE *f = fopen(tmp.c_str(), "w");
        if (!f) return tt_fail("tt_profile_end: cannot write %s: %s", path.c_str(), strerror(errno)), -1;
        fputs("[\n", f);
        int first = 1;
        for (auto &events : lists) {
            std::vector<const torch::autograd::profiler::LegacyEvent *> open;
            for (auto &e : events) {
                if (e.kindStr() == "push") open.push_back(&e);
                if (e.kindStr() != "pop" || open.empty()) continue;
                const auto *start = open.back();
                open.pop_back();
                std::string shapes;
                for (const auto &sh : start->shapes()) {
                    shapes += shapes.empty() ? "[" : ", [";
                    for (size_t k = 0; k < sh.size(); k++) shapes += (k ? ", " : "") + std::to_string(sh[k]);
                    shapes += "]";
                }
                std::string name = start->name(); // op names carry no quotes or backslashes
                fprintf(f, "%s{\"name\": \"%s\", \"ph\": \"X\", \"ts\": %.3f, \"dur\": %.3f, \"tid\": %llu, "
                        "\"pid\": 0, \"args\": {\"shapes\": [%s]}}",
                        first ? "" : ",\n", name.c_str(), start->cpuUs(), start->cpuElapsedUs(e),
                        (unsigned long long)start->threadId(), shapes.c_str());
                first = 0;
            }
        }
        fputs("\n]\n", f);
        bool bad = ferror(f) != 0;
        if (fclose(f) || bad || std::rename(tmp.c_str(), path.c_str())) {
            tt_fail("tt_profile_end: writing %s: %s", path.c_str(), strerror(errno ? errno : EIO));
            std::remove(tmp.c_str());
            return -1;
        }
        return 0;
    }
    TT_CATCH(__func__)
    return -1;
}

extern "C" void tt_autocast_end(void) {
    if (g_autocast_depth <= 0) return;
    try {
        if (--g_autocast_depth == 0) {
            autocast_enable(false, at::kBFloat16);
            at::autocast::clear_cache();  // cached casts of weights would go stale after an update
        }
    }
    TT_CATCH(__func__)
}

// ---- parameter registry -------------------------------------------------------------------------

extern "C" tt_params *tt_params_new(void) {
    try {
        return new tt_params();
    }
    TT_CATCH(__func__)
    return nullptr;
}

extern "C" void tt_params_free(tt_params *p) {
    if (!p) return;
    for (tt_tensor *t : p->tensors) {
        delete t;
        g_live--;
    }
    delete p;
}

extern "C" tt_tensor *tt_params_add(tt_params *p, const char *name, tt_tensor *t) {
    ARG(p);
    ARG(name);
    ARG(t);
    try {
        if (p->index.count(name)) {
            tt_free(t);
            set_error(__func__, (std::string("duplicate parameter name '") + name + "'").c_str());
            return nullptr;
        }
        unlink_from_scope(t);
        t->depth = -1;
        // a leaf that accumulates .grad, whatever op produced the initial value
        t->t = t->t.detach().requires_grad_(t->t.is_floating_point());
        p->index[name] = (int)p->tensors.size();
        p->names.emplace_back(name);
        p->tensors.push_back(t);
        return t;
    }
    TT_CATCH(__func__)
    return nullptr;
}

extern "C" tt_tensor *tt_params_get(const tt_params *p, const char *name) {
    if (!p || !name) return nullptr;
    auto it = p->index.find(name);
    return it == p->index.end() ? nullptr : p->tensors[it->second];
}
extern "C" int tt_params_count(const tt_params *p) { return p ? (int)p->tensors.size() : 0; }
extern "C" const char *tt_params_name(const tt_params *p, int i) {
    return p && i >= 0 && i < (int)p->names.size() ? p->names[i].c_str() : nullptr;
}
extern "C" tt_tensor *tt_params_at(const tt_params *p, int i) {
    return p && i >= 0 && i < (int)p->tensors.size() ? p->tensors[i] : nullptr;
}
extern "C" int64_t tt_params_numel(const tt_params *p) {
    int64_t n = 0;
    if (p)
        for (tt_tensor *t : p->tensors) n += t->t.numel();
    return n;
}

// ---- TorchScript modules (eval's embedding backbones) ----------------------------------------
// The only part of the wrapper that needs torch/script.h. A module's errors arrive as c10::Error
// or JITException, often with a TorchScript traceback; one_line() keeps the message the module
// itself raised.
#include <torch/script.h>
#include <sys/stat.h>
#include <cerrno>

struct tt_jit {
    torch::jit::Module m;
};

// The last non-empty line of a multi-line message (the traceback's "RuntimeError: ..."), or
// the message itself.
static std::string one_line(const std::string &msg) {
    size_t end = msg.find_last_not_of(" \n\t");
    if (end == std::string::npos) return msg;
    size_t nl = msg.rfind('\n', end);
    size_t start = nl == std::string::npos ? 0 : nl + 1;
    return msg.substr(start, end - start + 1);
}

extern "C" tt_jit *tt_jit_load(const char *path) {
    ARG(path);
    struct stat st;
    if (stat(path, &st) != 0) return (tt_jit *)tt_fail("tt_jit_load: %s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode)) return (tt_jit *)tt_fail("tt_jit_load: %s: not a regular file", path);
    try {
        auto *j = new tt_jit{torch::jit::load(path, to_dev(g_device))};
        j->m.eval();
        return j;
    } catch (const c10::Error &e) {
        tt_fail("tt_jit_load: %s: not a loadable TorchScript file (%s)", path,
                one_line(e.what_without_backtrace()).c_str());
    } catch (const std::exception &e) {
        tt_fail("tt_jit_load: %s: not a loadable TorchScript file (%s)", path, one_line(e.what()).c_str());
    } catch (...) {
        tt_fail("tt_jit_load: %s: not a loadable TorchScript file (unknown C++ exception)", path);
    }
    return nullptr;
}

extern "C" tt_tensor *tt_jit_forward(tt_jit *m, const tt_tensor *input) {
    ARG(m);
    ARG(input);
    try {
        at::NoGradGuard ng;
        std::vector<torch::jit::IValue> args{input->t};
        torch::jit::IValue out = m->m.forward(args);
        if (!out.isTensor())
            return (tt_tensor *)tt_fail("tt_jit_forward: the module returned a %s, expected one Tensor",
                                        out.tagKind().c_str());
        return wrap(out.toTensor());
    } catch (const c10::Error &e) {
        set_error(__func__, one_line(e.what_without_backtrace()).c_str());
    } catch (const std::exception &e) {
        set_error(__func__, one_line(e.what()).c_str());
    } catch (...) {
        set_error(__func__, "unknown C++ exception");
    }
    return nullptr;
}

extern "C" void tt_jit_free(tt_jit *m) { delete m; }
