// Refines a spectral initialisation (spectral_init.hpp) into the best bigram model the probe's shape can express:
// full-batch Adam on the cross-entropy of softmax(output · rmsnorm(input)) against the corpus's Kneser-Ney bigram,
// each context weighted by how often it occurs.
//
// Why: the spectral factorisation fits log-probabilities in the least-squares sense and the model's RMS norm drops
// each context's scale, so at vocabulary 2,048 and width 256 it starts 0.8 bits/token behind the bigram it
// factorises, and a CPU training budget spends most of its steps closing that gap one window at a time. Fitting the
// factors to the bigram's distribution directly, over all contexts at once, reaches (and passes) the bigram in about
// a hundred steps of three V×V×d products, so the training budget goes to context. Runs on ggml's CPU backend.
#pragma once

#include <cstdint>
#include <vector>

#include "spectral_init.hpp"

namespace infoprune {

struct BigramFitOptions {
  int32_t iterations = 100;
  float learning_rate = 1e-2f;
  double discount = kKneserNeyDiscount;  // the Kneser-Ney bigram's
  int32_t threads = 1;
};

// `tokens`: the training stream, tokens in [0, vocabulary size) (spectral_init checked them). Updates `init`'s input
// and output embeddings in place (input rows keep RMS 1). Throws std::runtime_error if ggml's CPU backend is
// unavailable.
void fit_bigram_factors(const std::vector<int32_t>& tokens, SpectralInit& init, const BigramFitOptions& options);

}  // namespace infoprune
