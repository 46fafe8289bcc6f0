#include "metrics/glue_metrics.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "common/error.h"

namespace dtrain::metrics {
namespace {

void check_sizes(size_t a, size_t b) {
  DTRAIN_ASSERT(a == b, "metrics: {} predictions for {} labels", a, b);
}

// confusion[label][prediction]
std::vector<std::vector<int64_t>> confusion_matrix(const std::vector<int64_t>& predictions,
                                                   const std::vector<int64_t>& labels, int64_t num_classes) {
  check_sizes(predictions.size(), labels.size());
  std::vector<std::vector<int64_t>> confusion(num_classes, std::vector<int64_t>(num_classes, 0));
  for (size_t i = 0; i < labels.size(); ++i) {
    DTRAIN_ASSERT(
        labels[i] >= 0 && labels[i] < num_classes && predictions[i] >= 0 && predictions[i] < num_classes,
        "metrics: class id out of range [0, {})", num_classes);
    ++confusion[labels[i]][predictions[i]];
  }
  return confusion;
}

// F1 of one class; 0 when it has neither predictions nor labels (scikit-learn's zero_division=0).
double class_f1(const std::vector<std::vector<int64_t>>& confusion, int64_t c) {
  int64_t true_positive = confusion[c][c], predicted = 0, actual = 0;
  for (size_t k = 0; k < confusion.size(); ++k) {
    predicted += confusion[k][c];
    actual += confusion[c][k];
  }
  const int64_t denominator = predicted + actual;
  return denominator == 0 ? 0.0 : 2.0 * static_cast<double>(true_positive) / static_cast<double>(denominator);
}

// Average ranks (1-based), ties sharing the mean of the ranks they span, as scipy.stats.rankdata.
std::vector<double> average_ranks(const std::vector<double>& values) {
  std::vector<size_t> order(values.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return values[a] < values[b]; });
  std::vector<double> ranks(values.size());
  for (size_t start = 0; start < order.size();) {
    size_t end = start + 1;
    while (end < order.size() && values[order[end]] == values[order[start]]) ++end;
    const double rank = 0.5 * static_cast<double>(start + 1 + end);  // mean of start+1 .. end
    for (size_t k = start; k < end; ++k) ranks[order[k]] = rank;
    start = end;
  }
  return ranks;
}

}  // namespace

double accuracy(const std::vector<int64_t>& predictions, const std::vector<int64_t>& labels) {
  check_sizes(predictions.size(), labels.size());
  if (labels.empty()) return 0.0;
  int64_t correct = 0;
  for (size_t i = 0; i < labels.size(); ++i) correct += predictions[i] == labels[i];
  return static_cast<double>(correct) / static_cast<double>(labels.size());
}

double f1_score(const std::vector<int64_t>& predictions, const std::vector<int64_t>& labels,
                int64_t num_classes) {
  const auto confusion = confusion_matrix(predictions, labels, num_classes);
  if (num_classes == 2) return class_f1(confusion, 1);
  double sum = 0;
  for (int64_t c = 0; c < num_classes; ++c) sum += class_f1(confusion, c);
  return sum / static_cast<double>(num_classes);
}

double matthews_correlation(const std::vector<int64_t>& predictions, const std::vector<int64_t>& labels,
                            int64_t num_classes) {
  // The multi-class form (Gorodkin's R_K), which reduces to the binary MCC; 0 when undefined.
  const auto confusion = confusion_matrix(predictions, labels, num_classes);
  std::vector<double> predicted(num_classes, 0), actual(num_classes, 0);
  double correct = 0, samples = 0;
  for (int64_t i = 0; i < num_classes; ++i) {
    for (int64_t j = 0; j < num_classes; ++j) {
      actual[i] += static_cast<double>(confusion[i][j]);
      predicted[j] += static_cast<double>(confusion[i][j]);
    }
    correct += static_cast<double>(confusion[i][i]);
  }
  samples = std::accumulate(actual.begin(), actual.end(), 0.0);
  const double pa = std::inner_product(predicted.begin(), predicted.end(), actual.begin(), 0.0);
  const double pp = std::inner_product(predicted.begin(), predicted.end(), predicted.begin(), 0.0);
  const double aa = std::inner_product(actual.begin(), actual.end(), actual.begin(), 0.0);
  const double denominator = std::sqrt((samples * samples - pp) * (samples * samples - aa));
  return denominator == 0 ? 0.0 : (correct * samples - pa) / denominator;
}

double pearson_correlation(const std::vector<double>& x, const std::vector<double>& y) {
  check_sizes(x.size(), y.size());
  if (x.size() < 2) return std::nan("");
  const double n = static_cast<double>(x.size());
  const double mean_x = std::accumulate(x.begin(), x.end(), 0.0) / n;
  const double mean_y = std::accumulate(y.begin(), y.end(), 0.0) / n;
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    sxy += (x[i] - mean_x) * (y[i] - mean_y);
    sxx += (x[i] - mean_x) * (x[i] - mean_x);
    syy += (y[i] - mean_y) * (y[i] - mean_y);
  }
  // A constant input has no defined correlation (scipy returns nan).
  return (sxx == 0 || syy == 0) ? std::nan("") : sxy / std::sqrt(sxx * syy);
}

double spearman_correlation(const std::vector<double>& x, const std::vector<double>& y) {
  return pearson_correlation(average_ranks(x), average_ranks(y));
}

std::vector<std::string> metrics_for_task(const std::string& task_name, bool regression) {
  if (task_name == "mrpc" || task_name == "qqp") return {"accuracy", "f1"};
  if (task_name == "cola") return {"matthews_correlation"};
  if (task_name == "stsb" || (task_name.empty() && regression)) return {"pearson", "spearmanr"};
  return {"accuracy"};
}

std::map<std::string, double> compute_metrics(const std::vector<std::string>& names,
                                              const std::vector<double>& predictions,
                                              const std::vector<double>& labels, int64_t num_classes) {
  const std::vector<int64_t> predicted_ids(predictions.begin(), predictions.end());
  const std::vector<int64_t> label_ids(labels.begin(), labels.end());
  std::map<std::string, double> results;
  for (const auto& name : names) {
    if (name == "accuracy")
      results[name] = accuracy(predicted_ids, label_ids);
    else if (name == "f1")
      results[name] = f1_score(predicted_ids, label_ids, num_classes);
    else if (name == "matthews_correlation")
      results[name] = matthews_correlation(predicted_ids, label_ids, num_classes);
    else if (name == "pearson")
      results[name] = pearson_correlation(predictions, labels);
    else if (name == "spearmanr")
      results[name] = spearman_correlation(predictions, labels);
    else
      DTRAIN_FAIL("unknown metric '{}' (accuracy, f1, matthews_correlation, pearson, spearmanr)", name);
  }
  return results;
}

}  // namespace dtrain::metrics
