#include "common/fault_injection.h"

#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <type_traits>

#include "common/error.h"

namespace dtrain::faults {
namespace {

struct Armed {
  int rank = 0;
  std::int64_t restart = 0;
  std::vector<Fault> faults;
};

Armed& armed() {
  static Armed state;
  return state;
}

const char* kind_name(Kind kind) {
  switch (kind) {
    case Kind::kCrash:
      return "crash";
    case Kind::kCrashInSave:
      return "crash_in_save";
    case Kind::kHangInData:
      return "hang_in_data";
    case Kind::kStallSave:
      return "stall_save";
    case Kind::kNanLoss:
      return "nan_loss";
    case Kind::kStop:
      return "stop";
  }
  return "unknown";
}

Kind parse_kind(const std::string& value, const std::string& fault) {
  for (Kind kind :
       {Kind::kCrash, Kind::kCrashInSave, Kind::kHangInData, Kind::kStallSave, Kind::kNanLoss, Kind::kStop}) {
    if (value == kind_name(kind)) return kind;
  }
  DTRAIN_FAIL(
      "DTRAIN_FAULT: '{}': unknown kind '{}' (crash, crash_in_save, hang_in_data, stall_save, nan_loss, "
      "stop)",
      fault, value);
}

template <class Number>
Number parse_number(const std::string& key, const std::string& value, const std::string& fault) {
  try {
    std::size_t used = 0;
    const double number = std::stod(value, &used);
    if (used == value.size() && number >= 0 &&
        (std::is_floating_point_v<Number> || number == static_cast<Number>(number)))
      return static_cast<Number>(number);
  } catch (const std::exception&) {
  }
  DTRAIN_FAIL("DTRAIN_FAULT: '{}': {} must be a non-negative {}, got '{}'", fault, key,
              std::is_floating_point_v<Number> ? "number" : "integer", value);
}

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (std::size_t end; (end = text.find(separator, start)) != std::string::npos; start = end + 1)
    parts.push_back(text.substr(start, end - start));
  parts.push_back(text.substr(start));
  return parts;
}

Fault parse_fault(const std::string& text) {
  Fault fault;
  bool has_kind = false, has_step = false;
  for (const std::string& item : split(text, ',')) {
    const std::size_t equals = item.find('=');
    DTRAIN_CHECK(equals != std::string::npos, "DTRAIN_FAULT: '{}': expected key=value, got '{}'", text, item);
    const std::string key = item.substr(0, equals), value = item.substr(equals + 1);
    if (key == "kind") {
      fault.kind = parse_kind(value, text);
      has_kind = true;
    } else if (key == "step") {
      fault.step = parse_number<std::int64_t>(key, value, text);
      has_step = true;
    } else if (key == "rank") {
      fault.rank = parse_number<int>(key, value, text);
    } else if (key == "seconds") {
      fault.seconds = parse_number<double>(key, value, text);
    } else if (key == "count") {
      fault.count = parse_number<std::int64_t>(key, value, text);
    } else if (key == "restart") {
      fault.restart = parse_number<std::int64_t>(key, value, text);
    } else {
      DTRAIN_FAIL("DTRAIN_FAULT: '{}': unknown key '{}' (kind, step, rank, seconds, count, restart)", text,
                  key);
    }
  }
  DTRAIN_CHECK(has_kind && has_step, "DTRAIN_FAULT: '{}': kind and step are required", text);
  DTRAIN_CHECK(fault.step >= 1, "DTRAIN_FAULT: '{}': step counts from 1", text);
  return fault;
}

bool applies(const Fault& fault, std::int64_t step) {
  const Armed& state = armed();
  if (fault.rank && *fault.rank != state.rank) return false;
  if (fault.restart && *fault.restart != state.restart) return false;
  if (fault.kind == Kind::kNanLoss) return step >= fault.step && step < fault.step + fault.count;
  return step == fault.step;
}

void announce(std::int64_t step, const char* what) {
  std::fprintf(stderr, "dtrain: fault injection (DTRAIN_FAULT): rank %d %s at step %lld\n", armed().rank,
               what, static_cast<long long>(step));
  std::fflush(stderr);
}

}  // namespace

std::vector<Fault> parse(const std::string& spec) {
  std::vector<Fault> faults;
  for (const std::string& text : split(spec, ';')) {
    if (!text.empty()) faults.push_back(parse_fault(text));
  }
  return faults;
}

void arm(int rank) {
  Armed& state = armed();
  state.rank = rank;
  const char* spec = std::getenv("DTRAIN_FAULT");
  state.faults = spec ? parse(spec) : std::vector<Fault>();
  const char* restart = std::getenv("DTRAIN_RESTART_COUNT");
  state.restart =
      restart && *restart ? parse_number<std::int64_t>("DTRAIN_RESTART_COUNT", restart, restart) : 0;
}

void at(Point point, std::int64_t step) {
  for (const Fault& fault : armed().faults) {
    if (!applies(fault, step)) continue;
    switch (fault.kind) {
      case Kind::kCrash:
        if (point != Point::kStepStart) break;
        announce(step, "crashes (SIGKILL)");
        std::raise(SIGKILL);
        break;
      case Kind::kStop:
        if (point != Point::kStepStart) break;
        announce(step, "stops itself (SIGSTOP)");
        std::raise(SIGSTOP);
        break;
      case Kind::kHangInData:
        if (point != Point::kStepStart) break;
        announce(step, "hangs in data loading");
        for (;;) std::this_thread::sleep_for(std::chrono::hours(1));
      case Kind::kCrashInSave:
        if (point != Point::kCheckpointSave) break;
        announce(step, "crashes (SIGKILL) while saving the checkpoint");
        std::raise(SIGKILL);
        break;
      case Kind::kStallSave:
        if (point != Point::kCheckpointSave) break;
        announce(step, fmt::format("stalls {:g} s in the checkpoint save", fault.seconds).c_str());
        std::this_thread::sleep_for(std::chrono::duration<double>(fault.seconds));
        break;
      case Kind::kNanLoss:
        break;
    }
  }
}

bool nan_loss(std::int64_t step) {
  for (const Fault& fault : armed().faults) {
    if (fault.kind == Kind::kNanLoss && applies(fault, step)) {
      if (step == fault.step)
        announce(step, fmt::format("makes the loss NaN for {} step(s)", fault.count).c_str());
      return true;
    }
  }
  return false;
}

}  // namespace dtrain::faults
