// A replicated key-value store on Raft: KvStore is the state machine the members run
// (RaftServer), KvClient the typed calls a process makes (over RaftClient). Keys and
// values are byte strings; keys are non-empty and at most kMaxKvKeyBytes.
//
//   KvClient kv(client);
//   co_await kv.put("k", "v1");                       // the previous value, if any
//   co_await kv.compare_and_set("k", "v1", "v2");     // true: it was v1, now v2
//   std::optional<std::string> v = *co_await kv.get("k");   // linearizable
//
// Writes are exactly-once (client sessions); get() is a ReadIndex read on the leader.
// Outcomes are RaftClient's (kUnavailable: did not run; kUnknownOutcome: may have).
#ifndef DISTKIT_CORE_RAFT_KV_H_
#define DISTKIT_CORE_RAFT_KV_H_

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "distkit/core/async/task.h"
#include "distkit/core/base/status.h"
#include "distkit/core/raft/raft_client.h"
#include "distkit/core/raft/state_machine.h"

namespace distkit::raft {

inline constexpr std::size_t kMaxKvKeyBytes = 64 << 10;

// Commands: u8 op | u32 key length | key | op's fields (sized strings, u8 flags).
// Answers:  u8 status (0 ok, 1 malformed) | u8 applied | u8 found | u32 length | value.
enum class KvOp : std::uint8_t { kPut, kGet, kCompareAndSet, kDelete };

struct KvCommand {
  KvOp op = KvOp::kGet;
  std::string key;
  std::string value;                    // kPut, kCompareAndSet: the new value
  std::optional<std::string> expected;  // kCompareAndSet: nothing = "absent"
};

// What a command did: `previous` is the value before it (get: the value), and
// `applied` whether it wrote (put: always; compare-and-set: when it matched; delete:
// when the key existed; get: true).
struct KvAnswer {
  bool applied = true;
  std::optional<std::string> previous;
  friend bool operator==(const KvAnswer&, const KvAnswer&) = default;
};

[[nodiscard]] std::string encode_kv_command(const KvCommand& command);
[[nodiscard]] Result<KvCommand> decode_kv_command(std::string_view bytes);
[[nodiscard]] std::string encode_kv_answer(const KvAnswer& answer);
[[nodiscard]] Result<KvAnswer> decode_kv_answer(std::string_view bytes);

class KvStore final : public StateMachine {
 public:
  std::string apply(const Entry& entry) override;
  // A get command (encode_kv_command with kGet).
  [[nodiscard]] std::string query(std::string_view request) const override;
  // u64 count | (sized key | sized value) in key order.
  [[nodiscard]] std::string snapshot() const override;
  [[nodiscard]] Status restore(std::string_view snapshot) override;

  [[nodiscard]] const std::map<std::string, std::string>& data() const { return data_; }

 private:
  std::map<std::string, std::string> data_;
};

class KvClient {
 public:
  // `client` must outlive this.
  explicit KvClient(RaftClient& client) : client_(client) {}

  // The value before (nothing: the key was absent).
  [[nodiscard]] Task<Result<std::optional<std::string>>> put(std::string key, std::string value);
  [[nodiscard]] Task<Result<std::optional<std::string>>> get(std::string key);
  // Writes `value` when the current value is `expected` (nothing: absent); true if it did.
  [[nodiscard]] Task<Result<bool>> compare_and_set(std::string key,
                                                   std::optional<std::string> expected,
                                                   std::string value);
  // The value before (nothing: there was none to delete).
  [[nodiscard]] Task<Result<std::optional<std::string>>> del(std::string key);

  // The general form: one command, its whole answer.
  [[nodiscard]] Task<Result<KvAnswer>> run(KvCommand command);

 private:
  RaftClient& client_;
};

}  // namespace distkit::raft

#endif  // DISTKIT_CORE_RAFT_KV_H_
