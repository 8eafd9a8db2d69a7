// Log-probability of one target token from one row of logits: logit[target] - logsumexp(logits).
// This is the scorer's per-row hot loop (vocabulary-sized, once per scored token), so it is written for the
// compiler to vectorise: a branch-free exp and 16 independent partial sums (no -ffast-math needed), compiled in
// AVX-512, AVX2 and baseline variants that the loader picks at run time (GCC/Clang target_clones on x86-64 Linux).
#pragma once

#include <cstdint>
#include <cstring>

namespace infoprune {

// Natural-log probability of `target` under softmax(logits[0..vocab_size)).
double log_softmax_at(const float* logits, int32_t vocab_size, int32_t target);

}  // namespace infoprune
