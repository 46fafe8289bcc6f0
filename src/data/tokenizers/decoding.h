#pragma once
// Text clean-up steps of Hugging Face's decoders, shared by the tokenizers.
#include <string>
#include <string_view>

namespace dtrain::data {

// Every occurrence of `from` replaced by `to`, left to right (Python's str.replace).
std::string replace_all(std::string text, std::string_view from, std::string_view to);

// transformers' PreTrainedTokenizerBase.clean_up_tokenization: " ." -> ".", " n't" -> "n't", ...
std::string clean_up_tokenization(std::string text);

// Python's str.strip(): removes the characters str.isspace() accepts from both ends.
std::string strip_python_whitespace(std::string_view text);

}  // namespace dtrain::data
