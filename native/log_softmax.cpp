#include "log_softmax.hpp"

#include <cmath>

#if defined(__x86_64__) && defined(__linux__) && (defined(__GNUC__) || defined(__clang__))
#define INFOPRUNE_MULTIVERSION __attribute__((target_clones("avx512f", "avx2,fma", "default")))
#else
#define INFOPRUNE_MULTIVERSION
#endif

namespace infoprune {
namespace {

constexpr int kLanes = 16;

// exp(x) for x <= 0 (we always pass logit - max): 2^(x·log2 e) split into an integer power, put straight into
// the float's exponent bits, and a degree-6 Chebyshev-fitted polynomial for 2^f on [0, 1). Relative error < 1e-7 in float,
// far below the 1e-4 per-token tolerance the scorer promises; exp(-87.3) underflows to 0 like expf.
inline float exp_nonpositive(float x) {
  x = x < -87.3f ? -87.3f : x;
  const float t = x * 1.4426950408889634f;
  const float whole = std::floor(t);
  const float f = t - whole;
  float p = 2.18712623e-4f;
  p = p * f + 1.23824156e-3f;
  p = p * f + 9.68618598e-3f;
  p = p * f + 5.54789118e-2f;
  p = p * f + 2.40231097e-1f;
  p = p * f + 6.93146825e-1f;
  p = p * f + 1.0f;
  const int32_t bits = (static_cast<int32_t>(whole) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

INFOPRUNE_MULTIVERSION
float row_max(const float* x, int32_t n) {
  float lanes[kLanes];
  for (int j = 0; j < kLanes; j++) lanes[j] = -INFINITY;
  int32_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int j = 0; j < kLanes; j++) lanes[j] = lanes[j] > x[i + j] ? lanes[j] : x[i + j];
  }
  float m = -INFINITY;
  for (int j = 0; j < kLanes; j++) m = m > lanes[j] ? m : lanes[j];
  for (; i < n; i++) m = m > x[i] ? m : x[i];
  return m;
}

INFOPRUNE_MULTIVERSION
double row_sum_exp(const float* x, int32_t n, float shift) {
  float lanes[kLanes] = {};
  int32_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int j = 0; j < kLanes; j++) lanes[j] += exp_nonpositive(x[i + j] - shift);
  }
  double sum = 0.0;
  for (int j = 0; j < kLanes; j++) sum += lanes[j];
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
