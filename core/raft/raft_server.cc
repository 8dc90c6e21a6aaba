#include "distkit/core/raft/raft_server.h"

#include <utility>

namespace distkit::raft {

Task<Result<std::unique_ptr<RaftServer>>> RaftServer::start(Executor& executor, PeerEndpoint& peers,
                                                            Disk& disk, StateMachine& application,
                                                            RaftServerOptions options) {
  std::unique_ptr<RaftServer> server(
      new RaftServer(executor, peers, application, std::move(options)));
  Result<std::unique_ptr<RaftNode>> node =
      co_await RaftNode::start(executor, server->channels_.channel(kRaftChannel), disk,
                               server->sessions_, server->options_.node);
  if (!node.ok()) co_return node.status();
  server->node_ = std::move(*node);
  spawn(executor, &server->scope_, server->serve_loop());
  co_return std::move(server);
}

RaftServer::RaftServer(Executor& executor, PeerEndpoint& peers, StateMachine& application,
                       RaftServerOptions options)
    : executor_(executor),
      channels_(executor, peers),
      clients_(channels_.channel(kClientChannel)),
      sessions_(application, options.sessions),
      options_(std::move(options)) {}

// The handlers go first (scope_), then the node, then the channels: members are
// destroyed in reverse order of declaration.
RaftServer::~RaftServer() = default;

Task<void> RaftServer::serve_loop() {
  while (true) {
    PeerMessage message = co_await clients_.receive();
    Result<ClientRequest> request = decode_request(message.payload);
    if (!request.ok()) {
      ++bad_requests_;
      continue;
    }
    if (shutting_down_) {
      reply(message.from, {.call = request->call,
                           .code = StatusCode::kUnavailable,
                           .body = "raft server: shutting down"});
      continue;
    }
    // The scope holds this loop and every request being handled.
    if (scope_.live_tasks() - 1 >= options_.max_in_flight) {
      reply(message.from, {.call = request->call,
                           .code = StatusCode::kResourceExhausted,
                           .body = "raft server: too many requests in flight"});
      continue;
    }
    spawn(executor_, &scope_, handle(message.from, std::move(*request)));
  }
}

Task<Status> RaftServer::shutdown(Duration timeout) {
  shutting_down_ = true;
  const MonoTime deadline = executor_.clock().now() + timeout;
  Status handed = co_await node_->step_down(timeout);
  // Requests in flight get their answers (their entries commit under the new leader,
  // or they are refused), so no client waits out an attempt timeout.
  while (scope_.live_tasks() > 1 && executor_.clock().now() < deadline)
    co_await sleep_for(executor_, node_->options().tick);
  if (handed.ok() && options_.shutdown_linger > Duration::zero())
    co_await sleep_for(executor_, options_.shutdown_linger);
  co_return handed;
}

void RaftServer::reply(NodeId to, ClientReply reply) {
  reply.leader = node_->machine().leader();
  // Draining: never point a client back at this member.
  if (shutting_down_ && reply.leader == node_->machine().id()) reply.leader = kNobody;
  clients_.send(to, encode_reply(reply));
}

namespace {

// The reply to a proposal's outcome, through the session layer's answer.
ClientReply proposal_reply(std::uint64_t call, const Result<std::string>& proposed) {
  if (!proposed.ok())
    return {.call = call, .code = proposed.status().code(), .body = proposed.status().message()};
  Result<SessionAnswer> answer = decode_session_answer(*proposed);
  if (!answer.ok())
    return {.call = call, .code = StatusCode::kInternal, .body = answer.status().message()};
  switch (answer->outcome) {
    case SessionOutcome::kApplied:
    case SessionOutcome::kRegistered:
      return {.call = call, .body = std::move(answer->body)};
    case SessionOutcome::kSessionExpired:
      return {.call = call,
              .code = StatusCode::kFailedPrecondition,
              .body = "raft server: the client's session expired"};
    case SessionOutcome::kStale:
      return {.call = call,
              .code = StatusCode::kFailedPrecondition,
              .body = "raft server: the command is older than the session's last"};
    case SessionOutcome::kMalformed:
      break;
  }
  return {.call = call,
          .code = StatusCode::kInvalidArgument,
          .body = "raft server: the session layer could not parse the entry"};
}

}  // namespace

Task<void> RaftServer::handle(NodeId from, ClientRequest request) {
  ClientReply out;
  switch (request.op) {
    case ClientOp::kRegister:
      out = proposal_reply(request.call, co_await node_->propose(encode_register_entry()));
      break;
    case ClientOp::kWrite:
      out = proposal_reply(request.call, co_await node_->propose(encode_command_entry(
                                             request.client, request.seq, request.body)));
      break;
    case ClientOp::kRead: {
      Status barrier = co_await node_->read_barrier();
      out.call = request.call;
      if (barrier.ok()) {
        out.body = sessions_.query(request.body);
      } else {
        out.code = barrier.code();
        out.body = barrier.message();
      }
      break;
    }
  }
  reply(from, std::move(out));
}

}  // namespace distkit::raft
