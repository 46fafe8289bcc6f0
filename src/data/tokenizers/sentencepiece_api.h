#pragma once
// The part of SentencePiece that dtrain uses, as an interface that the shared library
// libdtrain_sentencepiece.so (sentencepiece_shim.cpp) implements on top of Debian's libsentencepiece.
//
// Why a separate library: libsentencepiece.so and LibTorch's libc10.so both export a global named
// FLAGS_minloglevel (SentencePiece's is a 32-byte flag object, c10's a 4-byte int). Linked into one
// executable, both libraries bind to whichever copy comes first: SentencePiece then constructs its flag
// over c10's int and the bytes after it, or c10 reads SentencePiece's vtable pointer as its log level.
// sentencepiece.cpp loads the shim with dlopen(RTLD_LOCAL | RTLD_DEEPBIND), so SentencePiece resolves
// its own symbols first and never enters the global scope that LibTorch shares.
//
// Only standard-library types cross the boundary. Failures are thrown as std::runtime_error with
// SentencePiece's message; sentencepiece.h turns them into dtrain::Error with context.
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace dtrain::data::spm {

enum class PieceKind { kNormal, kUnknown, kControl, kUnused, kByte };

// A loaded SentencePiece model. Safe to use from several threads at once.
class Model {
 public:
  virtual ~Model() = default;
  // Pieces of `text` (SentencePieceProcessor::Encode, no extra options): an unknown character comes
  // back as its own text, not as "<unk>".
  virtual std::vector<std::string> encode(std::string_view text) const = 0;
  // SentencePieceProcessor::Decode of pieces (the Python wrapper's decode_pieces).
  virtual std::string decode(const std::vector<std::string>& pieces) const = 0;
  virtual int size() const = 0;
  virtual std::string piece(int id) const = 0;
  virtual PieceKind kind(int id) const = 0;
};

class Library {
 public:
  // A model from the bytes of a .model/.spm file.
  virtual std::unique_ptr<Model> load(const std::string& serialized) const = 0;
  // Trains a model with SentencePieceTrainer options (name -> value, as spm_train's flags) on
  // `sentences` and returns it serialized. `seed` seeds SentencePiece's random generator (sampling of
  // the input sentences).
  virtual std::string train(const std::map<std::string, std::string>& options,
                            const std::vector<std::string>& sentences, unsigned int seed) const = 0;
  // The version of libsentencepiece the shim was built against.
  virtual std::string version() const = 0;

 protected:
  ~Library() = default;
};

}  // namespace dtrain::data::spm

// The shim's one exported symbol: its Library, which lives as long as the shim is loaded.
extern "C" const dtrain::data::spm::Library* dtrain_sentencepiece_library();
