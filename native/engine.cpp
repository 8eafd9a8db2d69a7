#include "engine.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "ggml-backend.h"
#include "log_softmax.hpp"

namespace infoprune {

// ---------------------------------------------------------------------------------------------------------------
// Process-wide llama.cpp set-up
// ---------------------------------------------------------------------------------------------------------------

namespace {
std::atomic<bool> g_llama_log_verbose{false};

void forward_llama_log(ggml_log_level /*level*/, const char* text, void* /*user_data*/) {
  if (g_llama_log_verbose.load(std::memory_order_relaxed)) std::fputs(text, stderr);
}
}  // namespace

void set_llama_logging(bool verbose) {
  g_llama_log_verbose.store(verbose);
  llama_log_set(forward_llama_log, nullptr);
}

#ifdef INFOPRUNE_BACKEND_DL
namespace {
// A non-CPU backend library of the prebuilt folder: [lib]ggml-<name>.<ext>, not ggml-base nor a ggml-cpu variant.
bool is_accelerator_backend(const std::filesystem::path& file) {
  const std::string name = file.filename().string();
  const size_t stem = name.rfind("libggml-", 0) == 0 ? 8 : name.rfind("ggml-", 0) == 0 ? 5 : std::string::npos;
  const std::string extension = file.extension().string();
  return stem != std::string::npos && (extension == ".so" || extension == ".dll" || extension == ".dylib") &&
         name.compare(stem, 4, "base") != 0 && name.compare(stem, 3, "cpu") != 0;
}

void load_backends(const std::string& directory, const std::string& cpu_backend) {
  if (!cpu_backend.empty()) {
    // The same order as ggml_backend_load_all_from_path (accelerators, then the CPU), with our CPU backend.
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator(directory, error)) {
      if (is_accelerator_backend(entry.path())) ggml_backend_load(entry.path().string().c_str());
    }
    if (ggml_backend_load(cpu_backend.c_str()) != nullptr) return;
  }
  ggml_backend_load_all_from_path(directory.c_str());  // registers nothing twice: ggml skips a loaded backend
}
}  // namespace
#endif

void load_backends_once(const std::string& directory, const std::string& cpu_backend) {
  static std::once_flag once;
  std::call_once(once, [&directory, &cpu_backend] {
#ifdef INFOPRUNE_BACKEND_DL
    load_backends(directory, cpu_backend);
#else
    (void)directory;
    (void)cpu_backend;
#endif
    llama_backend_init();
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Model
// ---------------------------------------------------------------------------------------------------------------

namespace {
std::string model_meta_string(const llama_model* model, const char* key) {
  char buffer[256];
  const int32_t length = llama_model_meta_val_str(model, key, buffer, sizeof buffer);
  return length < 0 ? std::string() : std::string(buffer, std::min<size_t>(length, sizeof buffer - 1));
}
}  // namespace

Model::Model(const std::string& path, const ModelOptions& options) {
  llama_model_params params = llama_model_default_params();
  params.n_gpu_layers = options.gpu_layers;
  params.vocab_only = options.vocab_only;
  model_.reset(llama_model_load_from_file(path.c_str(), params));
  if (!model_) {
    throw std::runtime_error(
        "llama.cpp could not load the model from " + path +
        " (unsupported architecture or tensor layout; run with verbose: true for llama.cpp's log)");
  }
  read_info(path);
}

Model::Model(llama_model* adopted, const std::string& origin) {
  model_.reset(adopted);
  read_info(origin);
}

void Model::read_info(const std::string& origin) {
  const llama_vocab* v = vocab();
  info_.architecture = model_meta_string(model_.get(), "general.architecture");
  char description[256];
  const int32_t length = llama_model_desc(model_.get(), description, sizeof description);
  info_.description = length < 0 ? std::string() : std::string(description, std::min<size_t>(length, 255));
  info_.vocabulary_size = llama_vocab_n_tokens(v);
  info_.training_context_size = llama_model_n_ctx_train(model_.get());
  info_.adds_bos = llama_vocab_get_add_bos(v);
  info_.bos_token = llama_vocab_bos(v);
  info_.parameter_count = llama_model_n_params(model_.get());
  info_.size_bytes = llama_model_size(model_.get());
  if (info_.adds_bos && (info_.bos_token < 0 || info_.bos_token >= info_.vocabulary_size)) {
    throw std::runtime_error("the model's vocabulary asks for a BOS token but defines none: " + origin);
  }
}

std::vector<llama_token> Model::tokenize(const std::string& text) const {
  // A token covers at least one byte for every tokenizer llama.cpp ships, plus one for SentencePiece's space prefix.
  std::vector<llama_token> tokens(text.size() + 2);
  int32_t count = llama_tokenize(vocab(), text.data(), static_cast<int32_t>(text.size()), tokens.data(),
                                 static_cast<int32_t>(tokens.size()), /*add_special=*/false, /*parse_special=*/false);
  if (count < 0) {
    tokens.resize(static_cast<size_t>(-count));
    count = llama_tokenize(vocab(), text.data(), static_cast<int32_t>(text.size()), tokens.data(),
                           static_cast<int32_t>(tokens.size()), false, false);
    if (count < 0) throw std::runtime_error("llama_tokenize failed");
  }
  tokens.resize(static_cast<size_t>(count));
  return tokens;
}

// ---------------------------------------------------------------------------------------------------------------
// Scoring context
// ---------------------------------------------------------------------------------------------------------------

// A contiguous slice [start, start + length) of a document's evaluated sequence ([BOS] + tokens, or tokens) that
// is evaluated as its own llama.cpp sequence. Targets (sequence positions) from first_target to the slice's end are
// scored here; earlier ones were scored by the previous window of the same document.
struct ScoringContext::Window {
  uint32_t document;
  int32_t start;
  int32_t length;
  int32_t first_target;
};

// One output row of a decode: the logits at sequence position p predict the token at p + 1 (the target).
struct ScoringContext::Row {
  uint32_t document;
  llama_token target;
  uint32_t logprob_index;  // which of the document's scored tokens this is
};

namespace {
bool abort_callback(void* data) {
  const std::atomic<bool>* cancel = static_cast<std::atomic<const std::atomic<bool>*>*>(data)->load();
  return cancel != nullptr && cancel->load(std::memory_order_relaxed);
}

// Publishes a call's cancel flag to the abort callback for the duration of the call.
class ActiveCancel {
 public:
  ActiveCancel(std::atomic<const std::atomic<bool>*>& slot, const std::atomic<bool>& cancel) : slot_(slot) {
    slot_.store(&cancel);
  }
  ~ActiveCancel() { slot_.store(nullptr); }

 private:
  std::atomic<const std::atomic<bool>*>& slot_;
};
}  // namespace

ScoringContext::ScoringContext(std::shared_ptr<Model> model, const ContextOptions& options)
    : model_(std::move(model)), options_(options) {
  llama_context_params params = llama_context_default_params();
  // Every window of a decode is its own sequence with its own KV stream (a non-unified cache), so a token attends
  // over its window's cells only, not over the whole decode: the cost per token stays flat as the batch grows. The
  // cache is cleared after each decode.
  // llama.cpp aborts if n_seq_max exceeds n_batch (its output buffer holds max(outputs, sequences) rows).
  options_.max_sequences = std::min(options_.max_sequences, options_.batch_size);
  params.n_seq_max = static_cast<uint32_t>(options_.max_sequences);
  params.kv_unified = false;
  params.n_ctx = static_cast<uint32_t>(options_.max_sequences * options_.context_size);  // a window per stream
  params.n_batch = static_cast<uint32_t>(options_.batch_size);
  // One decode is one physical micro-batch: a document split across micro-batches would be computed by different
  // kernels for its two parts (llama.cpp's numerics depend on the micro-batch shape), and its score would then
  // depend on its neighbours. Whole windows in one micro-batch keep every score independent of the packing.
  // llama.cpp splits a batch over several streams into micro-batches where every stream has the same number of
  // tokens, so the windows of a decode are padded to one length (see fill_batch).
  params.n_ubatch = static_cast<uint32_t>(options_.batch_size);
  params.n_threads = options_.threads;
  params.n_threads_batch = options_.threads;
  // Flash attention is opt-in: llama.cpp's CPU kernel picks different code paths by batch shape, which moves a
  // document's log-probabilities by up to ~1e-3 depending on its neighbours. Without it a document's nll moves with
  // its packing by rounding only: within 1e-5 relative on a small random-weight model (test/engine.test.ts) and
  // within the README's 1e-4 on stories260K (test/packing-bound.test.ts; identical in our runs since each window has
  // its own stream). On GPUs it saves memory and time, so the option exists.
  params.flash_attn_type = options_.flash_attention ? LLAMA_FLASH_ATTN_TYPE_ENABLED : LLAMA_FLASH_ATTN_TYPE_DISABLED;
  params.no_perf = true;
  params.abort_callback = abort_callback;
  params.abort_callback_data = &cancel_;
  ctx_.reset(llama_init_from_model(model_->get(), params));
  if (!ctx_) throw std::runtime_error("llama.cpp could not create a context (out of memory for batchSize?)");
  batch_ = llama_batch_init(options_.batch_size, 0, 1);
}

ScoringContext::~ScoringContext() { llama_batch_free(batch_); }

std::vector<ScoringContext::Window> ScoringContext::plan_windows(
    const std::vector<std::vector<llama_token>>& documents) const {
  // A document that fits is one window (a full-context evaluation); a longer one slides by `stride`, scoring each
  // target once with at least (context - stride) tokens of context after the first window.
  const bool adds_bos = model_->info().adds_bos;
  std::vector<Window> windows;
  for (uint32_t d = 0; d < documents.size(); d++) {
    const int32_t length = static_cast<int32_t>(documents[d].size()) + (adds_bos ? 1 : 0);
    if (length < 2) continue;  // nothing has context: no token is scored
    int32_t next_target = 1;
    for (int32_t start = 0;; start += options_.stride) {
      const int32_t end = std::min(start + options_.context_size, length);
      windows.push_back({d, start, end - start, next_target});
      next_target = end;
      if (end == length) break;
    }
  }
  // Longest first, so that a decode's windows have nearly one length and little padding. The sort is stable: a
  // document's windows stay in order (all but its last are full windows), so its nll still sums in token order.
  std::stable_sort(windows.begin(), windows.end(),
                   [](const Window& a, const Window& b) { return a.length > b.length; });
  return windows;
}

// Calls decode_group(first, last, padded_length) for runs of consecutive windows that fit one decode once every
// window is padded to the first (longest) one's length: at most batch_size tokens and max_sequences sequences. A
// window shorter than 7/8 of that length starts a new decode instead, so padding never costs more than 1/8 of the
// work; a decode costs little beyond its tokens.
template <typename DecodeGroup>
void ScoringContext::for_each_decode_group(const std::vector<Window>& windows, DecodeGroup&& decode_group) {
  size_t first = 0;
  for (size_t i = 0; i < windows.size(); i++) {
    const int32_t count = static_cast<int32_t>(i - first);
    const int32_t padded_length = windows[first].length;
    if (i > first && ((count + 1) * padded_length > options_.batch_size || count >= options_.max_sequences ||
                      windows[i].length * 8 < padded_length * 7)) {
      decode_group(first, i, padded_length);
      first = i;
    }
  }
  if (first < windows.size()) decode_group(first, windows.size(), windows[first].length);
}

bool ScoringContext::cancelled() const {
  const std::atomic<bool>* cancel = cancel_.load();
  return cancel != nullptr && cancel->load();
}

std::vector<DocumentScore> ScoringContext::score(const std::vector<std::vector<llama_token>>& documents,
                                                 bool want_logprobs, const std::atomic<bool>& cancel) {
  std::lock_guard<std::mutex> lock(busy_);
  ActiveCancel active(cancel_, cancel);
  const bool adds_bos = model_->info().adds_bos;
  std::vector<DocumentScore> results(documents.size());
  if (want_logprobs) {
    for (size_t d = 0; d < documents.size(); d++) {
      const size_t length = documents[d].size() + (adds_bos ? 1 : 0);
      results[d].logprobs.resize(length < 2 ? 0 : length - 1);
    }
  }
  const std::vector<Window> windows = plan_windows(documents);
  for_each_decode_group(windows, [&](size_t first, size_t last, int32_t padded_length) {
    decode_and_gather(documents, windows, first, last, padded_length, results, want_logprobs);
  });
  return results;
}

uint64_t ScoringContext::decode_only(const std::vector<std::vector<llama_token>>& documents,
                                     const std::atomic<bool>& cancel) {
  std::lock_guard<std::mutex> lock(busy_);
  ActiveCancel active(cancel_, cancel);
  const std::vector<Window> windows = plan_windows(documents);
  uint64_t evaluated = 0;
  for_each_decode_group(windows, [&](size_t first, size_t last, int32_t padded_length) {
    fill_batch(documents, windows, first, last, padded_length, /*all_logits=*/true);
    for (size_t w = first; w < last; w++) evaluated += static_cast<uint64_t>(windows[w].length);
    decode_batch();
  });
  return evaluated;
}

void ScoringContext::fill_batch(const std::vector<std::vector<llama_token>>& documents,
                                const std::vector<Window>& windows, size_t first, size_t last, int32_t padded_length,
                                bool all_logits) {
  const bool adds_bos = model_->info().adds_bos;
  const llama_token bos = model_->info().bos_token;
  batch_.n_tokens = 0;
  rows_.clear();
  for (size_t w = first; w < last; w++) {
    const Window& window = windows[w];
    const std::vector<llama_token>& text = documents[window.document];
    auto token_at = [&](int32_t position) {
      return adds_bos ? (position == 0 ? bos : text[position - 1]) : text[position];
    };
    const llama_seq_id sequence = static_cast<llama_seq_id>(w - first);
    const int32_t end = window.start + window.length;
    for (int32_t p = window.start; p < end; p++) {
      const int32_t i = batch_.n_tokens++;
      batch_.token[i] = token_at(p);
      batch_.pos[i] = p - window.start;
      batch_.n_seq_id[i] = 1;
      batch_.seq_id[i][0] = sequence;
      // Logits at position p predict the token at p + 1: only targets this window owns need them.
      const bool predicts_target = p + 1 >= window.first_target && p + 1 < end;
      batch_.logits[i] = all_logits || predicts_target;
      if (predicts_target && !all_logits) rows_.push_back({window.document, token_at(p + 1), static_cast<uint32_t>(p)});
    }
    // Padding after the window's last token: causal attention keeps the window's tokens from seeing it, and it
    // asks for no logits. Any valid token does; the last one repeated is.
    for (int32_t p = window.length; p < padded_length; p++) {
      const int32_t i = batch_.n_tokens++;
      batch_.token[i] = token_at(end - 1);
      batch_.pos[i] = p;
      batch_.n_seq_id[i] = 1;
      batch_.seq_id[i][0] = sequence;
      batch_.logits[i] = false;
    }
  }
}

void ScoringContext::decode_batch() {
  if (cancelled()) throw AbortedError();
  const int32_t status = llama_decode(ctx_.get(), batch_);
  // Every decode starts from an empty cache: the next batch's sequences reuse these sequence ids. The cells keep
  // their old keys and values (zeroing the whole cache each decode would cost more than a small model's decode);
  // cells a window does not fill are masked, and finite stale values add exact zeros to its attention.
  llama_memory_clear(llama_get_memory(ctx_.get()), false);
  if (status == 2 || cancelled()) throw AbortedError();
  if (status != 0) throw std::runtime_error("llama_decode failed with status " + std::to_string(status));
}

void ScoringContext::decode_and_gather(const std::vector<std::vector<llama_token>>& documents,
                                       const std::vector<Window>& windows, size_t first, size_t last,
                                       int32_t padded_length, std::vector<DocumentScore>& results, bool want_logprobs) {
  fill_batch(documents, windows, first, last, padded_length, /*all_logits=*/false);
  decode_batch();

  // Log-softmax and gather, rows split across threads; sums below run in row order so a document's nll does not
  // depend on the thread count or on which documents share its batch.
  const float* logits = llama_get_logits(ctx_.get());
  const int32_t vocab_size = model_->info().vocabulary_size;
  const size_t row_count = rows_.size();
  row_logprobs_.resize(row_count);
  auto gather_rows = [&](size_t begin, size_t end) {
    for (size_t r = begin; r < end; r++) {
      row_logprobs_[r] = log_softmax_at(logits + r * static_cast<size_t>(vocab_size), vocab_size, rows_[r].target);
    }
  };
  const size_t worker_count = std::min<size_t>(std::max(options_.threads, 1), std::max<size_t>(row_count / 8, 1));
  if (worker_count <= 1) {
    gather_rows(0, row_count);
  } else {
    std::vector<std::thread> workers;
    const size_t chunk = (row_count + worker_count - 1) / worker_count;
    for (size_t t = 1; t < worker_count; t++) {
      const size_t begin = std::min(row_count, t * chunk);
      workers.emplace_back(gather_rows, begin, std::min(row_count, begin + chunk));
    }
    gather_rows(0, std::min(row_count, chunk));
    for (std::thread& worker : workers) worker.join();
  }

  // A non-finite value (an overflowing model) may sit in the cache too, and 0 x inf is not an exact zero: clear
  // the cells' contents before the next decode reads them as stale, so no other document is touched.
  if (!std::all_of(row_logprobs_.begin(), row_logprobs_.end(), [](double v) { return std::isfinite(v); })) {
    llama_memory_clear(llama_get_memory(ctx_.get()), true);
  }
  for (size_t r = 0; r < row_count; r++) {
    DocumentScore& result = results[rows_[r].document];
    result.nll -= row_logprobs_[r];
    result.tokens_scored++;
    if (want_logprobs) result.logprobs[rows_[r].logprob_index] = static_cast<float>(row_logprobs_[r]);
  }
}

}  // namespace infoprune
