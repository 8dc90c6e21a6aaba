#include "distkit/core/raft/raft_client.h"

#include <algorithm>
#include <set>
#include <utility>

#include "distkit/core/raft/sessions.h"

namespace distkit::raft {

Status RaftClientOptions::validate() const {
  if (members.empty()) return invalid_argument_error("raft client: no members");
  if (std::set<distkit::NodeId>(members.begin(), members.end()).size() != members.size())
    return invalid_argument_error("raft client: a member is listed twice");
  if (attempt_timeout <= Duration::zero() || call_timeout <= Duration::zero() ||
      retry_backoff < Duration::zero())
    return invalid_argument_error("raft client: timeouts must be positive");
  return {};
}

struct RaftClient::WaitFor {
  Pending& pending;
  bool await_ready() const noexcept { return pending.reply.has_value() || pending.timed_out; }
  void await_suspend(std::coroutine_handle<> handle) { pending.handle = handle; }
  void await_resume() const noexcept {}
};

RaftClient::RaftClient(Executor& executor, PeerEndpoint& channel, RaftClientOptions options)
    : executor_(executor),
      channel_(channel),
      options_(std::move(options)),
      invalid_(options_.validate()) {
  spawn(executor_, &scope_, receive_loop());
}

// An attempt in flight unregisters itself (its Registration in call()).
RaftClient::~RaftClient() = default;

Task<void> RaftClient::receive_loop() {
  while (true) {
    PeerMessage message = co_await channel_.receive();
    Result<ClientReply> reply = decode_reply(message.payload);
    if (!reply.ok()) {
      ++bad_replies_;
      continue;
    }
    // A reply to an earlier attempt (late, or duplicated) is dropped: its call
    // number is not the pending one.
    if (pending_ == nullptr || pending_->call != reply->call || pending_->reply ||
        pending_->timed_out)
      continue;
    pending_->reply = std::move(*reply);
    if (pending_->timer != 0) executor_.cancel(pending_->timer);
    pending_->timer = 0;
    if (pending_->handle) {
      std::coroutine_handle<> handle = std::exchange(pending_->handle, {});
      executor_.post([handle] { handle.resume(); });
    }
  }
}

void RaftClient::advance_target(std::uint64_t leader_hint) {
  if (leader_hint != 0) {
    auto it = std::find(options_.members.begin(), options_.members.end(),
                        static_cast<distkit::NodeId>(leader_hint - 1));
    if (it != options_.members.end()) {
      target_ = static_cast<std::size_t>(it - options_.members.begin());
      return;
    }
  }
  target_ = (target_ + 1) % options_.members.size();
}

Task<RaftClient::Final> RaftClient::call(ClientOp op, std::string body, std::uint64_t seq,
                                         MonoTime deadline) {
  Final out{.reply = unavailable_error("raft client: no member answered before the timeout")};
  std::size_t unanswered_in_a_row = 0;
  while (executor_.clock().now() < deadline) {
    Pending pending{.call = ++next_call_};
    const ClientRequest request{
        .op = op, .call = pending.call, .client = session_, .seq = seq, .body = body};
    const distkit::NodeId to = options_.members[target_];
    ++attempts_;
    channel_.send(to, encode_request(request));
    // Unregisters the attempt however this frame ends, also destroyed while it waits
    // (its caller crashed): the timer never fires into it, no reply reaches it.
    struct Registration {
      RaftClient& client;
      Pending& pending;
      ~Registration() {
        if (pending.timer != 0) client.executor_.cancel(pending.timer);
        pending.timer = 0;
        if (client.pending_ == &pending) client.pending_ = nullptr;
      }
    } registration{*this, pending};
    pending_ = &pending;
    const Duration wait =
        std::min<Duration>(options_.attempt_timeout, deadline - executor_.clock().now());
    pending.timer = executor_.schedule_after(wait, [this, p = &pending] {
      p->timer = 0;
      p->timed_out = true;
      if (p->handle) std::exchange(p->handle, {}).resume();
    });
    co_await WaitFor{pending};
    if (!pending.reply) {
      // Lost on the way there or back: a write may have reached the leader.
      out.maybe_ran = out.maybe_ran || op != ClientOp::kRead;
      out.reply = unavailable_error("raft client: no member answered before the timeout");
      advance_target(0);
      if (++unanswered_in_a_row >= options_.members.size()) {
        unanswered_in_a_row = 0;
        co_await sleep_for(executor_, options_.retry_backoff);
      }
      continue;
    }
    ClientReply& reply = *pending.reply;
    switch (reply.code) {
      case StatusCode::kOk:
      case StatusCode::kInvalidArgument:
      case StatusCode::kFailedPrecondition:
        // Answered by a member that no longer leads (it handed over meanwhile): the
        // next call goes to the leader it names.
        if (reply.leader != 0 && reply.leader - 1 != to) advance_target(reply.leader);
        out.reply = std::move(reply);
        co_return out;
      case StatusCode::kUnknownOutcome:
        out.maybe_ran = true;
        break;
      default:  // kUnavailable (not the leader, or stopped), kResourceExhausted
        break;
    }
    out.reply = Status(reply.code, reply.body);
    const bool hinted = reply.leader != 0 && reply.leader - 1 != to;
    advance_target(hinted ? reply.leader : 0);
    if (!hinted && ++unanswered_in_a_row >= options_.members.size()) {
      unanswered_in_a_row = 0;
      co_await sleep_for(executor_, options_.retry_backoff);
    }
  }
  co_return out;
}

Task<Result<std::string>> RaftClient::write(std::string command) {
  if (!invalid_.ok()) co_return invalid_;
  if (busy_) co_return failed_precondition_error("raft client: one call at a time");
  busy_ = true;
  const MonoTime deadline = executor_.clock().now() + options_.call_timeout;
  if (session_ == 0) {
    Final registered = co_await call(ClientOp::kRegister, {}, 0, deadline);
    Result<ClientId> id = registered.reply.ok() ? decode_client_id(registered.reply->body)
                                                : Result<ClientId>(registered.reply.status());
    if (!id.ok()) {
      busy_ = false;
      // The command itself was never sent.
      co_return unavailable_error("raft client: could not open a session: " +
                                  id.status().to_string());
    }
    session_ = *id;
    seq_ = 0;
  }
  Final written = co_await call(ClientOp::kWrite, std::move(command), ++seq_, deadline);
  busy_ = false;
  if (written.reply.ok()) {
    if (written.reply->code == StatusCode::kOk) co_return std::move(written.reply->body);
    if (written.reply->code == StatusCode::kFailedPrecondition) {
      // The session is gone: this command's earlier attempts may have run. The next
      // write opens a new session.
      session_ = 0;
      co_return unknown_outcome_error("raft client: " + written.reply->body +
                                      " (the command may have run)");
    }
    co_return Status(written.reply->code, written.reply->body);
  }
  if (written.maybe_ran)
    co_return unknown_outcome_error("raft client: no answer before the call timeout (" +
                                    written.reply.status().message() +
                                    "); the command may have run");
  co_return written.reply.status();
}

Task<Result<std::string>> RaftClient::read(std::string query) {
  if (!invalid_.ok()) co_return invalid_;
  if (busy_) co_return failed_precondition_error("raft client: one call at a time");
  busy_ = true;
  const MonoTime deadline = executor_.clock().now() + options_.call_timeout;
  Final read = co_await call(ClientOp::kRead, std::move(query), 0, deadline);
  busy_ = false;
  if (!read.reply.ok()) co_return read.reply.status();
  if (read.reply->code != StatusCode::kOk) co_return Status(read.reply->code, read.reply->body);
  co_return std::move(read.reply->body);
}

Task<Result<std::string>> RaftClient::request(bool read_only, std::string body) {
  // (Not `read_only ? co_await ... : co_await ...`: GCC 12 destroys the wrong
  // temporary.)
  if (read_only) co_return co_await read(std::move(body));
  co_return co_await write(std::move(body));
}

}  // namespace distkit::raft
