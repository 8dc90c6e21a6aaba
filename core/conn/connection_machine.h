// ConnectionMachine: one Redis connection as a pure state machine. Requests in, bytes
// out; bytes in, replies out; explicit events for open, close and the timer. No I/O, no
// clock reads, no threads: every input carries `now`, every output is an Action the
// driver performs. transport/ drives it over Asio sockets, sim/ over the simulated
// network, so the simulator runs the pipelining, deadlines and reconnects users run.
//
// The rules (each has a scripted test in tests/unit/connection_machine_test.cc):
// R1  Order. Bytes are written in submit order; a reply completes the oldest written
//     request.
// R2  Written. Once a request's bytes are handed to the link (a Write action), it
//     completes exactly once (reply, kServerError, kUnknownOutcome, kProtocolError,
//     kCancelled) and is never written again: after a lost link it may or may not
//     have run.
// R3  Unwritten. A request not yet handed to a link (waiting for one, or queued behind
//     an outstanding Write when the link died) survives failed attempts and lost
//     links; it is written on a later link or fails kUnavailable at submit +
//     request_timeout ("not sent within N ms: <last connect error>").
// R4  Deadlines and dead links. A written request past its deadline completes
//     kUnknownOutcome (its late reply is discarded); the link stays while the server
//     talks. When nothing has been heard for request_timeout since the oldest pending
//     request was written (or since the last byte), the link is presumed dead: it is
//     closed and every written request becomes kUnknownOutcome.
// R5  Connect. A link is opened only for unwritten work and never during a backoff. An
//     attempt (open + handshake) has connect_timeout; it fails on an open error, that
//     timeout, an error reply to the handshake, or a close before it completes.
// R6  Backoff. After a failed attempt or a lost link the next open waits
//     min(max, min * 2^failures) * (0.5 + 0.5u), u drawn from a SplitMix64 seeded by
//     the config (the simulator passes its node's entropy). The first byte heard on a
//     link resets `failures`; a link lost before any byte counts as a failure (a
//     server that accepts and hangs up is not retried a hundred times a second).
// R7  Handshake. AUTH, CLIENT SETNAME and SELECT (or HELLO 2 with AUTH and SETNAME),
//     pipelined; user bytes wait until each one answered without an error.
// R8  Bounds. A submission that would pass max pending requests or bytes is refused
//     whole, kResourceExhausted, and nothing of it is written.
// R9  Health. On an idle, silent ready link a PING is written every interval; no
//     answer by its deadline is R4.
// R10 Protocol error. Bytes that are not RESP, or a reply nobody asked for: the oldest
//     written request gets kProtocolError, the other written ones kUnknownOutcome,
//     and the link is closed.
// R11 Attempts. Every Open names a new attempt; inputs naming another are ignored.
//     Every Open is followed by exactly one Close for that attempt.
// R12 Shutdown. Pending requests complete kCancelled, the link is closed, and later
//     submissions are kCancelled.
// R13 An empty command fails kInvalidArgument on its own; the others go on.
//
// Thread safety: none; one driver calls it from one thread (its executor).
#ifndef DISTKIT_CORE_CONN_CONNECTION_MACHINE_H_
#define DISTKIT_CORE_CONN_CONNECTION_MACHINE_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "distkit/core/async/clock.h"
#include "distkit/core/base/random.h"
#include "distkit/core/base/status.h"
#include "distkit/core/resp/resp.h"
#include "distkit/core/seam/redis_connection.h"
#include "distkit/core/seam/redis_reply.h"

namespace distkit::conn {

struct Handshake {
  std::string username;     // AUTH username password (Redis 6 ACL), if set
  std::string password;     // AUTH password, if set
  int database = 0;         // SELECT, if not 0
  std::string client_name;  // CLIENT SETNAME, if set
  bool hello = false;       // HELLO 2 [AUTH ...] [SETNAME ...] instead (Redis >= 6)
};

// A deliberately broken machine, for proving that the simulator's properties catch
// what they claim to. Never set outside tests.
enum class Mutation : std::uint8_t {
  kNone,
  kResendWrittenAfterReconnect,  // breaks R2: written requests are written again
};

struct MachineConfig {
  std::string address = "redis";  // names the server in messages, e.g. "10.0.0.1:6379"
  Duration request_timeout = std::chrono::seconds(1);
  Duration connect_timeout = std::chrono::seconds(1);  // open + handshake
  std::size_t max_pending_requests = 100'000;
  std::size_t max_pending_bytes = 64 * 1024 * 1024;
  Duration reconnect_min_backoff = std::chrono::milliseconds(10);
  Duration reconnect_max_backoff = std::chrono::seconds(1);
  Duration health_check_interval{0};  // 0: off
  Handshake handshake;
  RespReplyLimits reply_limits;
  std::uint64_t jitter_seed = 1;
  Mutation mutation = Mutation::kNone;
};

using Attempt = std::uint64_t;

// Opaque to the machine: names who waits for a request (the driver's batch) and where.
struct RequestTag {
  std::shared_ptr<void> owner;
  std::size_t index = 0;
};

// The driver opens a link for `attempt` and reports on_opened or on_open_failed.
struct Open {
  Attempt attempt;
};
// Write `bytes` in order; they stay valid until on_write_done or the attempt's Close.
// At most one Write is outstanding.
struct Write {
  Attempt attempt;
  std::string_view bytes;
};
// Close the attempt's link (or abandon its opening). No event of it matters after this.
struct Close {
  Attempt attempt;
};
// Call on_timer at `at` (node-local monotonic time). Replaces the previous one.
struct ArmTimer {
  MonoTime at;
};
// Request `tag` is done.
struct Complete {
  RequestTag tag;
  Result<RedisReply> outcome;
};
using Action = std::variant<Open, Write, Close, ArmTimer, Complete>;

struct ConnectionStats {
  std::uint64_t connects = 0;           // handshakes completed
  std::uint64_t connection_losses = 0;  // timeouts, drops, protocol errors on a ready link
  std::uint64_t failed_attempts = 0;    // opens or handshakes that failed
  std::uint64_t protocol_errors = 0;
};

class ConnectionMachine {
 public:
  enum class State : std::uint8_t { kIdle, kBackoff, kOpening, kHandshaking, kReady, kShutDown };

  explicit ConnectionMachine(MachineConfig config);

  // Queues one request per command; `tags` names each one's waiter. Outcomes arrive
  // as Complete actions (refusals at once, in the same drain).
  // REQUIRES: commands.size() == tags.size().
  void submit(std::span<RedisCommand> commands, std::span<RequestTag> tags, MonoTime now);

  void on_opened(Attempt attempt, MonoTime now);
  void on_open_failed(Attempt attempt, std::string why, MonoTime now);
  void on_bytes(Attempt attempt, std::string_view bytes, MonoTime now);
  void on_write_done(Attempt attempt, MonoTime now);
  // EOF, reset, I/O error: the link is gone.
  void on_closed(Attempt attempt, std::string why, MonoTime now);
  // The armed timer fired. Calls at any other time are harmless.
  void on_timer(MonoTime now);
  void shutdown(MonoTime now);

  // The next action to perform, in order; false when there is none. Drain after
  // every input.
  [[nodiscard]] bool poll(Action& out);

  [[nodiscard]] State state() const { return state_; }
  [[nodiscard]] const ConnectionStats& stats() const { return stats_; }
  [[nodiscard]] std::size_t pending_requests() const { return pending_user_; }
  [[nodiscard]] std::size_t pending_bytes() const { return pending_bytes_; }

 private:
  enum class Kind : std::uint8_t { kUser, kHandshake, kPing };
  struct Request {
    Kind kind = Kind::kUser;
    RequestTag tag;
    MonoTime deadline;
    std::size_t size = 0;  // encoded bytes (a user's count against max_pending_bytes)
    std::string bytes;     // kept while unwritten (or always, under the resend mutation)
    MonoTime written_at{};
    bool abandoned = false;  // completed UNKNOWN at its deadline; its reply is discarded
  };

  void start_open(MonoTime now);
  void become_ready(MonoTime now);
  void attempt_failed(std::string why, MonoTime now);
  void link_lost(const Status& written_outcome, MonoTime now);
  void protocol_failure(Status why, MonoTime now);
  void close_link();
  void enter_backoff(MonoTime now);
  // Appends a request's bytes to the next write; it is written from now on.
  void queue_written(Request request, std::string_view bytes, MonoTime now);
  // Requests whose bytes never left pending_out_ go back to the front of unwritten_
  // (internal and abandoned ones are dropped), and pending_out_ is emptied.
  void take_back_unhanded();
  // Takes back the unhanded requests, then completes every other live user request of
  // written_ with `outcome` and empties it.
  void fail_written(const Status& outcome);
  // Completes UNKNOWN every written user request past its deadline; the link stays.
  void abandon_expired(MonoTime now);
  [[nodiscard]] MonoTime silence_deadline() const;
  void maybe_write();
  void expire_unwritten(MonoTime now);
  void complete(Request& request, Result<RedisReply> outcome);
  void rearm(MonoTime now);
  [[nodiscard]] Duration backoff_delay();
  [[nodiscard]] std::string millis(Duration d) const;

  MachineConfig config_;
  SplitMix64 jitter_;
  State state_ = State::kIdle;
  Attempt attempt_ = 0;
  bool link_open_ = false;  // an Open was emitted and its Close not yet
  MonoTime attempt_deadline_{};
  MonoTime backoff_until_{};
  std::uint32_t failures_ = 0;
  std::string last_connect_error_;
  std::size_t handshake_left_ = 0;

  std::deque<Request> written_;    // queued on the link, awaiting replies in order
  std::deque<Request> unwritten_;  // waiting for a ready link, in submit order
  std::size_t abandoned_ = 0;      // leading entries of written_ that are abandoned
  std::size_t unhanded_ = 0;       // trailing entries of written_ still in pending_out_
  bool heard_on_link_ = false;     // a byte arrived on the current link
  std::size_t pending_user_ = 0;
  std::size_t pending_bytes_ = 0;

  std::string pending_out_;  // bytes for the next Write
  std::string writing_;      // the outstanding Write's bytes
  bool write_outstanding_ = false;
  std::optional<RespReplyParser> parser_;
  MonoTime last_heard_{};  // for the health check: bytes received or a PING sent

  std::optional<MonoTime> armed_;
  std::vector<Action> actions_;
  std::size_t next_action_ = 0;
  ConnectionStats stats_;
};

}  // namespace distkit::conn

#endif  // DISTKIT_CORE_CONN_CONNECTION_MACHINE_H_
