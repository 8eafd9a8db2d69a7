// The scoring engine in plain C++ (no Node types): a loaded model, a scoring context, and the one operation
// infoprune needs from llama.cpp: exact per-token log-probabilities for many documents per llama_decode.
// Ownership is explicit: every llama.cpp handle lives in a unique_ptr with its free function; a context keeps its
// model alive through a shared_ptr.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "llama.h"

namespace infoprune {

struct ModelDeleter {
  void operator()(llama_model* model) const { llama_model_free(model); }
};
struct ContextDeleter {
  void operator()(llama_context* ctx) const { llama_free(ctx); }
};

struct ModelOptions {
  int32_t gpu_layers = 0;
  bool vocab_only = false;
};

struct ModelInfo {
  std::string architecture;
  std::string description;
  int32_t vocabulary_size = 0;
  int32_t training_context_size = 0;
  bool adds_bos = false;
  int32_t bos_token = -1;
  uint64_t parameter_count = 0;
  uint64_t size_bytes = 0;
};

class Model {
 public:
  // Throws std::runtime_error when llama.cpp cannot load the file (the JS side has validated it is GGUF first).
  Model(const std::string& path, const ModelOptions& options);
  // Takes ownership of a model llama.cpp already built (the trainer's); `origin` names it in errors.
  Model(llama_model* adopted, const std::string& origin);

  const llama_model* get() const { return model_.get(); }
  llama_model* get() { return model_.get(); }
  const llama_vocab* vocab() const { return llama_model_get_vocab(model_.get()); }
  const ModelInfo& info() const { return info_; }

  // Special-token parsing off (`<s>` in text is literal text) and no BOS: the engine adds BOS itself.
  std::vector<llama_token> tokenize(const std::string& text) const;

 private:
  void read_info(const std::string& origin);

  std::unique_ptr<llama_model, ModelDeleter> model_;
  ModelInfo info_;
};

struct ContextOptions {
  int32_t context_size = 512;   // tokens one evaluation window holds
  int32_t stride = 256;         // sliding-window step for longer documents, 1 .. context_size-1
  int32_t batch_size = 2048;    // tokens per llama_decode, >= context_size
  int32_t max_sequences = 256;  // windows per decode, each with a KV stream of context_size cells
  int32_t threads = 1;
  bool flash_attention = false;
};

// One document to score: its text tokens (no BOS) and, optionally, its per-token log-probabilities out.
struct DocumentScore {
  uint32_t tokens_scored = 0;
  double nll = 0.0;             // nats, summed in double in token order
  std::vector<float> logprobs;  // filled only when requested
};

class AbortedError : public std::runtime_error {
 public:
  AbortedError() : std::runtime_error("The operation was aborted") {}
};

class ScoringContext {
 public:
  ScoringContext(std::shared_ptr<Model> model, const ContextOptions& options);
  ~ScoringContext();
  ScoringContext(const ScoringContext&) = delete;
  ScoringContext& operator=(const ScoringContext&) = delete;

  const ContextOptions& options() const { return options_; }
  const Model& model() const { return *model_; }

  // Scores every document; results in input order. Safe to call from a worker thread; one call at a time per
  // context (a mutex serialises callers). Throws AbortedError once `cancel` becomes true (checked between decodes
  // and inside llama.cpp's graph computation), std::runtime_error on a failed decode.
  std::vector<DocumentScore> score(const std::vector<std::vector<llama_token>>& documents, bool want_logprobs,
                                   const std::atomic<bool>& cancel);

  // The benchmark's ceiling: the same windows and decodes as score(), logits for every position, and nothing done
  // with them. Returns the number of tokens evaluated.
  uint64_t decode_only(const std::vector<std::vector<llama_token>>& documents, const std::atomic<bool>& cancel);

 private:
  struct Window;
  struct Row;
  std::vector<Window> plan_windows(const std::vector<std::vector<llama_token>>& documents) const;
  template <typename DecodeGroup>
  void for_each_decode_group(const std::vector<Window>& windows, DecodeGroup&& decode_group);
  void fill_batch(const std::vector<std::vector<llama_token>>& documents, const std::vector<Window>& windows,
                  size_t first, size_t last, int32_t padded_length, bool all_logits);
  void decode_batch();
  bool cancelled() const;
  void decode_and_gather(const std::vector<std::vector<llama_token>>& documents, const std::vector<Window>& windows,
                         size_t first, size_t last, int32_t padded_length, std::vector<DocumentScore>& results,
                         bool want_logprobs);

  std::shared_ptr<Model> model_;  // declared first: destroyed after the context that uses it
  ContextOptions options_;
  std::unique_ptr<llama_context, ContextDeleter> ctx_;
  llama_batch batch_;
  std::vector<Row> rows_;
  std::vector<double> row_logprobs_;
  // The cancel flag of the call in flight (llama.cpp's abort callback reads it), null between calls.
  std::atomic<const std::atomic<bool>*> cancel_{nullptr};
  std::mutex busy_;
};

// llama.cpp's backends (CPU variants, CUDA, ...) are separate shared libraries in the prebuilt packages: load
// those found in `directory` once per process. `cpu_backend`, when not empty, is a CPU backend compiled on this
// machine (scripts/build-native.mjs) that replaces the folder's prebuilt CPU variants; if it does not load, the
// best prebuilt variant is used (the addon's cpuBackend() says which one is). A no-op for a static build from source.
void load_backends_once(const std::string& directory, const std::string& cpu_backend);

// Route llama.cpp/ggml log lines to stderr (verbose) or drop them (default). Process-wide, like llama.cpp's log.
void set_llama_logging(bool verbose);

}  // namespace infoprune
