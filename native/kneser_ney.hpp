#pragma once
// The interpolated Kneser-Ney bigram of a token stream: the count model src/train/baselines.ts scores the probe
// against (same formula, in TypeScript), and the target of the probe's bigram start (spectral_init.cpp,
// bigram_fit.cpp).
//   P(w | v) = max(c(v w) - D, 0) / c(v ·) + β_v pc(w),  β_v = D N1+(v ·) / c(v ·)
//   pc(w) = (N1+(· w) + ½) / (N1+(· ·) + ½ V)   (continuation, smoothed so that no token has probability 0)
// A context never seen (c(v ·) = 0) falls back to pc.
#include <algorithm>
#include <cstdint>
#include <unordered_map>
#include <vector>

namespace infoprune {

// D, as in src/train/baselines.ts.
constexpr double kKneserNeyDiscount = 0.75;

class KneserNeyBigram {
 public:
  KneserNeyBigram(const std::vector<int32_t>& tokens, int32_t vocabulary, double discount)
      : discount_(discount), pairs_(vocabulary), following_(vocabulary, 0.0), continuation_(vocabulary) {
    for (size_t i = 0; i + 1 < tokens.size(); i++) pairs_[tokens[i]][tokens[i + 1]] += 1.0;
    std::vector<double> distinct_before(vocabulary, 0.0);
    double distinct_pairs = 0.0;
    for (int32_t v = 0; v < vocabulary; v++) {
      for (const auto& [w, c] : pairs_[v]) {
        following_[v] += c;
        distinct_before[w] += 1.0;
        distinct_pairs += 1.0;
      }
    }
    for (int32_t w = 0; w < vocabulary; w++)
      continuation_[w] = (distinct_before[w] + 0.5) / (distinct_pairs + 0.5 * vocabulary);
  }

  // c(v w) for the w seen after v (unordered).
  const std::unordered_map<int32_t, double>& pairs(int32_t v) const { return pairs_[v]; }
  // c(v ·)
  double following(int32_t v) const { return following_[v]; }
  // pc(w)
  double continuation(int32_t w) const { return continuation_[w]; }
  // β_v; 1 for a context never seen.
  double backoff(int32_t v) const {
    const double c = following_[v];
    return c > 0 ? discount_ * static_cast<double>(pairs_[v].size()) / c : 1.0;
  }
  // max(c(v w) - D, 0): the count a seen pair keeps for itself (over c(v ·), its own share of P(w | v)).
  double discounted(double count) const { return std::max(count - discount_, 0.0); }

 private:
  double discount_;
  std::vector<std::unordered_map<int32_t, double>> pairs_;
  std::vector<double> following_;
  std::vector<double> continuation_;
};

}  // namespace infoprune
