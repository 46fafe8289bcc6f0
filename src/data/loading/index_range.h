#pragma once
// Half-open ranges of positions and the one rule used everywhere to split a range over ranks.
#include <algorithm>
#include <cstdint>
#include <vector>

namespace dtrain::data {

struct IndexRange {
  int64_t begin = 0;
  int64_t end = 0;
  int64_t size() const { return end - begin; }
  bool empty() const { return end == begin; }
  friend bool operator==(const IndexRange& a, const IndexRange& b) {
    return a.begin == b.begin && a.end == b.end;
  }
};

// Part `part` of `count` items split into `parts` contiguous blocks in order: the first
// count % parts blocks hold one item more, so sizes differ by at most one and blocks may be empty.
inline IndexRange contiguous_block(int64_t count, int64_t parts, int64_t part) {
  const int64_t base = count / parts;
  const int64_t extra = count % parts;
  const int64_t begin = part * base + std::min(part, extra);
  return {begin, begin + base + (part < extra ? 1 : 0)};
}

// `range` cut in order into pieces of piece_size (> 0); the last may be smaller.
inline std::vector<IndexRange> cut_into_pieces(const IndexRange& range, int64_t piece_size) {
  std::vector<IndexRange> pieces;
  for (int64_t begin = range.begin; begin < range.end; begin += piece_size) {
    pieces.push_back({begin, std::min(begin + piece_size, range.end)});
  }
  return pieces;
}

}  // namespace dtrain::data
