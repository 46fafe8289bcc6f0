#include "model/hf/torch_pickle.h"

#include <fmt/format.h>

#include <cstring>
#include <map>
#include <optional>
#include <unordered_map>

#include "common/error.h"

namespace dtrain::model {
namespace {

using Kind = PickleValue::Kind;

// The opcodes of pickle protocols 0-5 (Python's Lib/pickletools.py documents them).
namespace op {
constexpr uint8_t kMark = '(', kStop = '.', kPop = '0', kPopMark = '1', kDup = '2', kBinInt = 'J',
                  kBinInt1 = 'K', kBinInt2 = 'M', kNone = 'N', kBinPersId = 'Q', kReduce = 'R',
                  kBinUnicode = 'X', kEmptyList = ']', kAppend = 'a', kBuild = 'b', kGlobal = 'c',
                  kDict = 'd', kEmptyDict = '}', kAppends = 'e', kBinGet = 'h', kLongBinGet = 'j',
                  kList = 'l', kBinPut = 'q', kLongBinPut = 'r', kSetItem = 's', kTuple = 't',
                  kEmptyTuple = ')', kSetItems = 'u', kBinFloat = 'G', kBinString = 'T',
                  kShortBinString = 'U', kBinBytes = 'B', kShortBinBytes = 'C', kProto = 0x80, kNewObj = 0x81,
                  kTuple1 = 0x85, kTuple2 = 0x86, kTuple3 = 0x87, kNewTrue = 0x88, kNewFalse = 0x89,
                  kLong1 = 0x8a, kLong4 = 0x8b, kShortBinUnicode = 0x8c, kBinUnicode8 = 0x8d,
                  kBinBytes8 = 0x8e, kNewObjEx = 0x92, kStackGlobal = 0x93, kMemoize = 0x94, kFrame = 0x95;
}  // namespace op

constexpr int kHighestProtocol = 5;

constexpr const char* kOrderedDict = "collections.OrderedDict";
constexpr const char* kRebuildTensor = "torch._utils._rebuild_tensor_v2";
constexpr const char* kRebuildParameter = "torch._utils._rebuild_parameter";

// torch's legacy typed storage classes, which torch.save names in every persistent id.
const std::map<std::string, SafetensorsDtype, std::less<>> kStorageTypes = {
    {"torch.DoubleStorage", SafetensorsDtype::kF64}, {"torch.FloatStorage", SafetensorsDtype::kF32},
    {"torch.HalfStorage", SafetensorsDtype::kF16},   {"torch.BFloat16Storage", SafetensorsDtype::kBF16},
    {"torch.LongStorage", SafetensorsDtype::kI64},   {"torch.IntStorage", SafetensorsDtype::kI32},
    {"torch.ShortStorage", SafetensorsDtype::kI16},  {"torch.CharStorage", SafetensorsDtype::kI8},
    {"torch.ByteStorage", SafetensorsDtype::kU8},    {"torch.BoolStorage", SafetensorsDtype::kBool},
};

bool is_allowed_global(std::string_view name) {
  return name == kOrderedDict || name == kRebuildTensor || name == kRebuildParameter ||
         kStorageTypes.count(name) > 0;
}

PickleRef make(Kind kind) {
  auto value = std::make_shared<PickleValue>();
  value->kind = kind;
  return value;
}

class Reader {
 public:
  Reader(std::string_view bytes, size_t position, const std::string& source)
      : bytes_(bytes), position_(position), source_(source) {}

  PickleRef run() {
    while (true) {
      opcode_offset_ = position_;
      const uint8_t opcode = read_byte();
      if (opcode == op::kStop) break;
      execute(opcode);
    }
    check(stack_.size() == 1 && marks_.empty(),
          "the pickle ends with {} value(s) on its stack instead of one", stack_.size());
    return stack_.back();
  }

  size_t position() const { return position_; }

 private:
  template <typename... Args>
  void check(bool condition, fmt::format_string<Args...> format, Args&&... args) const {
    if (!condition) fail(fmt::format(format, std::forward<Args>(args)...));
  }
  [[noreturn]] void fail(const std::string& what) const {
    DTRAIN_FAIL("{}: pickle byte {}: {}", source_, opcode_offset_, what);
  }

  std::string_view read_bytes(uint64_t count) {
    check(count <= bytes_.size() - position_, "the data ends {} byte(s) early (truncated file?)",
          count - (bytes_.size() - position_));
    const std::string_view result = bytes_.substr(position_, count);
    position_ += count;
    return result;
  }
  uint8_t read_byte() { return static_cast<uint8_t>(read_bytes(1)[0]); }
  template <typename T>
  T read_little_endian() {
    T value;
    std::memcpy(&value, read_bytes(sizeof(T)).data(), sizeof(T));
    return value;
  }
  std::string read_line() {
    const size_t end = bytes_.find('\n', position_);
    check(end != std::string_view::npos, "a GLOBAL name has no end of line (truncated file?)");
    std::string line(bytes_.substr(position_, end - position_));
    position_ = end + 1;
    return line;
  }

  void push(PickleRef value) { stack_.push_back(std::move(value)); }
  PickleRef pop() {
    check(!stack_.empty() && (marks_.empty() || stack_.size() > marks_.back()),
          "an opcode needs a value but the stack is empty");
    PickleRef value = std::move(stack_.back());
    stack_.pop_back();
    return value;
  }
  PickleRef& top() {
    check(!stack_.empty(), "an opcode needs a value but the stack is empty");
    return stack_.back();
  }
  // The values pushed since the last MARK, which is removed.
  std::vector<PickleRef> pop_to_mark() {
    check(!marks_.empty(), "an opcode needs a MARK but there is none");
    const size_t mark = marks_.back();
    marks_.pop_back();
    std::vector<PickleRef> values(std::make_move_iterator(stack_.begin() + mark),
                                  std::make_move_iterator(stack_.end()));
    stack_.resize(mark);
    return values;
  }

  PickleRef integer(int64_t value) {
    PickleRef result = make(Kind::kInt);
    result->integer = value;
    return result;
  }
  PickleRef string(std::string_view text) {
    PickleRef result = make(Kind::kString);
    result->text = std::string(text);
    return result;
  }
  PickleRef tuple(std::vector<PickleRef> items) {
    PickleRef result = make(Kind::kTuple);
    result->items = std::move(items);
    return result;
  }

  int64_t read_long(uint64_t length) {
    check(length <= 8, "an integer of {} bytes does not fit 64 bits", length);
    const std::string_view data = read_bytes(length);
    uint64_t value = 0;
    for (size_t i = 0; i < length; ++i) value |= uint64_t{static_cast<uint8_t>(data[i])} << (8 * i);
    if (length > 0 && length < 8 && (static_cast<uint8_t>(data[length - 1]) & 0x80))
      value |= ~uint64_t{0} << (8 * length);  // two's complement: extend the sign
    return static_cast<int64_t>(value);
  }

  void global(const std::string& module, const std::string& name) {
    const std::string qualified = module + "." + name;
    check(
        is_allowed_global(qualified),
        "refusing the Python global '{}': a PyTorch checkpoint may only hold tensors, and dtrain never runs "
        "code from a pickle (allowed: {}, {}, {} and torch's storage types)",
        qualified, kOrderedDict, kRebuildTensor, kRebuildParameter);
    PickleRef value = make(Kind::kGlobal);
    value->text = qualified;
    push(std::move(value));
  }

  void memo_put(uint64_t id) { memo_[id] = top(); }
  void memo_get(uint64_t id) {
    const auto found = memo_.find(id);
    check(found != memo_.end(), "memo entry {} is read before it is written", id);
    push(found->second);
  }

  void set_items(PickleValue& dict, std::vector<PickleRef>& pairs) {
    check(dict.kind == Kind::kDict, "SETITEM(S) on {}, not a dict", describe(dict));
    check(pairs.size() % 2 == 0, "SETITEMS with an odd number of values");
    for (auto& value : pairs) dict.items.push_back(std::move(value));
  }

  void append(PickleValue& list, std::vector<PickleRef>& values) {
    check(list.kind == Kind::kList, "APPEND(S) on {}, not a list", describe(list));
    for (auto& value : values) list.items.push_back(std::move(value));
  }

  std::vector<int64_t> int_tuple(const PickleValue& value, const char* what) {
    check(value.kind == Kind::kTuple, "{} is {}, expected a tuple of ints", what, describe(value));
    std::vector<int64_t> result;
    for (const auto& item : value.items) {
      check(item->kind == Kind::kInt, "{} holds {}, expected ints", what, describe(*item));
      result.push_back(item->integer);
    }
    return result;
  }

  // ('storage', torch.<Type>Storage, key, location, numel) from the zip format; the legacy format
  // adds a sixth element, the view metadata (None unless a storage was saved as a view of another).
  PickleRef persistent_storage(const PickleValue& id) {
    check(id.kind == Kind::kTuple && (id.items.size() == 5 || id.items.size() == 6) &&
              id.items[0]->kind == Kind::kString && id.items[0]->text == "storage",
          "a persistent id is {}, expected ('storage', type, key, location, size)", describe(id));
    const PickleValue& type = *id.items[1];
    const PickleValue& key = *id.items[2];
    const PickleValue& numel = *id.items[4];
    check(type.kind == Kind::kGlobal && kStorageTypes.count(type.text),
          "storage type is {}, not a storage type", describe(type));
    check(key.kind == Kind::kString, "storage key is {}, not a str", describe(key));
    check(numel.kind == Kind::kInt && numel.integer >= 0, "storage '{}' has no valid size", key.text);
    check(id.items.size() == 5 || id.items[5]->kind == Kind::kNone,
          "storage '{}' is saved as a view of another storage, which dtrain does not read (re-save the "
          "checkpoint with a current torch.save)",
          key.text);
    PickleRef storage = make(Kind::kStorage);
    storage->storage = {key.text, kStorageTypes.at(type.text), numel.integer};
    return storage;
  }

  // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
  PickleRef rebuild_tensor(const PickleValue& args) {
    check(args.items.size() == 6 || args.items.size() == 7, "{} takes 6 or 7 arguments, got {}",
          kRebuildTensor, args.items.size());
    const PickleValue& storage = *args.items[0];
    const PickleValue& offset = *args.items[1];
    check(storage.kind == Kind::kStorage, "{}: first argument is {}, not a storage", kRebuildTensor,
          describe(storage));
    check(offset.kind == Kind::kInt && offset.integer >= 0, "{}: storage offset is {}", kRebuildTensor,
          describe(offset));
    PickleRef tensor = make(Kind::kTensor);
    tensor->tensor = {storage.storage, offset.integer, int_tuple(*args.items[2], "tensor size"),
                      int_tuple(*args.items[3], "tensor stride")};
    check(tensor->tensor.shape.size() == tensor->tensor.strides.size(),
          "tensor of storage '{}' has {} sizes but {} strides", storage.storage.key,
          tensor->tensor.shape.size(), tensor->tensor.strides.size());
    return tensor;
  }

  PickleRef call(const PickleValue& callable, const PickleValue& args) {
    check(callable.kind == Kind::kGlobal, "REDUCE calls {}, not a function", describe(callable));
    check(args.kind == Kind::kTuple, "REDUCE arguments are {}, not a tuple", describe(args));
    if (callable.text == kOrderedDict) {
      check(args.items.empty(), "{} is called with arguments", kOrderedDict);
      return make(Kind::kDict);
    }
    if (callable.text == kRebuildTensor) return rebuild_tensor(args);
    if (callable.text == kRebuildParameter) {
      check(args.items.size() == 3 && args.items[0]->kind == Kind::kTensor,
            "{} takes (tensor, requires_grad, "
            "hooks)",
            kRebuildParameter);
      return args.items[0];
    }
    fail(fmt::format("'{}' cannot be called", callable.text));
  }

  void execute(uint8_t opcode) {
    switch (opcode) {
      case op::kProto: {
        const int protocol = read_byte();
        check(protocol <= kHighestProtocol, "pickle protocol {} is newer than this reader knows ({})",
              protocol, kHighestProtocol);
        break;
      }
      case op::kFrame:
        read_little_endian<uint64_t>();  // a hint for buffered readers; the data follows as usual
        break;
      case op::kMark:
        marks_.push_back(stack_.size());
        break;
      case op::kPop:
        pop();
        break;
      case op::kPopMark:
        pop_to_mark();
        break;
      case op::kDup:
        push(top());
        break;
      case op::kNone:
        push(make(Kind::kNone));
        break;
      case op::kNewTrue:
      case op::kNewFalse: {
        PickleRef value = make(Kind::kBool);
        value->integer = opcode == op::kNewTrue;
        push(std::move(value));
        break;
      }
      case op::kBinInt:
        push(integer(read_little_endian<int32_t>()));
        break;
      case op::kBinInt1:
        push(integer(read_byte()));
        break;
      case op::kBinInt2:
        push(integer(read_little_endian<uint16_t>()));
        break;
      case op::kLong1:
        push(integer(read_long(read_byte())));
        break;
      case op::kLong4:
        push(integer(read_long(read_little_endian<uint32_t>())));
        break;
      case op::kBinFloat: {
        uint64_t bits = 0;
        for (char byte : read_bytes(8)) bits = (bits << 8) | static_cast<uint8_t>(byte);  // big-endian
        PickleRef value = make(Kind::kFloat);
        std::memcpy(&value->number, &bits, 8);
        push(std::move(value));
        break;
      }
      case op::kShortBinUnicode:
      case op::kShortBinString:
      case op::kShortBinBytes:
        push(string(read_bytes(read_byte())));
        break;
      case op::kBinUnicode:
      case op::kBinString:
      case op::kBinBytes:
        push(string(read_bytes(read_little_endian<uint32_t>())));
        break;
      case op::kBinUnicode8:
      case op::kBinBytes8:
        push(string(read_bytes(read_little_endian<uint64_t>())));
        break;
      case op::kEmptyTuple:
        push(tuple({}));
        break;
      case op::kTuple:
        push(tuple(pop_to_mark()));
        break;
      case op::kTuple1:
      case op::kTuple2:
      case op::kTuple3: {
        std::vector<PickleRef> items(opcode - op::kTuple1 + 1);
        for (auto item = items.rbegin(); item != items.rend(); ++item) *item = pop();
        push(tuple(std::move(items)));
        break;
      }
      case op::kEmptyList:
        push(make(Kind::kList));
        break;
      case op::kList: {
        PickleRef list = make(Kind::kList);
        list->items = pop_to_mark();
        push(std::move(list));
        break;
      }
      case op::kAppend: {
        std::vector<PickleRef> values{pop()};
        append(*top(), values);
        break;
      }
      case op::kAppends: {
        std::vector<PickleRef> values = pop_to_mark();
        append(*top(), values);
        break;
      }
      case op::kEmptyDict:
        push(make(Kind::kDict));
        break;
      case op::kDict: {
        PickleRef dict = make(Kind::kDict);
        std::vector<PickleRef> pairs = pop_to_mark();
        set_items(*dict, pairs);
        push(std::move(dict));
        break;
      }
      case op::kSetItem: {
        std::vector<PickleRef> pair(2);
        pair[1] = pop();
        pair[0] = pop();
        set_items(*top(), pair);
        break;
      }
      case op::kSetItems: {
        std::vector<PickleRef> pairs = pop_to_mark();
        set_items(*top(), pairs);
        break;
      }
      case op::kBinPut:
        memo_put(read_byte());
        break;
      case op::kLongBinPut:
        memo_put(read_little_endian<uint32_t>());
        break;
      case op::kMemoize:
        memo_put(memo_.size());
        break;
      case op::kBinGet:
        memo_get(read_byte());
        break;
      case op::kLongBinGet:
        memo_get(read_little_endian<uint32_t>());
        break;
      case op::kGlobal: {
        const std::string module = read_line();
        global(module, read_line());
        break;
      }
      case op::kStackGlobal: {
        const PickleRef name = pop();
        const PickleRef module = pop();
        check(module->kind == Kind::kString && name->kind == Kind::kString, "STACK_GLOBAL needs two strs");
        global(module->text, name->text);
        break;
      }
      case op::kReduce: {
        const PickleRef args = pop();
        const PickleRef callable = pop();
        push(call(*callable, *args));
        break;
      }
      case op::kBuild: {
        // Only an OrderedDict's state gets here: torch.save(model.state_dict()) stores the state dict's
        // _metadata attribute (module versions) this way, which loading weights does not need.
        const PickleRef state = pop();
        check(top()->kind == Kind::kDict && (state->kind == Kind::kDict || state->kind == Kind::kNone),
              "BUILD sets the state of {}, which a state dict does not have", describe(*top()));
        break;
      }
      case op::kBinPersId:
        push(persistent_storage(*pop()));
        break;
      case op::kNewObj:
      case op::kNewObjEx:
        fail("refusing to create an object (NEWOBJ): a PyTorch checkpoint may only hold tensors");
      default:
        fail(fmt::format("opcode 0x{:02x} is not used by torch.save and is not supported", opcode));
    }
  }

  std::string_view bytes_;
  size_t position_;
  size_t opcode_offset_ = 0;
  const std::string& source_;
  std::vector<PickleRef> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, PickleRef> memo_;
};

}  // namespace

std::string describe(const PickleValue& value) {
  switch (value.kind) {
    case Kind::kNone:
      return "None";
    case Kind::kBool:
      return "a bool";
    case Kind::kInt:
      return "an int";
    case Kind::kFloat:
      return "a float";
    case Kind::kString:
      return "a str";
    case Kind::kTuple:
      return fmt::format("a tuple of {}", value.items.size());
    case Kind::kList:
      return "a list";
    case Kind::kDict:
      return "a dict";
    case Kind::kGlobal:
      return "the global " + value.text;
    case Kind::kStorage:
      return "a storage";
    case Kind::kTensor:
      return "a tensor";
  }
  return "a value";
}

PickleRef read_pickle(std::string_view bytes, size_t* position, const std::string& source) {
  DTRAIN_CHECK(*position <= bytes.size(), "{}: no pickle at byte {}", source, *position);
  Reader reader(bytes, *position, source);
  PickleRef root = reader.run();
  *position = reader.position();
  return root;
}

std::vector<std::pair<std::string, PickledTensor>> state_dict_tensors(const PickleValue& root,
                                                                      const std::string& source) {
  DTRAIN_CHECK(root.kind == Kind::kDict, "{}: holds {}, not a state dict (a dict of tensors)", source,
               describe(root));
  std::vector<std::pair<std::string, PickledTensor>> tensors;
  std::map<std::string, size_t> index;
  for (size_t i = 0; i + 1 < root.items.size(); i += 2) {
    const PickleValue& key = *root.items[i];
    const PickleValue& value = *root.items[i + 1];
    DTRAIN_CHECK(key.kind == Kind::kString, "{}: the state dict has a key that is {}, not a str", source,
                 describe(key));
    DTRAIN_CHECK(value.kind == Kind::kTensor,
                 "{}: entry '{}' is {}, not a tensor (dtrain reads state dicts of "
                 "tensors only)",
                 source, key.text, describe(value));
    // As in Python, a key set twice keeps its first position and its last value.
    const auto [found, inserted] = index.emplace(key.text, tensors.size());
    if (inserted)
      tensors.emplace_back(key.text, value.tensor);
    else
      tensors[found->second].second = value.tensor;
  }
  return tensors;
}

}  // namespace dtrain::model
