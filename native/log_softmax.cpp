#include "log_softmax.hpp"

#include <cmath>

// GCC and Clang vector extensions: 16 floats per operation, lowered to AVX-512, AVX2 or SSE2 by the clone the loader
// picks at run time (x86-64 Linux), or to NEON elsewhere. Written explicitly because compilers do not vectorise a
// float reduction with an exp inside without -ffast-math.
#if defined(__x86_64__) && defined(__linux__) && (defined(__GNUC__) || defined(__clang__))
#define INFOPRUNE_MULTIVERSION __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define INFOPRUNE_MULTIVERSION
#endif

namespace infoprune {
namespace {

constexpr int kLanes = 16;
typedef float f32x16 __attribute__((vector_size(kLanes * sizeof(float))));
typedef int32_t i32x16 __attribute__((vector_size(kLanes * sizeof(int32_t))));

// exp(x) for x <= 0 (we always pass logit - max): 2^(x·log2 e) split into an integer power, put straight into the
// float's exponent bits, and a degree-6 Chebyshev-fitted polynomial for 2^f on [0, 1). Relative error < 1e-7 in
// float, far below the 1e-4 per-token tolerance the scorer promises; below -87.3 the result flushes towards 0.
// Written once for vectors and once for the scalar tail; always inlined so each clone compiles it for its ISA.
template <typename Float>
__attribute__((always_inline)) inline Float two_to_fraction(Float f) {
  Float p = f * 2.18712623e-4f + 1.23824156e-3f;
  p = p * f + 9.68618598e-3f;
  p = p * f + 5.54789118e-2f;
  p = p * f + 2.40231097e-1f;
  p = p * f + 6.93146825e-1f;
  return p * f + 1.0f;
}

__attribute__((always_inline)) inline f32x16 exp_nonpositive(f32x16 x) {
  x = x < -87.3f ? f32x16{} - 87.3f : x;
  const f32x16 t = x * 1.4426950408889634f;
  i32x16 whole = __builtin_convertvector(t, i32x16);      // truncates towards zero ...
  whole += (__builtin_convertvector(whole, f32x16) > t);  // ... so step down (a true comparison is -1) to the floor
  const f32x16 fraction = t - __builtin_convertvector(whole, f32x16);
  const i32x16 exponent_bits = (whole + 127) << 23;
  return two_to_fraction(fraction) * (f32x16)exponent_bits;  // a vector cast reinterprets the bits
}

__attribute__((always_inline)) inline float exp_nonpositive(float x) {
  x = x < -87.3f ? -87.3f : x;
  const float t = x * 1.4426950408889634f;
  const float whole = std::floor(t);
  const int32_t exponent_bits = (static_cast<int32_t>(whole) + 127) << 23;
  float scale;
  std::memcpy(&scale, &exponent_bits, sizeof scale);
  return two_to_fraction(t - whole) * scale;
}

__attribute__((always_inline)) inline f32x16 load_x16(const float* x) {
  f32x16 v;
  std::memcpy(&v, x, sizeof v);
  return v;
}

INFOPRUNE_MULTIVERSION
float row_max(const float* x, int32_t n) {
  f32x16 lanes = f32x16{} - INFINITY;
  int32_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    const f32x16 v = load_x16(x + i);
    lanes = v > lanes ? v : lanes;
  }
  float m = -INFINITY;
  for (int j = 0; j < kLanes; j++) m = m > lanes[j] ? m : lanes[j];
  for (; i < n; i++) m = m > x[i] ? m : x[i];
  return m;
}

INFOPRUNE_MULTIVERSION
double row_sum_exp(const float* x, int32_t n, float shift) {
  // Two accumulators hide the latency of the adds; each lane sums at most n/32 terms, each <= 1.
  f32x16 sum_a{}, sum_b{};
  int32_t i = 0;
  for (; i + 2 * kLanes <= n; i += 2 * kLanes) {
    sum_a += exp_nonpositive(load_x16(x + i) - shift);
    sum_b += exp_nonpositive(load_x16(x + i + kLanes) - shift);
  }
  double sum = 0.0;
  for (int j = 0; j < kLanes; j++) sum += static_cast<double>(sum_a[j]) + static_cast<double>(sum_b[j]);
  for (; i < n; i++) sum += exp_nonpositive(x[i] - shift);
  return sum;
}

}  // namespace

double log_softmax_at(const float* logits, int32_t vocab_size, int32_t target) {
  const float max_logit = row_max(logits, vocab_size);
  const double sum = row_sum_exp(logits, vocab_size, max_logit);
  return static_cast<double>(logits[target]) - static_cast<double>(max_logit) - std::log(sum);
}

}  // namespace infoprune
