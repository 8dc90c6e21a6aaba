// RaftServer: one member of a replicated service. It runs a RaftNode whose state
// machine is the application's, wrapped in client sessions (sessions.h), and answers
// clients (RaftClient) on the client channel of the same peer endpoint that carries
// Raft's messages (PeerChannels: kRaftChannel, kClientChannel).
//
// Requests (client_protocol.h):
// - kRegister: proposes a session registration; answers the new client id.
// - kWrite: proposes the command in the client's session; a retry of a command that
//   already committed is answered from the session, not applied again.
// - kRead: passes a read barrier (ReadIndex), then answers the application's query().
// Not the leader: kUnavailable with the leader, when known, in the reply. A proposal
// that timed out: kUnknownOutcome (the client retries the same command number, which
// is safe). More than `max_in_flight` requests at once: kResourceExhausted. Requests
// that do not decode are dropped and counted.
//
// shutdown() prepares a planned stop: new requests are refused (kUnavailable, naming
// the leader), and a leader hands leadership over first, so clients see at most the
// short pause of a transfer instead of an election timeout.
//
// Lifetime as RaftNode's (raft_node.h).
#ifndef DISTKIT_CORE_RAFT_RAFT_SERVER_H_
#define DISTKIT_CORE_RAFT_RAFT_SERVER_H_

#include <cstdint>
#include <memory>

#include "distkit/core/async/executor.h"
#include "distkit/core/async/task.h"
#include "distkit/core/raft/client_protocol.h"
#include "distkit/core/raft/raft_node.h"
#include "distkit/core/raft/sessions.h"
#include "distkit/core/seam/disk.h"
#include "distkit/core/seam/peer_channels.h"

namespace distkit::raft {

struct RaftServerOptions {
  RaftNodeOptions node;
  SessionOptions sessions;
  std::size_t max_in_flight = 1024;
  // After handing leadership over, shutdown() keeps redirecting requests to the new
  // leader this long, so clients that call meanwhile learn of it instead of timing
  // out against a member that is gone.
  Duration shutdown_linger = std::chrono::milliseconds(200);
};

class RaftServer {
 public:
  // Recovers the member from `disk` (RaftNode::start) and starts serving. `peers` is
  // the node's whole endpoint (this server splits it into channels); `application`
  // must outlive the server.
  [[nodiscard]] static Task<Result<std::unique_ptr<RaftServer>>> start(Executor& executor,
                                                                       PeerEndpoint& peers,
                                                                       Disk& disk,
                                                                       StateMachine& application,
                                                                       RaftServerOptions options);
  ~RaftServer();
  RaftServer(const RaftServer&) = delete;
  RaftServer& operator=(const RaftServer&) = delete;

  // Stops taking requests, hands leadership over if leading (RaftNode::step_down),
  // waits (within `timeout`) until the requests in flight are answered, then keeps
  // redirecting for shutdown_linger. The caller then destroys the server (or the
  // process exits). Returns step_down()'s outcome.
  [[nodiscard]] Task<Status> shutdown(Duration timeout);
  [[nodiscard]] bool shutting_down() const { return shutting_down_; }

  [[nodiscard]] RaftNode& node() { return *node_; }
  [[nodiscard]] const RaftNode& node() const { return *node_; }
  [[nodiscard]] const SessionStateMachine& sessions() const { return sessions_; }
  // Client requests that did not decode, and peer messages of no known channel.
  [[nodiscard]] std::uint64_t bad_requests() const { return bad_requests_ + channels_.dropped(); }

 private:
  RaftServer(Executor& executor, PeerEndpoint& peers, StateMachine& application,
             RaftServerOptions options);
  Task<void> serve_loop();
  Task<void> handle(NodeId from, ClientRequest request);
  void reply(NodeId to, ClientReply reply);

  Executor& executor_;
  PeerChannels channels_;
  PeerEndpoint& clients_;
  SessionStateMachine sessions_;
  RaftServerOptions options_;
  std::unique_ptr<RaftNode> node_;
  std::uint64_t bad_requests_ = 0;
  bool shutting_down_ = false;
  TaskScope scope_;  // last: the handlers die before what they use
};

}  // namespace distkit::raft

#endif  // DISTKIT_CORE_RAFT_RAFT_SERVER_H_
