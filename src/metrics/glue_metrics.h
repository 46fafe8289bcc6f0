#pragma once
// Evaluation metrics with the definitions GLUE and scikit-learn/scipy use (what Hugging Face's
// `evaluate` computes): accuracy, F1 (binary with positive label 1; macro for multi-class),
// Matthews correlation, Pearson, Spearman (ties get their average rank).
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace dtrain::metrics {

double accuracy(const std::vector<int64_t>& predictions, const std::vector<int64_t>& labels);
// Binary F1 of class 1 when num_classes == 2, else the unweighted mean over classes (macro).
double f1_score(const std::vector<int64_t>& predictions, const std::vector<int64_t>& labels,
                int64_t num_classes);
double matthews_correlation(const std::vector<int64_t>& predictions, const std::vector<int64_t>& labels,
                            int64_t num_classes);
double pearson_correlation(const std::vector<double>& x, const std::vector<double>& y);
double spearman_correlation(const std::vector<double>& x, const std::vector<double>& y);

// Metric names for a GLUE task, as the Hugging Face GLUE metric reports them: mrpc/qqp -> accuracy,
// f1; cola -> matthews_correlation; stsb -> pearson, spearmanr; others -> accuracy. An empty task
// name gives accuracy (classification) or pearson, spearmanr (regression).
std::vector<std::string> metrics_for_task(const std::string& task_name, bool regression);

// Computes the named metrics from logits-derived predictions (classification: argmax ids; regression:
// the single logit) and labels.
std::map<std::string, double> compute_metrics(const std::vector<std::string>& names,
                                              const std::vector<double>& predictions,
                                              const std::vector<double>& labels, int64_t num_classes);

}  // namespace dtrain::metrics
