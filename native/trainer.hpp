// Training a small llama-architecture model (the data probe) with llama.cpp's training API, in plain C++.
//
// What this release of llama.cpp needs, and why the trainer is built the way it is:
// - llama_opt_init never marks token_embd.weight trainable (a FIXME in llama-context.cpp), and a tied output layer
//   shares that tensor: the trainer loads the model through llama_model_init_from_user, whose callback hands it every
//   tensor, marks token_embd trainable itself, and expects untied embeddings (a separate output.weight).
// - Only F32 weights train, and the KV cache must be F32 (OUT_PROD has no F16 path): the initial model is all F32.
// - ggml-opt computes through the backend scheduler, not llama_decode, so the CPU backend keeps its default of 4
//   threads until one ordinary decode sets ours: the constructor runs one.
// - llama_opt_epoch neither shuffles nor stops early: the trainer draws its own windows from a seeded generator and
//   runs a few steps per call, so the caller can cancel between calls.
// - llama_model_save_to_file reports no error: save() writes the GGUF itself (gguf_write_to_file returns a status).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "engine.hpp"
#include "ggml-opt.h"
#include "gguf.h"

namespace infoprune {

struct TrainerOptions {
  int32_t context_size = 256;  // tokens per optimizer step (one window); llama.cpp pads contexts to 256
  int32_t threads = 1;
  int32_t gpu_layers = 0;
  uint64_t seed = 0;  // window order
  // AdamW with a linear warm-up and a cosine decay to min_learning_rate_ratio × learning_rate at total_steps.
  float learning_rate = 1e-4f;
  float min_learning_rate_ratio = 0.1f;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float weight_decay = 0.0f;
  int64_t warmup_steps = 100;
  int64_t total_steps = 1000;
};

struct GgufContextDeleter {
  void operator()(gguf_context* context) const { gguf_free(context); }
};
struct GgmlContextDeleter {
  void operator()(ggml_context* context) const { ggml_free(context); }
};

class Trainer {
 public:
  // Loads the initial model (an all-F32 llama GGUF with untied embeddings). Throws std::runtime_error.
  Trainer(const std::string& initial_model_path, const TrainerOptions& options);
  ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  const Model& model() const { return *model_; }
  std::shared_ptr<Model> shared_model() const { return model_; }
  const TrainerOptions& options() const { return options_; }
  int64_t steps_done() const { return steps_done_; }

  // The training stream ([BOS] document [BOS] document ...), from which each step draws one window.
  void set_training_tokens(std::vector<llama_token> tokens);
  // Sets token_embd and output from the training stream's bigram statistics (spectral_init.hpp, then
  // `fit_iterations` steps of bigram_fit.hpp; 0 skips the fit) and zeroes the residual branches' output projections,
  // so the model starts as a low-rank bigram model. Returns the factorisation's largest singular value (for the
  // record).
  double initialise_from_bigrams(int32_t fit_iterations);
  // Runs `steps` optimizer steps; returns their mean loss (nats per token). Checks `cancel` between steps.
  double train(int32_t steps, const std::atomic<bool>& cancel);
  // Mean loss (nats per token) of the model on consecutive windows of `tokens` (at most `max_windows`), no update.
  double evaluate(const std::vector<llama_token>& tokens, int32_t max_windows);
  // Writes the initial file's metadata with the current weights. Throws std::runtime_error on failure.
  void save(const std::string& path) const;
  // The mean absolute difference between token_embd now and before the first training step (training must move it).
  double embedding_change() const;
  // Copies every weight to host memory, and puts the copy back: a run that keeps its best held-out point.
  void remember_weights();
  void restore_weights();

  // Re-plans the schedule's length (a time budget learns the speed as it goes). Steps already done stay done.
  void set_total_steps(int64_t total_steps) { options_.total_steps = total_steps; }

  // ggml-opt's per-step optimizer callback: the schedule at the current step.
  ggml_opt_optimizer_params optimizer_params();

 private:
  void run_one_ordinary_decode();
  ggml_opt_dataset_t windows_dataset(const std::vector<llama_token>& tokens, const std::vector<size_t>& starts) const;

  TrainerOptions options_;
  std::unique_ptr<gguf_context, GgufContextDeleter> metadata_;
  std::unique_ptr<ggml_context, GgmlContextDeleter> initial_data_;
  std::map<std::string, ggml_tensor*> tensors_;  // the model's tensors, by name
  std::shared_ptr<Model> model_;
  std::unique_ptr<llama_context, ContextDeleter> context_;
  std::vector<llama_token> training_tokens_;
  std::vector<float> embeddings_before_training_;
  std::map<std::string, std::vector<uint8_t>> remembered_weights_;
  std::mt19937_64 rng_;
  int64_t steps_done_ = 0;
  int64_t optimizer_calls_ = 0;
};

}  // namespace infoprune
