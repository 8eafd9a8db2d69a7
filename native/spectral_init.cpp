#include "spectral_init.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>

namespace infoprune {
namespace {

// Column-major dense matrix of `rows` × `cols` doubles: column j is data[j*rows .. (j+1)*rows).
struct Columns {
  int32_t rows = 0;
  int32_t cols = 0;
  std::vector<double> data;
  Columns(int32_t r, int32_t c) : rows(r), cols(c), data(static_cast<size_t>(r) * c, 0.0) {}
  double* col(int32_t j) { return data.data() + static_cast<size_t>(j) * rows; }
  const double* col(int32_t j) const { return data.data() + static_cast<size_t>(j) * rows; }
};

// The centred, row-weighted bigram log-probability matrix L[v][w] = r_v (S[v][w] + a_w - mean_v(S)), kept as a
// sparse part S (seen pairs only) plus rank-one terms, so memory is O(distinct pairs), not O(V²).
// With interpolated Kneser-Ney, log P(w|v) = log(β_v pc_w) + S[v][w] where S is non-zero only for seen pairs; the
// row centring cancels log β_v, which leaves S, a = log pc (centred) and the row means of S.
class BigramLogits {
 public:
  BigramLogits(const std::vector<int32_t>& tokens, const SpectralInitOptions& options);

  // out = L x, for each column of x.
  void multiply(const Columns& x, Columns& out) const;
  // out = Lᵀ y, for each column of y.
  void multiply_transposed(const Columns& y, Columns& out) const;
  double row_weight(int32_t v) const { return row_weight_[v]; }

 private:
  int32_t size_;
  std::vector<int64_t> row_start_;  // CSR over previous tokens
  std::vector<int32_t> column_;
  std::vector<double> value_;
  std::vector<double> continuation_;  // a_w
  std::vector<double> row_mean_;      // mean over w of S[v][w]
  std::vector<double> row_weight_;    // r_v
};

BigramLogits::BigramLogits(const std::vector<int32_t>& tokens, const SpectralInitOptions& options)
    : size_(options.vocabulary_size) {
  const int32_t V = size_;
  const KneserNeyBigram bigram(tokens, V, options.discount);
  std::vector<double> log_continuation(V);
  for (int32_t w = 0; w < V; w++) log_continuation[w] = std::log(bigram.continuation(w));
  const double mean_log_continuation = std::accumulate(log_continuation.begin(), log_continuation.end(), 0.0) / V;
  continuation_.resize(V);
  for (int32_t w = 0; w < V; w++) continuation_[w] = log_continuation[w] - mean_log_continuation;

  row_start_.assign(V + 1, 0);
  row_mean_.assign(V, 0.0);
  row_weight_.resize(V);
  for (int32_t v = 0; v < V; v++) {
    const double row_count = bigram.following(v);
    row_weight_[v] = std::pow(row_count + 1.0, options.row_weight_power);
    row_start_[v + 1] = row_start_[v] + static_cast<int64_t>(bigram.pairs(v).size());
    if (row_count == 0.0) continue;
    const double backoff = bigram.backoff(v);  // β_v
    std::vector<std::pair<int32_t, double>> row(bigram.pairs(v).begin(), bigram.pairs(v).end());
    std::sort(row.begin(), row.end());
    for (const auto& [w, c] : row) {
      const double s = std::log1p(bigram.discounted(c) / (row_count * backoff) / std::exp(log_continuation[w]));
      column_.push_back(w);
      value_.push_back(s);
      row_mean_[v] += s / V;
    }
  }
}

void BigramLogits::multiply(const Columns& x, Columns& out) const {
  for (int32_t j = 0; j < x.cols; j++) {
    const double* xj = x.col(j);
    double* oj = out.col(j);
    double a_dot_x = 0.0, sum_x = 0.0;
    for (int32_t w = 0; w < size_; w++) {
      a_dot_x += continuation_[w] * xj[w];
      sum_x += xj[w];
    }
    for (int32_t v = 0; v < size_; v++) {
      double sum = a_dot_x - row_mean_[v] * sum_x;
      for (int64_t e = row_start_[v]; e < row_start_[v + 1]; e++) sum += value_[e] * xj[column_[e]];
      oj[v] = row_weight_[v] * sum;
    }
  }
}

void BigramLogits::multiply_transposed(const Columns& y, Columns& out) const {
  for (int32_t j = 0; j < y.cols; j++) {
    const double* yj = y.col(j);
    double* oj = out.col(j);
    double weighted_sum = 0.0, weighted_mean_sum = 0.0;
    std::fill(oj, oj + size_, 0.0);
    for (int32_t v = 0; v < size_; v++) {
      const double ry = row_weight_[v] * yj[v];
      weighted_sum += ry;
      weighted_mean_sum += ry * row_mean_[v];
      for (int64_t e = row_start_[v]; e < row_start_[v + 1]; e++) oj[column_[e]] += value_[e] * ry;
    }
    for (int32_t w = 0; w < size_; w++) oj[w] += continuation_[w] * weighted_sum - weighted_mean_sum;
  }
}

// Four partial sums: the compiler may not reorder a floating-point reduction itself, and this one dominates.
double dot_product(const double* x, const double* y, int32_t n) {
  double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
  int32_t i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += x[i] * y[i];
    s1 += x[i + 1] * y[i + 1];
    s2 += x[i + 2] * y[i + 2];
    s3 += x[i + 3] * y[i + 3];
  }
  for (; i < n; i++) s0 += x[i] * y[i];
  return (s0 + s1) + (s2 + s3);
}

// Modified Gram-Schmidt on the columns.
void orthonormalize(Columns& m) {
  for (int32_t j = 0; j < m.cols; j++) {
    double* cj = m.col(j);
    for (int32_t i = 0; i < j; i++) {
      const double* ci = m.col(i);
      const double dot = dot_product(ci, cj, m.rows);
      for (int32_t r = 0; r < m.rows; r++) cj[r] -= dot * ci[r];
    }
    const double norm = std::sqrt(dot_product(cj, cj, m.rows));
    const double scale = norm > 1e-300 ? 1.0 / norm : 0.0;
    for (int32_t r = 0; r < m.rows; r++) cj[r] *= scale;
  }
}

// Eigen-decomposition of a small symmetric matrix (row-major n × n) by cyclic Jacobi rotations; eigenvalues in
// descending order, eigenvectors as the columns of `vectors` (row-major).
void symmetric_eigen(std::vector<double> a, int32_t n, std::vector<double>& values, std::vector<double>& vectors) {
  std::vector<double> v(static_cast<size_t>(n) * n, 0.0);
  for (int32_t i = 0; i < n; i++) v[static_cast<size_t>(i) * n + i] = 1.0;
  auto at = [n](std::vector<double>& m, int32_t r, int32_t c) -> double& { return m[static_cast<size_t>(r) * n + c]; };
  for (int sweep = 0; sweep < 60; sweep++) {
    double off = 0.0, diagonal = 0.0;
    for (int32_t i = 0; i < n; i++) {
      diagonal += at(a, i, i) * at(a, i, i);
      for (int32_t j = i + 1; j < n; j++) off += at(a, i, j) * at(a, i, j);
    }
    if (off <= 1e-24 * diagonal) break;
    for (int32_t p = 0; p < n; p++) {
      for (int32_t q = p + 1; q < n; q++) {
        const double apq = at(a, p, q);
        if (std::fabs(apq) < 1e-300) continue;
        const double theta = (at(a, q, q) - at(a, p, p)) / (2.0 * apq);
        const double t = (theta >= 0 ? 1.0 : -1.0) / (std::fabs(theta) + std::sqrt(theta * theta + 1.0));
        const double c = 1.0 / std::sqrt(t * t + 1.0), s = t * c;
        for (int32_t k = 0; k < n; k++) {
          const double akp = at(a, k, p), akq = at(a, k, q);
          at(a, k, p) = c * akp - s * akq;
          at(a, k, q) = s * akp + c * akq;
        }
        for (int32_t k = 0; k < n; k++) {
          const double apk = at(a, p, k), aqk = at(a, q, k);
          at(a, p, k) = c * apk - s * aqk;
          at(a, q, k) = s * apk + c * aqk;
        }
        for (int32_t k = 0; k < n; k++) {
          const double vkp = at(v, k, p), vkq = at(v, k, q);
          at(v, k, p) = c * vkp - s * vkq;
          at(v, k, q) = s * vkp + c * vkq;
        }
      }
    }
  }
  std::vector<int32_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int32_t x, int32_t y) { return at(a, x, x) > at(a, y, y); });
  values.resize(n);
  vectors.assign(static_cast<size_t>(n) * n, 0.0);
  for (int32_t j = 0; j < n; j++) {
    values[j] = at(a, order[j], order[j]);
    for (int32_t k = 0; k < n; k++) vectors[static_cast<size_t>(k) * n + j] = at(v, k, order[j]);
  }
}

void check_options(const std::vector<int32_t>& tokens, const SpectralInitOptions& options) {
  if (options.vocabulary_size < 2 || options.dimension < 1 || options.dimension > options.vocabulary_size) {
    throw std::invalid_argument("spectral_init: needs 1 <= dimension <= vocabulary_size and vocabulary_size >= 2");
  }
  for (const int32_t token : tokens) {
    if (token < 0 || token >= options.vocabulary_size) {
      throw std::invalid_argument("spectral_init: token " + std::to_string(token) + " outside the vocabulary");
    }
  }
}

}  // namespace

SpectralInit spectral_init(const std::vector<int32_t>& tokens, const SpectralInitOptions& options) {
  check_options(tokens, options);
  const int32_t V = options.vocabulary_size, d = options.dimension;
  const int32_t k = std::min(V, d + options.oversampling);
  const BigramLogits logits(tokens, options);

  // Randomised range finder with power iterations (Halko, Martinsson & Tropp 2011).
  Columns range(V, k), transposed(V, k);
  std::mt19937_64 rng(options.seed);
  std::normal_distribution<double> normal;
  for (double& x : transposed.data) x = normal(rng);
  logits.multiply(transposed, range);
  orthonormalize(range);
  for (int32_t i = 0; i < options.power_iterations; i++) {
    logits.multiply_transposed(range, transposed);
    orthonormalize(transposed);
    logits.multiply(transposed, range);
    orthonormalize(range);
  }
  // B = Qᵀ L (k × V) is held as its transpose Z = Lᵀ Q; B Bᵀ = Zᵀ Z = U Σ² Uᵀ.
  logits.multiply_transposed(range, transposed);
  std::vector<double> gram(static_cast<size_t>(k) * k, 0.0);
  for (int32_t i = 0; i < k; i++) {
    for (int32_t j = i; j < k; j++) {
      const double dot = dot_product(transposed.col(i), transposed.col(j), V);
      gram[static_cast<size_t>(i) * k + j] = gram[static_cast<size_t>(j) * k + i] = dot;
    }
  }
  std::vector<double> eigenvalues, u;
  symmetric_eigen(gram, k, eigenvalues, u);

  // L ≈ (Q U Σ^½) (Z U Σ^-½)ᵀ; rows of the left factor are unweighted (÷ r_v), then normalised to RMS 1 (the model
  // normalises its input), and the right factor is scaled by the mean RMS so the logits keep their average scale.
  SpectralInit result;
  result.singular_values.resize(d);
  result.input_embeddings.assign(static_cast<size_t>(V) * d, 0.0f);
  result.output_embeddings.assign(static_cast<size_t>(V) * d, 0.0f);
  std::vector<double> left(static_cast<size_t>(V) * d, 0.0), right(static_cast<size_t>(V) * d, 0.0);
  std::vector<double> left_column(V), right_column(V);
  for (int32_t j = 0; j < d; j++) {
    const double sigma = std::sqrt(std::max(eigenvalues[j], 1e-300));
    result.singular_values[j] = sigma;
    std::fill(left_column.begin(), left_column.end(), 0.0);
    std::fill(right_column.begin(), right_column.end(), 0.0);
    for (int32_t i = 0; i < k; i++) {
      const double uij = u[static_cast<size_t>(i) * k + j];
      const double *qi = range.col(i), *zi = transposed.col(i);
      for (int32_t r = 0; r < V; r++) {
        left_column[r] += qi[r] * uij;
        right_column[r] += zi[r] * uij;
      }
    }
    for (int32_t r = 0; r < V; r++) {
      left[static_cast<size_t>(r) * d + j] = left_column[r] * std::sqrt(sigma);
      right[static_cast<size_t>(r) * d + j] = right_column[r] / std::sqrt(sigma);
    }
  }
  double mean_rms = 0.0;
  for (int32_t r = 0; r < V; r++) {
    double squares = 0.0;
    for (int32_t j = 0; j < d; j++) {
      double& x = left[static_cast<size_t>(r) * d + j];
      x /= logits.row_weight(r);
      squares += x * x;
    }
    const double rms = std::sqrt(squares / d) + 1e-12;
    mean_rms += rms / V;
    for (int32_t j = 0; j < d; j++) {
      result.input_embeddings[static_cast<size_t>(r) * d + j] =
          static_cast<float>(left[static_cast<size_t>(r) * d + j] / rms);
    }
  }
  for (size_t i = 0; i < right.size(); i++) result.output_embeddings[i] = static_cast<float>(right[i] * mean_rms);
  return result;
}

}  // namespace infoprune
