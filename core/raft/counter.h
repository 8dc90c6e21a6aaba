// A replicated counter family on Raft with StrictCounter's semantics (int64 values, a
// missing counter reads 0, an increment that would overflow fails with kOutOfRange and
// changes nothing, the same Condition and Change), so one workload and one checker
// compare it with the Redis-backed StrictCounter. CounterStore is the state machine the
// members run; CounterClient the calls a process makes (over RaftClient). Keys follow
// StrictCounter's rules (validate_key).
//
// Writes are exactly-once (client sessions); get() is a ReadIndex read on the leader.
// Outcomes are RaftClient's (kUnavailable: did not run; kUnknownOutcome: may have).
#ifndef DISTKIT_CORE_RAFT_COUNTER_H_
#define DISTKIT_CORE_RAFT_COUNTER_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "distkit/core/async/task.h"
#include "distkit/core/base/status.h"
#include "distkit/core/counters/counter_ops.h"
#include "distkit/core/raft/raft_client.h"
#include "distkit/core/raft/state_machine.h"

namespace distkit::raft {

// Commands: u8 op | u32 key length | key | u8 condition | i64 operand | i64 argument.
// Answers:  u8 status (0 ok, 1 malformed, 2 out of range) | i64 value | i64 previous
//           | u8 applied.
enum class CounterOp : std::uint8_t { kIncIf, kSetIf, kGet, kDelete };

struct CounterCommand {
  CounterOp op = CounterOp::kGet;
  std::string key;
  Condition condition;
  std::int64_t argument = 0;  // the delta (kIncIf) or the value (kSetIf)
};

[[nodiscard]] std::string encode_counter_command(const CounterCommand& command);
[[nodiscard]] Result<CounterCommand> decode_counter_command(std::string_view bytes);
// kOutOfRange answers as an error Status.
[[nodiscard]] std::string encode_counter_answer(const Result<Change>& answer);
[[nodiscard]] Result<Change> decode_counter_answer(std::string_view bytes);

class CounterStore final : public StateMachine {
 public:
  std::string apply(const Entry& entry) override;
  // A get command (encode_counter_command with kGet).
  [[nodiscard]] std::string query(std::string_view request) const override;
  // u64 count | (sized key | u64 value) in key order.
  [[nodiscard]] std::string snapshot() const override;
  [[nodiscard]] Status restore(std::string_view snapshot) override;

  [[nodiscard]] const std::map<std::string, std::int64_t>& values() const { return values_; }

 private:
  std::map<std::string, std::int64_t> values_;
};

class CounterClient {
 public:
  // `client` must outlive this.
  explicit CounterClient(RaftClient& client) : client_(client) {}

  [[nodiscard]] Task<Result<std::int64_t>> inc(std::string key, std::int64_t delta = 1);
  [[nodiscard]] Task<Result<Change>> inc_if(std::string key, Condition condition,
                                            std::int64_t delta);
  [[nodiscard]] Task<Result<std::int64_t>> get(std::string key);
  [[nodiscard]] Task<Result<std::int64_t>> set(std::string key, std::int64_t value);
  [[nodiscard]] Task<Result<Change>> set_if(std::string key, Condition condition,
                                            std::int64_t value);
  // Removes the counter; returns its value before (0 if it had none).
  [[nodiscard]] Task<Result<std::int64_t>> del(std::string key);

  // The general form: one command, its whole answer.
  [[nodiscard]] Task<Result<Change>> run(CounterCommand command);

 private:
  RaftClient& client_;
};

}  // namespace distkit::raft

#endif  // DISTKIT_CORE_RAFT_COUNTER_H_
