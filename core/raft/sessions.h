// Client sessions: exactly-once commands over an at-least-once network (Raft thesis
// §6.3). A client registers once (a log entry whose index becomes its id), then numbers
// its commands 1, 2, 3...; a retried command (same client, same number) is answered
// from the session instead of being applied again. The sessions live in the replicated
// state, so every member deduplicates the same way, also after a leader change.
//
// SessionStateMachine wraps the application's StateMachine and is what RaftNode
// applies. Its entries and answers are encoded here (the server builds the entries,
// decodes the answers).
//
// Sessions are bounded: past `max_sessions`, registering evicts the session idle the
// longest (by log index, so every member evicts the same one). A command for an
// evicted or unknown session is not applied and answered kSessionExpired: the client
// cannot know whether its earlier attempt ran, and says so (kUnknownOutcome).
#ifndef DISTKIT_CORE_RAFT_SESSIONS_H_
#define DISTKIT_CORE_RAFT_SESSIONS_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "distkit/core/base/status.h"
#include "distkit/core/raft/state_machine.h"

namespace distkit::raft {

using ClientId = std::uint64_t;

// The log entries of the session layer.
[[nodiscard]] std::string encode_register_entry();
[[nodiscard]] std::string encode_command_entry(ClientId client, std::uint64_t seq,
                                               std::string_view command);

// How the session layer answered an entry.
enum class SessionOutcome : std::uint8_t {
  kApplied,         // the application's answer (new, or the cached one of a retry)
  kRegistered,      // a new session: the answer is the client id (8 bytes)
  kSessionExpired,  // unknown or evicted session: not applied
  kStale,           // an older command than the session's last: not applied
  kMalformed,       // not an entry of this layer: not applied
};
struct SessionAnswer {
  SessionOutcome outcome = SessionOutcome::kMalformed;
  std::string body;  // the application's answer, or the encoded client id
};
[[nodiscard]] Result<SessionAnswer> decode_session_answer(std::string_view answer);
[[nodiscard]] Result<ClientId> decode_client_id(std::string_view body);

struct SessionOptions {
  // Must be the same on every member (it decides evictions).
  std::size_t max_sessions = 10'000;
  // Test only: false applies every retry again (the broken variant the simulator's
  // linearizability check must catch).
  bool deduplicate = true;
};

class SessionStateMachine final : public StateMachine {
 public:
  // `application` must outlive this.
  explicit SessionStateMachine(StateMachine& application, SessionOptions options = {});

  std::string apply(const Entry& entry) override;
  [[nodiscard]] std::string query(std::string_view request) const override;
  // u64 count | (u64 client | u64 last seq | u64 last active | sized answer) in client
  // order | the application's snapshot.
  [[nodiscard]] std::string snapshot() const override;
  [[nodiscard]] Status restore(std::string_view snapshot) override;

  [[nodiscard]] std::size_t sessions() const { return sessions_.size(); }

 private:
  struct Session {
    std::uint64_t last_seq = 0;
    std::string last_answer;
    Index last_active = 0;
  };

  StateMachine& application_;
  SessionOptions options_;
  std::map<ClientId, Session> sessions_;
  std::map<Index, ClientId> by_activity_;  // last_active -> client, for eviction
};

}  // namespace distkit::raft

#endif  // DISTKIT_CORE_RAFT_SESSIONS_H_
