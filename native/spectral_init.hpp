// Spectral initialisation of a language model's token embeddings from its training corpus: a low-rank factorisation
// of the corpus's smoothed bigram log-probabilities, so that a freshly initialised model already predicts like a
// (rank-limited) bigram model before its first optimizer step.
//
// Why: llama.cpp's training API trains a probe from scratch at a few thousand tokens per second on a CPU. From random
// weights a small model spends that whole budget learning what a bigram table already knows; starting from the bigram
// factorisation, the budget goes to context. Pure C++ (no llama.cpp), so it can be tested on its own.
#pragma once

#include <cstdint>
#include <vector>

#include "kneser_ney.hpp"

namespace infoprune {

struct SpectralInitOptions {
  int32_t vocabulary_size = 0;
  int32_t dimension = 0;  // the model width: the rank of the factorisation
  // Rows (previous tokens) are weighted by (count + 1)^row_weight_power in the factorisation: frequent contexts
  // matter more to the loss, so they get more of the rank.
  double row_weight_power = 0.25;
  double discount = kKneserNeyDiscount;  // absolute discount of the interpolated Kneser-Ney bigram
  int32_t oversampling = 16;
  int32_t power_iterations = 2;
  uint64_t seed = 0;
};

// Row-major [vocabulary_size × dimension] matrices in ggml's layout for token_embd.weight and output.weight (one row
// of `dimension` floats per token).
struct SpectralInit {
  std::vector<float> input_embeddings;   // rows of RMS 1 (the model's first norm divides by the RMS anyway)
  std::vector<float> output_embeddings;  // logits = output · normalised input ≈ centred log P(next | token)
  std::vector<double> singular_values;   // the factorisation's, largest first
};

// `tokens`: the training stream. Tokens must lie in [0, vocabulary_size). Throws std::invalid_argument otherwise.
SpectralInit spectral_init(const std::vector<int32_t>& tokens, const SpectralInitOptions& options);

}  // namespace infoprune
