#include "distkit/core/conn/connection_machine.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace distkit::conn {

ConnectionMachine::ConnectionMachine(MachineConfig config)
    : config_(std::move(config)), jitter_(config_.jitter_seed) {}

std::string ConnectionMachine::millis(Duration d) const {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) + " ms";
}

// ---- Requests in --------------------------------------------------------------------

void ConnectionMachine::submit(std::span<RedisCommand> commands, std::span<RequestTag> tags,
                               MonoTime now) {
  const std::size_t n = std::min(commands.size(), tags.size());
  if (state_ == State::kShutDown) {
    for (std::size_t i = 0; i < n; ++i) {
      actions_.push_back(
          Complete{std::move(tags[i]),
                   cancelled_error("the Redis connection to " + config_.address + " is closed")});
    }
    return;
  }
  std::size_t count = 0, bytes = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (commands[i].empty()) continue;
    ++count;
    bytes += encoded_command_size(commands[i]);
  }
  Status refused;
  if (pending_user_ + count > config_.max_pending_requests) {
    refused = resource_exhausted_error("more than " + std::to_string(config_.max_pending_requests) +
                                       " requests pending on the connection to " + config_.address);
  } else if (pending_bytes_ + bytes > config_.max_pending_bytes) {
    refused = resource_exhausted_error("more than " + std::to_string(config_.max_pending_bytes) +
                                       " bytes pending on the connection to " + config_.address);
  }
  const MonoTime deadline = now + config_.request_timeout;
  const bool resend_mutant = config_.mutation == Mutation::kResendWrittenAfterReconnect;
  for (std::size_t i = 0; i < n; ++i) {
    if (commands[i].empty()) {
      actions_.push_back(
          Complete{std::move(tags[i]), invalid_argument_error("empty Redis command")});
      continue;
    }
    if (!refused.ok()) {
      actions_.push_back(Complete{std::move(tags[i]), refused});
      continue;
    }
    Request request{Kind::kUser, std::move(tags[i]), deadline, 0, {}};
    if (state_ == State::kReady) {
      // The hot path: straight into the next write, no copy per request.
      const std::size_t before = pending_out_.size();
      encode_command(commands[i], pending_out_);
      request.size = pending_out_.size() - before;
      if (resend_mutant) request.bytes = encode_command(commands[i]);
      request.written_at = now;
    } else {
      request.bytes = encode_command(commands[i]);
      request.size = request.bytes.size();
    }
    ++pending_user_;
    pending_bytes_ += request.size;
    if (state_ == State::kReady) {
      written_.push_back(std::move(request));
      ++unhanded_;
    } else {
      unwritten_.push_back(std::move(request));
    }
  }
  if (state_ == State::kReady) {
    maybe_write();
  } else if (state_ == State::kIdle && !unwritten_.empty()) {
    start_open(now);
  }
  rearm(now);
}

void ConnectionMachine::complete(Request& request, Result<RedisReply> outcome) {
  --pending_user_;
  pending_bytes_ -= std::min(pending_bytes_, request.size);
  actions_.push_back(Complete{std::move(request.tag), std::move(outcome)});
}

// ---- The link -------------------------------------------------------------------------

void ConnectionMachine::start_open(MonoTime now) {
  ++attempt_;
  state_ = State::kOpening;
  link_open_ = true;
  attempt_deadline_ = now + config_.connect_timeout;
  actions_.push_back(Open{attempt_});
}

void ConnectionMachine::on_opened(Attempt attempt, MonoTime now) {
  if (attempt != attempt_ || state_ != State::kOpening) return;
  state_ = State::kHandshaking;
  parser_.emplace(config_.reply_limits);
  last_heard_ = now;
  heard_on_link_ = false;
  const Handshake& h = config_.handshake;
  std::vector<RedisCommand> commands;
  if (h.hello) {
    RedisCommand hello{"HELLO", "2"};
    if (!h.password.empty()) {
      hello.insert(hello.end(), {"AUTH", h.username.empty() ? "default" : h.username, h.password});
    }
    if (!h.client_name.empty()) hello.insert(hello.end(), {"SETNAME", h.client_name});
    commands.push_back(std::move(hello));
  } else {
    if (!h.password.empty()) {
      commands.push_back(h.username.empty() ? RedisCommand{"AUTH", h.password}
                                            : RedisCommand{"AUTH", h.username, h.password});
    }
    if (!h.client_name.empty()) commands.push_back({"CLIENT", "SETNAME", h.client_name});
  }
  if (h.database != 0) commands.push_back({"SELECT", std::to_string(h.database)});
  handshake_left_ = commands.size();
  if (commands.empty()) {
    become_ready(now);
    return;
  }
  for (const RedisCommand& command : commands) {
    queue_written(Request{Kind::kHandshake, {}, attempt_deadline_, 0, {}}, encode_command(command),
                  now);
  }
  maybe_write();
  rearm(now);
}

void ConnectionMachine::become_ready(MonoTime now) {
  state_ = State::kReady;
  ++stats_.connects;
  last_connect_error_.clear();
  last_heard_ = now;
  expire_unwritten(now);
  while (!unwritten_.empty()) {
    Request request = std::move(unwritten_.front());
    unwritten_.pop_front();
    std::string bytes = std::move(request.bytes);
    queue_written(std::move(request), bytes, now);
  }
  maybe_write();
  rearm(now);
}

void ConnectionMachine::queue_written(Request request, std::string_view bytes, MonoTime now) {
  pending_out_ += bytes;
  request.size = bytes.size();
  if (config_.mutation == Mutation::kResendWrittenAfterReconnect) request.bytes.assign(bytes);
  request.written_at = now;
  written_.push_back(std::move(request));
  ++unhanded_;
}

void ConnectionMachine::take_back_unhanded() {
  const std::size_t first = written_.size() - std::min(unhanded_, written_.size());
  std::size_t offset = 0;
  std::vector<Request> back;
  for (std::size_t i = first; i < written_.size(); ++i) {
    Request& request = written_[i];
    const std::string_view bytes =
        std::string_view(pending_out_).substr(std::min(offset, pending_out_.size()), request.size);
    offset += request.size;
    if (request.kind == Kind::kUser && !request.abandoned) {
      request.bytes.assign(bytes);
      back.push_back(std::move(request));
    }
  }
  written_.erase(written_.begin() + static_cast<std::ptrdiff_t>(first), written_.end());
  abandoned_ = std::min(abandoned_, written_.size());
  for (auto it = back.rbegin(); it != back.rend(); ++it)
    unwritten_.push_front(std::move(*it));
  unhanded_ = 0;
  pending_out_.clear();
}

void ConnectionMachine::on_open_failed(Attempt attempt, std::string why, MonoTime now) {
  if (attempt != attempt_ || state_ != State::kOpening) return;
  attempt_failed("connect to " + config_.address + ": " + why, now);
}

void ConnectionMachine::on_closed(Attempt attempt, std::string why, MonoTime now) {
  if (attempt != attempt_ || !link_open_) return;
  switch (state_) {
    case State::kOpening:
      attempt_failed("connect to " + config_.address + ": " + why, now);
      return;
    case State::kHandshaking:
      attempt_failed("connection to " + config_.address + " closed during the handshake: " + why,
                     now);
      return;
    case State::kReady:
      link_lost(unknown_outcome_error("connection to " + config_.address +
                                      " lost with the request in flight: " + why),
                now);
      return;
    default:
      return;
  }
}

void ConnectionMachine::attempt_failed(std::string why, MonoTime now) {
  ++stats_.failed_attempts;
  ++failures_;
  last_connect_error_ = std::move(why);
  // Only the handshake can be written here: user bytes wait for it.
  fail_written(unknown_outcome_error(last_connect_error_));
  close_link();
  enter_backoff(now);
  expire_unwritten(now);
  rearm(now);
}

void ConnectionMachine::link_lost(const Status& written_outcome, MonoTime now) {
  ++stats_.connection_losses;
  if (!heard_on_link_) ++failures_;  // accepted, then nothing: back off as for a refusal
  if (config_.mutation == Mutation::kResendWrittenAfterReconnect) {
    // The defect the at-most-once property must catch: written requests go back to
    // the queue and are written again on the next link.
    take_back_unhanded();
    std::deque<Request> lost = std::move(written_);
    written_.clear();
    abandoned_ = 0;
    for (auto it = lost.rbegin(); it != lost.rend(); ++it) {
      if (it->kind == Kind::kUser && !it->abandoned) unwritten_.push_front(std::move(*it));
    }
  } else {
    fail_written(written_outcome);
  }
  close_link();
  enter_backoff(now);
  expire_unwritten(now);
  rearm(now);
}

void ConnectionMachine::close_link() {
  // A Write already emitted stays before the Close: its requests count as written.
  if (link_open_) actions_.push_back(Close{attempt_});
  link_open_ = false;
  write_outstanding_ = false;
  pending_out_.clear();
  unhanded_ = 0;
  parser_.reset();
  handshake_left_ = 0;
}

void ConnectionMachine::enter_backoff(MonoTime now) {
  state_ = State::kBackoff;
  backoff_until_ = now + backoff_delay();
}

Duration ConnectionMachine::backoff_delay() {
  const double min = static_cast<double>(config_.reconnect_min_backoff.count());
  const double max = static_cast<double>(config_.reconnect_max_backoff.count());
  const double base =
      std::min(max, min * std::ldexp(1.0, static_cast<int>(std::min(failures_, 20u))));
  return Duration(static_cast<std::int64_t>(base * (0.5 + 0.5 * jitter_.next_unit())));
}

// ---- Bytes ------------------------------------------------------------------------------

void ConnectionMachine::maybe_write() {
  if (write_outstanding_ || pending_out_.empty()) return;
  if (state_ != State::kHandshaking && state_ != State::kReady) return;
  writing_.swap(pending_out_);
  pending_out_.clear();
  unhanded_ = 0;
  write_outstanding_ = true;
  actions_.push_back(Write{attempt_, writing_});
}

void ConnectionMachine::on_write_done(Attempt attempt, MonoTime /*now*/) {
  if (attempt != attempt_ || !write_outstanding_) return;
  write_outstanding_ = false;
  maybe_write();
}

void ConnectionMachine::on_bytes(Attempt attempt, std::string_view bytes, MonoTime now) {
  if (attempt != attempt_ || !parser_) return;
  last_heard_ = now;
  if (!bytes.empty() && !heard_on_link_) {
    heard_on_link_ = true;
    failures_ = 0;
  }
  parser_->feed(bytes);
  while (attempt == attempt_ && parser_) {
    std::optional<Result<RedisReply>> next = parser_->next();
    if (!next) break;
    if (!next->ok()) {
      protocol_failure(next->status(), now);
      break;
    }
    if (written_.size() <= unhanded_) {
      protocol_failure(protocol_error("a reply nobody asked for from " + config_.address), now);
      break;
    }
    Request request = std::move(written_.front());
    written_.pop_front();
    if (request.abandoned) {
      --abandoned_;  // the caller was answered UNKNOWN at its deadline
      continue;
    }
    RedisReply& reply = **next;
    switch (request.kind) {
      case Kind::kHandshake:
        if (reply.is_error()) {
          attempt_failed("handshake with " + config_.address + " failed: " + reply.text(), now);
        } else if (--handshake_left_ == 0) {
          become_ready(now);
        }
        break;
      case Kind::kPing:
        break;  // any answer, even an error, shows the server is there
      case Kind::kUser:
        if (reply.is_error()) {
          complete(request, server_error(reply.text()));
        } else {
          complete(request, std::move(reply));
        }
        break;
    }
  }
  rearm(now);
}

void ConnectionMachine::protocol_failure(Status why, MonoTime now) {
  ++stats_.protocol_errors;
  if (state_ == State::kHandshaking) {
    attempt_failed("handshake with " + config_.address + ": " + why.message(), now);
    return;
  }
  if (written_.size() > unhanded_) {
    Request head = std::move(written_.front());
    written_.pop_front();
    if (head.abandoned) {
      --abandoned_;
    } else if (head.kind == Kind::kUser) {
      complete(head, why);
    }
  }
  link_lost(unknown_outcome_error("connection to " + config_.address +
                                  " reset after a protocol error: " + why.message()),
            now);
}

// ---- Time ---------------------------------------------------------------------------------

void ConnectionMachine::expire_unwritten(MonoTime now) {
  while (!unwritten_.empty() && unwritten_.front().deadline <= now) {
    Request request = std::move(unwritten_.front());
    unwritten_.pop_front();
    complete(request,
             unavailable_error("not sent within " + millis(config_.request_timeout) + ": " +
                               (last_connect_error_.empty()
                                    ? "no connection to " + config_.address + " yet"
                                    : last_connect_error_)));
  }
}

void ConnectionMachine::on_timer(MonoTime now) {
  armed_.reset();
  switch (state_) {
    case State::kOpening:
    case State::kHandshaking:
      if (now >= attempt_deadline_) {
        attempt_failed(
            "connect to " + config_.address + " timed out after " + millis(config_.connect_timeout),
            now);
      }
      break;
    case State::kReady:
      // A silent link first: when it is dead, all its requests fail with it.
      if (!written_.empty() && now >= silence_deadline()) {
        link_lost(unknown_outcome_error("no reply from " + config_.address + " within " +
                                        millis(config_.request_timeout)),
                  now);
        break;
      }
      abandon_expired(now);
      if (config_.health_check_interval > Duration(0) && written_.empty() &&
          now >= last_heard_ + config_.health_check_interval) {
        queue_written(Request{Kind::kPing, {}, now + config_.request_timeout, 0, {}},
                      encode_command(RedisCommand{"PING"}), now);
        maybe_write();
      }
      break;
    case State::kBackoff:
      if (now >= backoff_until_) {
        state_ = State::kIdle;
        expire_unwritten(now);
        if (!unwritten_.empty()) start_open(now);
      }
      break;
    case State::kIdle:
    case State::kShutDown:
      break;
  }
  expire_unwritten(now);
  rearm(now);
}

void ConnectionMachine::abandon_expired(MonoTime now) {
  // Deadlines grow along written_ (submit order, one timeout), so the abandoned
  // requests are a prefix of it.
  while (abandoned_ < written_.size() && written_[abandoned_].deadline <= now) {
    Request& request = written_[abandoned_++];
    request.abandoned = true;
    if (request.kind != Kind::kUser) continue;
    --pending_user_;
    pending_bytes_ -= std::min(pending_bytes_, request.size);
    actions_.push_back(
        Complete{std::move(request.tag),
                 unknown_outcome_error("no reply from " + config_.address + " within " +
                                       millis(config_.request_timeout))});
  }
}

MonoTime ConnectionMachine::silence_deadline() const {
  return std::max(last_heard_, written_.front().written_at) + config_.request_timeout;
}

void ConnectionMachine::rearm(MonoTime now) {
  if (state_ == State::kShutDown) return;
  std::optional<MonoTime> next;
  const auto consider = [&next](MonoTime t) {
    if (!next || t < *next) next = t;
  };
  if (abandoned_ < written_.size()) consider(written_[abandoned_].deadline);
  if (!unwritten_.empty()) consider(unwritten_.front().deadline);
  if (state_ == State::kReady && !written_.empty()) consider(silence_deadline());
  switch (state_) {
    case State::kOpening:
    case State::kHandshaking:
      consider(attempt_deadline_);
      break;
    case State::kBackoff:
      consider(backoff_until_);
      break;
    case State::kReady:
      if (config_.health_check_interval > Duration(0) && written_.empty()) {
        consider(last_heard_ + config_.health_check_interval);
      }
      break;
    default:
      break;
  }
  if (!next) return;
  *next = std::max(*next, now);
  // Only ever earlier: a timer that fires before anything is due just re-arms.
  if (armed_ && *armed_ <= *next) return;
  armed_ = *next;
  actions_.push_back(ArmTimer{*next});
}

void ConnectionMachine::fail_written(const Status& outcome) {
  take_back_unhanded();
  std::deque<Request> lost = std::move(written_);
  written_.clear();
  abandoned_ = 0;
  for (Request& request : lost) {
    if (request.kind == Kind::kUser && !request.abandoned) complete(request, outcome);
  }
}

void ConnectionMachine::shutdown(MonoTime /*now*/) {
  if (state_ == State::kShutDown) return;
  fail_written(cancelled_error("the Redis connection to " + config_.address +
                               " was closed with the request in flight"));
  std::deque<Request> unsent = std::move(unwritten_);
  unwritten_.clear();
  for (Request& request : unsent) {
    complete(request,
             cancelled_error("the Redis connection to " + config_.address + " was closed"));
  }
  close_link();
  state_ = State::kShutDown;
}

bool ConnectionMachine::poll(Action& out) {
  if (next_action_ < actions_.size()) {
    out = std::move(actions_[next_action_++]);
    return true;
  }
  actions_.clear();
  next_action_ = 0;
  return false;
}

}  // namespace distkit::conn
