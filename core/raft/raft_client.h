// RaftClient: calls a replicated service (RaftServer members) over a peer endpoint's
// client channel. It finds the leader (following the members' hints, else trying each
// in turn), retries across leader changes and lost messages, and makes writes
// exactly-once with a session: a write is numbered once and every retry carries the
// same number, so the members apply it at most once (sessions.h).
//
//   PeerChannels channels(executor, node.peers());
//   RaftClient client(executor, channels.channel(kClientChannel), {.members = ids});
//   Result<std::string> answer = co_await client.write(command);
//
// Outcomes of write(): the application's answer; kUnavailable when it certainly did
// not run (no member accepted it before the call timeout); kUnknownOutcome when it may
// have run (a member took it and then the answer was lost, or the session expired);
// kInvalidArgument for a command the members refuse (too large). read() answers the
// application's query() after a read barrier on the leader (linearizable), or
// kUnavailable. The call timeout bounds every call.
//
// One call at a time (a second concurrent call gets kFailedPrecondition): a client is
// one sequential process; use several clients for concurrency. Used from the
// executor's thread; lifetime as RaftNode's (raft_node.h).
#ifndef DISTKIT_CORE_RAFT_RAFT_CLIENT_H_
#define DISTKIT_CORE_RAFT_RAFT_CLIENT_H_

#include <coroutine>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "distkit/core/async/executor.h"
#include "distkit/core/async/task.h"
#include "distkit/core/base/status.h"
#include "distkit/core/raft/client_protocol.h"
#include "distkit/core/seam/peer.h"

namespace distkit::raft {

struct RaftClientOptions {
  std::vector<distkit::NodeId> members;  // the members' peer ids
  Duration attempt_timeout = std::chrono::milliseconds(300);
  Duration call_timeout = std::chrono::seconds(5);
  // The pause after every member was tried in a row without an answer.
  Duration retry_backoff = std::chrono::milliseconds(50);

  [[nodiscard]] Status validate() const;
};

class RaftClient {
 public:
  // `channel`: the client channel of this node's endpoint. REQUIRES options valid
  // (validate()); invalid options make every call fail with kInvalidArgument.
  RaftClient(Executor& executor, PeerEndpoint& channel, RaftClientOptions options);
  ~RaftClient();
  RaftClient(const RaftClient&) = delete;
  RaftClient& operator=(const RaftClient&) = delete;

  [[nodiscard]] Task<Result<std::string>> write(std::string command);
  [[nodiscard]] Task<Result<std::string>> read(std::string query);
  // read(body) when `read_only`, else write(body): for typed clients whose commands
  // say which they are.
  [[nodiscard]] Task<Result<std::string>> request(bool read_only, std::string body);

  // Requests sent (every attempt of every call), and replies that did not decode.
  [[nodiscard]] std::uint64_t attempts() const { return attempts_; }
  [[nodiscard]] std::uint64_t bad_replies() const { return bad_replies_; }
  // The session id (0 before the first write, or after a session expired).
  [[nodiscard]] std::uint64_t session() const { return session_; }

 private:
  struct Pending {
    std::uint64_t call = 0;
    std::optional<ClientReply> reply;
    bool timed_out = false;
    std::coroutine_handle<> handle;
    Executor::TimerId timer = 0;
  };
  struct WaitFor;
  struct Final {
    Result<ClientReply> reply;
    bool maybe_ran = false;  // an attempt may have reached a leader unanswered
  };

  Task<Final> call(ClientOp op, std::string body, std::uint64_t seq, MonoTime deadline);
  Task<void> receive_loop();
  void advance_target(std::uint64_t leader_hint);

  Executor& executor_;
  PeerEndpoint& channel_;
  RaftClientOptions options_;
  Status invalid_;
  std::size_t target_ = 0;
  std::uint64_t session_ = 0;
  std::uint64_t seq_ = 0;
  std::uint64_t next_call_ = 0;
  bool busy_ = false;
  Pending* pending_ = nullptr;
  std::uint64_t attempts_ = 0;
  std::uint64_t bad_replies_ = 0;
  TaskScope scope_;  // last: the loop dies before what it uses
};

}  // namespace distkit::raft

#endif  // DISTKIT_CORE_RAFT_RAFT_CLIENT_H_
