#include "bigram_fit.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <stdexcept>

#include "ggml-alloc.h"
#include "ggml-backend.h"
#include "ggml.h"

namespace infoprune {
namespace {

// Contexts per graph: bounds the V × rows intermediates (logits, probabilities, gradients) to a few hundred MB at the
// largest vocabulary, whatever the vocabulary.
constexpr int32_t kRowsPerChunk = 1024;
constexpr float kNormEpsilon = 1e-5f;  // the probe's RMS-norm epsilon (src/gguf's llama writer)

struct BackendDeleter {
  void operator()(ggml_backend_t backend) const { ggml_backend_free(backend); }
};
struct BufferDeleter {
  void operator()(ggml_backend_buffer_t buffer) const { ggml_backend_buffer_free(buffer); }
};
struct ContextDeleter {
  void operator()(ggml_context* context) const { ggml_free(context); }
};

// The dense rows P(· | v) of the interpolated Kneser-Ney bigram (the distribution src/train/baselines.ts scores the
// probe against) and each context's weight in the loss, its share of the training pairs (+1, so every row counts).
struct BigramTargets {
  std::vector<float> rows;     // padded_rows × vocabulary
  std::vector<float> weights;  // padded_rows; 0 for the padding
};

BigramTargets kneser_ney_targets(const std::vector<int32_t>& tokens, int32_t vocabulary, int32_t padded_rows,
                                 double discount) {
  const KneserNeyBigram bigram(tokens, vocabulary, discount);
  BigramTargets targets;
  targets.rows.assign(static_cast<size_t>(padded_rows) * vocabulary, 0.0f);
  targets.weights.assign(padded_rows, 0.0f);
  double total_weight = 0.0;
  for (int32_t v = 0; v < vocabulary; v++) total_weight += bigram.following(v) + 1.0;
  for (int32_t v = 0; v < vocabulary; v++) {
    float* row = targets.rows.data() + static_cast<size_t>(v) * vocabulary;
    const double c = bigram.following(v);
    const double backoff = bigram.backoff(v);
    for (int32_t w = 0; w < vocabulary; w++) row[w] = static_cast<float>(backoff * bigram.continuation(w));
    for (const auto& [w, count] : bigram.pairs(v)) row[w] += static_cast<float>(bigram.discounted(count) / c);
    targets.weights[v] = static_cast<float>((c + 1.0) / total_weight);
  }
  return targets;
}

// One chunk of contexts as a ggml graph: the gradients of the weighted cross-entropy of softmax(output ·
// rmsnorm(input)) against the targets with respect to the chunk's input rows and to every output row (written out by
// hand: ggml's autodiff would also differentiate through the constant targets and keep every intermediate for it).
struct ChunkGraph {
  std::unique_ptr<ggml_context, ContextDeleter> context;
  std::unique_ptr<ggml_backend_buffer, BufferDeleter> buffer;
  ggml_cgraph* graph = nullptr;
  ggml_tensor *input, *output, *targets, *weights, *epsilon;
  ggml_tensor *input_gradient, *output_gradient;
};

ChunkGraph build_chunk_graph(ggml_backend_t backend, int32_t dimension, int32_t vocabulary, int32_t rows) {
  ChunkGraph g;
  ggml_init_params params = {ggml_tensor_overhead() * 64 + ggml_graph_overhead(), nullptr, /*no_alloc=*/true};
  g.context.reset(ggml_init(params));
  ggml_context* ctx = g.context.get();
  g.input = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, dimension, rows);
  g.output = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, dimension, vocabulary);
  g.targets = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, vocabulary, rows);
  g.weights = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 1, rows);
  g.epsilon = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 1, 1);

  // Forward: N = E / r with r = sqrt(mean(E²) + ε); logits [vocabulary × rows]; P = softmax per context.
  ggml_tensor* mean_square = ggml_scale(ctx, ggml_sum_rows(ctx, ggml_sqr(ctx, g.input)), 1.0f / dimension);
  ggml_tensor* rms = ggml_sqrt(ctx, ggml_add(ctx, mean_square, g.epsilon));
  ggml_tensor* normed = ggml_div(ctx, g.input, rms);
  ggml_tensor* probabilities = ggml_soft_max(ctx, ggml_mul_mat(ctx, g.output, normed));

  // Backward: G = w (P − T); dO = Gᵀ N; dN = G O; dE = (dN − N · mean(dN ⊙ N)) / r.
  ggml_tensor* logits_gradient = ggml_mul(ctx, ggml_sub(ctx, probabilities, g.targets), g.weights);
  g.output_gradient = ggml_mul_mat(ctx, ggml_cont(ctx, ggml_transpose(ctx, normed)),
                                   ggml_cont(ctx, ggml_transpose(ctx, logits_gradient)));
  ggml_tensor* normed_gradient = ggml_mul_mat(ctx, ggml_cont(ctx, ggml_transpose(ctx, g.output)), logits_gradient);
  ggml_tensor* projection =
      ggml_scale(ctx, ggml_sum_rows(ctx, ggml_mul(ctx, normed_gradient, normed)), 1.0f / dimension);
  g.input_gradient = ggml_div(ctx, ggml_sub(ctx, normed_gradient, ggml_mul(ctx, normed, projection)), rms);

  g.graph = ggml_new_graph(ctx);
  ggml_build_forward_expand(g.graph, g.output_gradient);
  ggml_build_forward_expand(g.graph, g.input_gradient);
  g.buffer.reset(ggml_backend_alloc_ctx_tensors(ctx, backend));
  if (!g.buffer) throw std::runtime_error("out of memory for the bigram fit");
  ggml_backend_tensor_set(g.epsilon, &kNormEpsilon, 0, sizeof(float));
  return g;
}

std::unique_ptr<ggml_backend, BackendDeleter> cpu_backend(int32_t threads) {
  ggml_backend_dev_t device = ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU);
  if (device == nullptr) throw std::runtime_error("ggml's CPU backend is not loaded");
  std::unique_ptr<ggml_backend, BackendDeleter> backend(ggml_backend_dev_init(device, nullptr));
  if (!backend) throw std::runtime_error("ggml's CPU backend could not start");
  auto set_threads = reinterpret_cast<ggml_backend_set_n_threads_t>(
      ggml_backend_reg_get_proc_address(ggml_backend_dev_backend_reg(device), "ggml_backend_set_n_threads"));
  if (set_threads != nullptr) set_threads(backend.get(), threads);
  return backend;
}

// Adam with bias correction, on host memory (the factors are small next to the products that give their gradients).
class Adam {
 public:
  Adam(size_t size, float learning_rate) : first_(size, 0.0f), second_(size, 0.0f), learning_rate_(learning_rate) {}
  void step(std::vector<float>& values, const std::vector<float>& gradient, int32_t t) {
    const float correction1 = 1.0f - std::pow(kBeta1, static_cast<float>(t));
    const float correction2 = 1.0f - std::pow(kBeta2, static_cast<float>(t));
    for (size_t i = 0; i < values.size(); i++) {
      first_[i] = kBeta1 * first_[i] + (1.0f - kBeta1) * gradient[i];
      second_[i] = kBeta2 * second_[i] + (1.0f - kBeta2) * gradient[i] * gradient[i];
      values[i] -= learning_rate_ * (first_[i] / correction1) / (std::sqrt(second_[i] / correction2) + 1e-8f);
    }
  }

 private:
  static constexpr float kBeta1 = 0.9f, kBeta2 = 0.999f;
  std::vector<float> first_, second_;
  float learning_rate_;
};

void normalise_rows(std::vector<float>& rows, int32_t count, int32_t dimension) {
  for (int32_t r = 0; r < count; r++) {
    float* row = rows.data() + static_cast<size_t>(r) * dimension;
    double squares = 0.0;
    for (int32_t j = 0; j < dimension; j++) squares += static_cast<double>(row[j]) * row[j];
    const float scale = static_cast<float>(1.0 / (std::sqrt(squares / dimension) + 1e-12));
    for (int32_t j = 0; j < dimension; j++) row[j] *= scale;
  }
}

}  // namespace

void fit_bigram_factors(const std::vector<int32_t>& tokens, SpectralInit& init, const BigramFitOptions& options) {
  const int32_t d = static_cast<int32_t>(init.singular_values.size());
  const int32_t V = static_cast<int32_t>(init.output_embeddings.size() / std::max(1, d));
  if (options.iterations <= 0 || d == 0) return;
  const int32_t rows_per_chunk = std::min(V, kRowsPerChunk);
  const int32_t chunks = (V + rows_per_chunk - 1) / rows_per_chunk;
  const int32_t padded = chunks * rows_per_chunk;

  // 1. Targets, and the factors on the host; padding contexts have weight 0 and unit rows (no division by zero).
  const BigramTargets targets = kneser_ney_targets(tokens, V, padded, options.discount);
  std::vector<float> input(static_cast<size_t>(padded) * d, 1.0f);
  std::copy(init.input_embeddings.begin(), init.input_embeddings.end(), input.begin());
  std::vector<float>& output = init.output_embeddings;

  // 2. One graph, reused for every chunk of every iteration.
  const auto backend = cpu_backend(options.threads);
  const ChunkGraph graph = build_chunk_graph(backend.get(), d, V, rows_per_chunk);
  const size_t chunk_inputs = static_cast<size_t>(rows_per_chunk) * d;
  const size_t chunk_targets = static_cast<size_t>(rows_per_chunk) * V;

  // 3. Full-batch Adam: each iteration sums the output gradient over all chunks before one update of both factors.
  Adam input_adam(input.size(), options.learning_rate), output_adam(output.size(), options.learning_rate);
  std::vector<float> input_gradient(input.size()), output_gradient(output.size()), chunk_output_gradient(output.size());
  for (int32_t t = 1; t <= options.iterations; t++) {
    ggml_backend_tensor_set(graph.output, output.data(), 0, output.size() * sizeof(float));
    std::fill(output_gradient.begin(), output_gradient.end(), 0.0f);
    for (int32_t c = 0; c < chunks; c++) {
      ggml_backend_tensor_set(graph.input, input.data() + c * chunk_inputs, 0, chunk_inputs * sizeof(float));
      ggml_backend_tensor_set(graph.targets, targets.rows.data() + c * chunk_targets, 0, chunk_targets * sizeof(float));
      ggml_backend_tensor_set(graph.weights, targets.weights.data() + static_cast<size_t>(c) * rows_per_chunk, 0,
                              rows_per_chunk * sizeof(float));
      if (ggml_backend_graph_compute(backend.get(), graph.graph) != GGML_STATUS_SUCCESS) {
        throw std::runtime_error("ggml could not compute the bigram fit");
      }
      ggml_backend_tensor_get(graph.input_gradient, input_gradient.data() + c * chunk_inputs, 0,
                              chunk_inputs * sizeof(float));
      ggml_backend_tensor_get(graph.output_gradient, chunk_output_gradient.data(), 0, output.size() * sizeof(float));
      for (size_t i = 0; i < output.size(); i++) output_gradient[i] += chunk_output_gradient[i];
    }
    input_adam.step(input, input_gradient, t);
    output_adam.step(output, output_gradient, t);
  }

  // 4. Back into the initialisation; the model normalises its input, so rows of RMS 1 change nothing but the scale
  // the residual branches are added to.
  normalise_rows(input, V, d);
  std::copy(input.begin(), input.begin() + static_cast<size_t>(V) * d, init.input_embeddings.begin());
}

}  // namespace infoprune
