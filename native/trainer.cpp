#include "trainer.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "bigram_fit.hpp"
#include "ggml-backend.h"
#include "spectral_init.hpp"

namespace infoprune {

// ---------------------------------------------------------------------------------------------------------------
// Loading: every tensor through llama_model_init_from_user's callback, so the trainer holds them all
// ---------------------------------------------------------------------------------------------------------------

namespace {

struct LoadState {
  ggml_context* data;
  std::map<std::string, ggml_tensor*>* tensors;
  std::string error;
};

void copy_initial_tensor(ggml_tensor* tensor, void* user_data) {
  auto* state = static_cast<LoadState*>(user_data);
  (*state->tensors)[tensor->name] = tensor;
  const ggml_tensor* source = ggml_get_tensor(state->data, tensor->name);
  if (source == nullptr || ggml_nbytes(source) != ggml_nbytes(tensor) || source->type != tensor->type) {
    if (state->error.empty()) state->error = std::string("tensor ") + tensor->name + " does not match the file";
    return;
  }
  ggml_backend_tensor_set(tensor, source->data, 0, ggml_nbytes(tensor));
}

ggml_opt_optimizer_params scheduled_optimizer_params(void* user_data) {
  return static_cast<Trainer*>(user_data)->optimizer_params();
}

// llama.cpp trains on graphs it rebuilds every step, and ggml-opt adds each parameter's gradient in place into an
// accumulator that it zeroes only when it first allocates it (its per-step reset in ggml_opt_alloc is handed the
// previous step's graph, already dropped: a null graph, a no-op). Left alone, every AdamW step would see the sum of
// all gradients since the first step, which drove the probe away from its fitted start (docs/probe.md). This eval
// callback zeroes each gradient, a view of its accumulator, once the AdamW step that reads it has run.
bool clear_gradient_after_step(ggml_tensor* node, bool ask, void* /*user_data*/) {
  if (node->op != GGML_OP_OPT_STEP_ADAMW) return !ask;  // asked: not needed; told: carry on
  if (!ask) ggml_backend_tensor_memset(node->src[1], 0, 0, ggml_nbytes(node->src[1]));
  return true;
}

std::vector<float> tensor_values(const ggml_tensor* tensor) {
  std::vector<float> values(ggml_nelements(tensor));
  ggml_backend_tensor_get(tensor, values.data(), 0, ggml_nbytes(tensor));
  return values;
}

}  // namespace

Trainer::Trainer(const std::string& initial_model_path, const TrainerOptions& options)
    : options_(options), rng_(options.seed) {
  ggml_context* data = nullptr;
  gguf_init_params gguf_params = {/*no_alloc=*/false, /*ctx=*/&data};
  metadata_.reset(gguf_init_from_file(initial_model_path.c_str(), gguf_params));
  initial_data_.reset(data);
  if (!metadata_ || !initial_data_) throw std::runtime_error("could not read the initial model " + initial_model_path);

  LoadState state{initial_data_.get(), &tensors_, {}};
  llama_model_params params = llama_model_default_params();
  params.n_gpu_layers = options_.gpu_layers;
  llama_model* model = llama_model_init_from_user(metadata_.get(), copy_initial_tensor, &state, params);
  if (model == nullptr || !state.error.empty()) {
    if (model != nullptr) llama_model_free(model);
    throw std::runtime_error("llama.cpp could not build the model to train from " + initial_model_path +
                             (state.error.empty() ? "" : ": " + state.error));
  }
  model_ = std::make_shared<Model>(model, initial_model_path);
  initial_data_.reset();  // copied into the model's tensors
  for (const char* name : {"token_embd.weight", "output.weight"}) {
    const auto found = tensors_.find(name);
    if (found == tensors_.end() || found->second->type != GGML_TYPE_F32) {
      throw std::runtime_error(std::string("the model to train needs an F32 ") + name + " (untied embeddings)");
    }
  }

  llama_context_params context_params = llama_context_default_params();
  context_params.n_ctx = static_cast<uint32_t>(options_.context_size);
  context_params.n_batch = context_params.n_ctx;
  context_params.n_ubatch = context_params.n_ctx;  // one window per optimizer step
  context_params.n_threads = options_.threads;
  context_params.n_threads_batch = options_.threads;
  context_params.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;  // FLASH_ATTN_EXT has no backward pass
  context_params.type_k = GGML_TYPE_F32;  // OUT_PROD (the backward of the attention products) has no F16 path
  context_params.type_v = GGML_TYPE_F32;
  context_params.no_perf = true;
  context_params.cb_eval = clear_gradient_after_step;  // see above: one window's gradient per step
  context_.reset(llama_init_from_model(model_->get(), context_params));
  if (!context_) throw std::runtime_error("llama.cpp could not create a training context");
  run_one_ordinary_decode();

  llama_opt_params opt_params{};
  opt_params.n_ctx_train = 0;
  opt_params.param_filter = llama_opt_param_filter_all;
  opt_params.get_opt_pars = scheduled_optimizer_params;
  opt_params.get_opt_pars_ud = this;
  opt_params.optimizer_type = GGML_OPT_OPTIMIZER_TYPE_ADAMW;
  llama_opt_init(context_.get(), model_->get(), opt_params);
  // llama_opt_init skips token_embd.weight (FIXME in llama-context.cpp); ggml-opt allocates the optimizer state of
  // every parameter when it first builds the graph, so marking it here, before the first step, is enough.
  ggml_set_param(tensors_.at("token_embd.weight"));
}

Trainer::~Trainer() = default;

// ggml-opt computes through the scheduler and never sets the CPU backend's thread count, which stays at its default
// (4) until llama_decode sets it: on a 2-core machine 4 threads spend 96 % of the time in a barrier.
void Trainer::run_one_ordinary_decode() {
  llama_token token = 0;
  llama_batch batch = llama_batch_get_one(&token, 1);
  if (llama_decode(context_.get(), batch) != 0) throw std::runtime_error("llama.cpp could not run the model");
  llama_memory_clear(llama_get_memory(context_.get()), true);
}

// ---------------------------------------------------------------------------------------------------------------
// Data and initialisation
// ---------------------------------------------------------------------------------------------------------------

void Trainer::set_training_tokens(std::vector<llama_token> tokens) {
  if (tokens.size() < static_cast<size_t>(options_.context_size) + 1) {
    throw std::runtime_error("the training stream holds " + std::to_string(tokens.size()) +
                             " tokens: fewer than one window of " + std::to_string(options_.context_size + 1));
  }
  const int32_t vocabulary_size = model_->info().vocabulary_size;
  for (const llama_token token : tokens) {
    if (token < 0 || token >= vocabulary_size) throw std::runtime_error("a training token lies outside the vocabulary");
  }
  training_tokens_ = std::move(tokens);
}

double Trainer::initialise_from_bigrams(int32_t fit_iterations) {
  ggml_tensor* input = tensors_.at("token_embd.weight");
  ggml_tensor* output = tensors_.at("output.weight");
  SpectralInitOptions spectral;
  spectral.vocabulary_size = static_cast<int32_t>(input->ne[1]);
  spectral.dimension = static_cast<int32_t>(input->ne[0]);
  spectral.seed = options_.seed;
  SpectralInit init = spectral_init(training_tokens_, spectral);
  BigramFitOptions fit;
  fit.iterations = fit_iterations;
  fit.threads = options_.threads;
  fit_bigram_factors(training_tokens_, init, fit);
  ggml_backend_tensor_set(input, init.input_embeddings.data(), 0, ggml_nbytes(input));
  ggml_backend_tensor_set(output, init.output_embeddings.data(), 0, ggml_nbytes(output));
  // With the residual branches' outputs at zero, each block adds nothing yet: the model is the bigram factorisation.
  for (const auto& [name, tensor] : tensors_) {
    if (name.find(".attn_output.") == std::string::npos && name.find(".ffn_down.") == std::string::npos) continue;
    const std::vector<uint8_t> zeros(ggml_nbytes(tensor), 0);
    ggml_backend_tensor_set(tensor, zeros.data(), 0, zeros.size());
  }
  return init.singular_values.empty() ? 0.0 : init.singular_values.front();
}

// ---------------------------------------------------------------------------------------------------------------
// Steps
// ---------------------------------------------------------------------------------------------------------------

ggml_opt_optimizer_params Trainer::optimizer_params() {
  const int64_t step = optimizer_calls_++;
  float scale;
  if (step < options_.warmup_steps) {
    scale = static_cast<float>(step + 1) / static_cast<float>(options_.warmup_steps);
  } else {
    const double span = std::max<int64_t>(1, options_.total_steps - options_.warmup_steps);
    const double progress = std::min(1.0, static_cast<double>(step - options_.warmup_steps) / span);
    const double cosine = 0.5 * (1.0 + std::cos(M_PI * progress));
    scale = static_cast<float>(options_.min_learning_rate_ratio + (1.0 - options_.min_learning_rate_ratio) * cosine);
  }
  ggml_opt_optimizer_params params = ggml_opt_get_default_optimizer_params(nullptr);
  params.adamw.alpha = options_.learning_rate * scale;
  params.adamw.beta1 = options_.beta1;
  params.adamw.beta2 = options_.beta2;
  params.adamw.eps = 1e-8f;
  params.adamw.wd = options_.weight_decay;
  return params;
}

// A dataset of windows of context_size inputs with their next tokens as labels.
ggml_opt_dataset_t Trainer::windows_dataset(const std::vector<llama_token>& tokens,
                                            const std::vector<size_t>& starts) const {
  const int64_t n = options_.context_size;
  ggml_opt_dataset_t dataset = ggml_opt_dataset_init(GGML_TYPE_I32, GGML_TYPE_I32, n, n, starts.size(), 1);
  auto* inputs = static_cast<int32_t*>(ggml_opt_dataset_data(dataset)->data);
  auto* labels = static_cast<int32_t*>(ggml_opt_dataset_labels(dataset)->data);
  for (size_t i = 0; i < starts.size(); i++) {
    std::memcpy(inputs + i * n, tokens.data() + starts[i], n * sizeof(int32_t));
    std::memcpy(labels + i * n, tokens.data() + starts[i] + 1, n * sizeof(int32_t));
  }
  return dataset;
}

namespace {
struct DatasetDeleter {
  void operator()(ggml_opt_dataset* dataset) const { ggml_opt_dataset_free(dataset); }
};
struct ResultDeleter {
  void operator()(ggml_opt_result* result) const { ggml_opt_result_free(result); }
};
using Dataset = std::unique_ptr<ggml_opt_dataset, DatasetDeleter>;
using Result = std::unique_ptr<ggml_opt_result, ResultDeleter>;

double mean_loss(ggml_opt_result_t result) {
  double loss = 0.0, uncertainty = 0.0;
  ggml_opt_result_loss(result, &loss, &uncertainty);
  return loss;
}
}  // namespace

double Trainer::train(int32_t steps, const std::atomic<bool>& cancel) {
  if (training_tokens_.empty()) throw std::runtime_error("train() before set_training_tokens()");
  if (embeddings_before_training_.empty())
    embeddings_before_training_ = tensor_values(tensors_.at("token_embd.weight"));
  std::uniform_int_distribution<size_t> start(0, training_tokens_.size() - options_.context_size - 1);
  double loss_sum = 0.0;
  int32_t done = 0;
  for (; done < steps && !cancel.load(); done++) {
    // One window per llama_opt_epoch call: a cancel is seen within one step.
    const Dataset dataset(windows_dataset(training_tokens_, {start(rng_)}));
    const Result result(ggml_opt_result_init());
    llama_opt_epoch(context_.get(), dataset.get(), result.get(), nullptr, 1, nullptr, nullptr);
    const double loss = mean_loss(result.get());
    if (!std::isfinite(loss)) throw std::runtime_error("the training loss is not finite (diverged)");
    loss_sum += loss;
    steps_done_++;
  }
  if (cancel.load()) throw AbortedError();
  return done == 0 ? 0.0 : loss_sum / done;
}

double Trainer::evaluate(const std::vector<llama_token>& tokens, int32_t max_windows) {
  const size_t n = options_.context_size;
  std::vector<size_t> starts;
  for (size_t s = 0; s + n + 1 <= tokens.size() && static_cast<int32_t>(starts.size()) < max_windows; s += n) {
    starts.push_back(s);
  }
  if (starts.empty()) throw std::runtime_error("the evaluation stream is shorter than one window");
  const Dataset dataset(windows_dataset(tokens, starts));
  const Result result(ggml_opt_result_init());
  llama_opt_epoch(context_.get(), dataset.get(), nullptr, result.get(), 0, nullptr, nullptr);
  return mean_loss(result.get());
}

double Trainer::embedding_change() const {
  if (embeddings_before_training_.empty()) return 0.0;
  const std::vector<float> values = tensor_values(tensors_.at("token_embd.weight"));
  double sum = 0.0;
  for (size_t i = 0; i < values.size(); i++) sum += std::fabs(values[i] - embeddings_before_training_[i]);
  return sum / static_cast<double>(values.size());
}

void Trainer::remember_weights() {
  for (const auto& [name, tensor] : tensors_) {
    std::vector<uint8_t>& copy = remembered_weights_[name];
    copy.resize(ggml_nbytes(tensor));
    ggml_backend_tensor_get(tensor, copy.data(), 0, copy.size());
  }
}

void Trainer::restore_weights() {
  if (remembered_weights_.empty()) throw std::runtime_error("restore_weights() before remember_weights()");
  for (const auto& [name, tensor] : tensors_) {
    const std::vector<uint8_t>& copy = remembered_weights_.at(name);
    ggml_backend_tensor_set(tensor, copy.data(), 0, copy.size());
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Saving
// ---------------------------------------------------------------------------------------------------------------

void Trainer::save(const std::string& path) const {
  // The initial file's metadata, then each tensor's current values copied to host memory (they may live on a GPU).
  std::unique_ptr<gguf_context, GgufContextDeleter> out(gguf_init_empty());
  gguf_set_kv(out.get(), metadata_.get());
  const int64_t count = gguf_get_n_tensors(metadata_.get());
  size_t bytes = 0;
  for (int64_t i = 0; i < count; i++) bytes += ggml_nbytes(tensors_.at(gguf_get_tensor_name(metadata_.get(), i)));
  ggml_init_params host_params = {bytes + static_cast<size_t>(count + 1) * ggml_tensor_overhead(), nullptr, false};
  std::unique_ptr<ggml_context, GgmlContextDeleter> host(ggml_init(host_params));
  if (!host) throw std::runtime_error("out of memory while saving the model");
  for (int64_t i = 0; i < count; i++) {
    const ggml_tensor* tensor = tensors_.at(gguf_get_tensor_name(metadata_.get(), i));
    ggml_tensor* copy = ggml_dup_tensor(host.get(), tensor);
    ggml_set_name(copy, tensor->name);
    ggml_backend_tensor_get(tensor, copy->data, 0, ggml_nbytes(tensor));
    gguf_add_tensor(out.get(), copy);
  }
  if (!gguf_write_to_file(out.get(), path.c_str(), /*only_meta=*/false)) {
    throw std::runtime_error("could not write the model to " + path);
  }
}

}  // namespace infoprune
