// Log-probability of one target token from one row of logits: logit[target] - logsumexp(logits).
// This is the scorer's per-row hot loop (vocabulary-sized, once per scored token). log_softmax.cpp vectorises it
// explicitly with GCC/Clang vector extensions (16 floats per operation, a polynomial exp, 16 partial sums; compilers
// do not vectorise an exp inside a float reduction without -ffast-math), compiled in AVX-512, AVX2 and baseline
// variants that the loader picks at run time (target_clones on x86-64 Linux), or NEON elsewhere.
#pragma once

#include <cstdint>
#include <cstring>

namespace infoprune {

// Natural-log probability of `target` under softmax(logits[0..vocab_size)).
double log_softmax_at(const float* logits, int32_t vocab_size, int32_t target);

}  // namespace infoprune
