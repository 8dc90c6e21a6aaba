// The connection state machine, scripted: inputs at chosen times, the actions it
// returns checked one rule at a time (R1..R13 in core/conn/connection_machine.h), then
// a generated interleaving of every input checked after each step, which the
// deliberately broken machine (Mutation::kResendWrittenAfterReconnect) fails.
#include "distkit/core/conn/connection_machine.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <map>
#include <set>

#include "distkit/core/resp/resp.h"

namespace distkit::conn {
namespace {

using std::chrono::milliseconds;

constexpr MonoTime kStart = MonoTime(std::chrono::seconds(100));

// A driver by hand: feeds inputs, records every action.
class Script {
 public:
  explicit Script(MachineConfig config = {}) : machine_(with_address(std::move(config))) {}

  static MachineConfig with_address(MachineConfig config) {
    config.address = "redis:6379";
    return config;
  }

  // Submits commands; returns their request numbers.
  std::vector<std::size_t> submit(std::vector<RedisCommand> commands) {
    std::vector<RequestTag> tags;
    std::vector<std::size_t> ids;
    for (std::size_t i = 0; i < commands.size(); ++i) {
      ids.push_back(next_id_);
      tags.push_back(RequestTag{owner_, next_id_++});
    }
    machine_.submit(commands, tags, now);
    drain();
    return ids;
  }
  std::size_t submit_one(RedisCommand command) { return submit({std::move(command)}).front(); }

  void opened() { machine_.on_opened(attempt(), now), drain(); }
  void open_failed(std::string why = "Connection refused") {
    machine_.on_open_failed(attempt(), std::move(why), now), drain();
  }
  void bytes(std::string_view b) { machine_.on_bytes(attempt(), b, now), drain(); }
  void reply(const RedisReply& r) { bytes(encode_reply(r)); }
  void write_done() {
    write_outstanding = false;
    machine_.on_write_done(attempt(), now), drain();
  }
  void closed(std::string why = "end of stream") {
    machine_.on_closed(attempt(), std::move(why), now), drain();
  }
  // Advances to `t` and fires the timer if it is due (as a driver's timer would).
  void advance_to(MonoTime t) {
    now = t;
    if (armed_ && *armed_ <= now) {
      armed_.reset();
      machine_.on_timer(now);
      drain();
    }
  }
  void advance(Duration d) { advance_to(now + d); }
  // Advances by `step` until `count` Opens have been seen (at most an hour of virtual
  // time); returns the time that took.
  Duration advance_until_opens(int count, Duration step) {
    const MonoTime from = now;
    while (opens < count && now - from < std::chrono::hours(1))
      advance(step);
    return now - from;
  }
  void shutdown() { machine_.shutdown(now), drain(); }

  // Opens the link and completes a handshake-free connect.
  void connect() {
    ASSERT_EQ(opens, attempts_closed + 1) << "expected an Open";
    opened();
  }

  [[nodiscard]] Attempt attempt() const { return last_open_; }
  [[nodiscard]] bool done(std::size_t id) const { return outcomes.contains(id); }
  [[nodiscard]] const Result<RedisReply>& outcome(std::size_t id) const { return outcomes.at(id); }
  [[nodiscard]] StatusCode code(std::size_t id) const { return outcomes.at(id).status().code(); }
  [[nodiscard]] std::string take_written() { return std::exchange(written, {}); }

  ConnectionMachine& machine() { return machine_; }

  MonoTime now = kStart;
  int opens = 0;
  int attempts_closed = 0;
  std::string written;  // every byte handed to the link, in order
  std::vector<std::string> writes;
  std::map<std::size_t, Result<RedisReply>> outcomes;
  std::map<std::size_t, int> completions;
  std::vector<Attempt> closes;
  bool write_outstanding = false;

 private:
  void drain() {
    Action action;
    while (machine_.poll(action)) {
      if (auto* c = std::get_if<Complete>(&action)) {
        ++completions[c->tag.index];
        outcomes.insert_or_assign(c->tag.index, std::move(c->outcome));
      } else if (auto* w = std::get_if<Write>(&action)) {
        EXPECT_FALSE(write_outstanding) << "two Writes outstanding";
        EXPECT_EQ(w->attempt, last_open_);
        write_outstanding = true;
        written += w->bytes;
        writes.emplace_back(w->bytes);
      } else if (auto* o = std::get_if<Open>(&action)) {
        EXPECT_GT(o->attempt, last_open_);
        EXPECT_EQ(opens, attempts_closed) << "an Open before the previous attempt's Close";
        last_open_ = o->attempt;
        ++opens;
        write_outstanding = false;
      } else if (auto* c2 = std::get_if<Close>(&action)) {
        EXPECT_EQ(c2->attempt, last_open_);
        closes.push_back(c2->attempt);
        ++attempts_closed;
        write_outstanding = false;
      } else if (auto* t = std::get_if<ArmTimer>(&action)) {
        armed_ = t->at;
      }
    }
  }

  ConnectionMachine machine_;
  std::shared_ptr<int> owner_ = std::make_shared<int>(0);
  std::size_t next_id_ = 0;
  Attempt last_open_ = 0;
  std::optional<MonoTime> armed_;
};

std::string resp(const RedisCommand& command) {
  return encode_command(command);
}

TEST(ConnectionMachine, OpensLazilyThenWritesInSubmitOrderAndMatchesRepliesInOrder) {
  Script s;
  EXPECT_EQ(s.opens, 0);
  const auto ids = s.submit({{"SET", "a", "1"}, {"GET", "a"}});
  EXPECT_EQ(s.opens, 1);
  EXPECT_TRUE(s.written.empty()) << "nothing is written before the link is open";
  s.opened();
  EXPECT_EQ(s.take_written(), resp({"SET", "a", "1"}) + resp({"GET", "a"}));
  const std::size_t third = s.submit_one({"INCR", "n"});
  EXPECT_TRUE(s.written.empty()) << "one Write outstanding at a time";
  s.write_done();
  EXPECT_EQ(s.take_written(), resp({"INCR", "n"}));
  // Replies in pieces, the second split in the middle.
  s.bytes("+OK\r\n$1\r");
  EXPECT_TRUE(s.done(ids[0]));
  EXPECT_FALSE(s.done(ids[1]));
  s.bytes("\n1\r\n-WRONGTYPE no\r\n");
  EXPECT_EQ(*s.outcome(ids[0]), RedisReply::simple_string("OK"));
  EXPECT_EQ(*s.outcome(ids[1]), RedisReply::bulk_string("1"));
  EXPECT_EQ(s.code(third), StatusCode::kServerError);
  EXPECT_EQ(s.outcome(third).status().server_error_prefix(), "WRONGTYPE");
  EXPECT_EQ(s.machine().pending_requests(), 0u);
  EXPECT_EQ(s.machine().pending_bytes(), 0u);
}

TEST(ConnectionMachine, RepliesSplitAtEveryByteGiveTheSameOutcomes) {
  const std::string stream =
      encode_reply(RedisReply::array({RedisReply::integer(7), RedisReply::bulk_string("x\r\ny")})) +
      encode_reply(RedisReply::error("ERR nope"));
  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    Script s;
    const auto ids = s.submit({{"A"}, {"B"}});
    s.opened();
    s.bytes(stream.substr(0, cut));
    s.bytes(stream.substr(cut));
    ASSERT_TRUE(s.done(ids[0]) && s.done(ids[1])) << cut;
    EXPECT_EQ(s.outcome(ids[0])->elements().size(), 2u);
    EXPECT_EQ(s.code(ids[1]), StatusCode::kServerError);
  }
}

TEST(ConnectionMachine, AWrittenRequestLostWithTheLinkIsUnknownAndNeverWrittenAgain) {
  Script s;
  const std::size_t lost = s.submit_one({"INCR", "once"});
  s.opened();
  EXPECT_EQ(s.take_written(), resp({"INCR", "once"}));
  s.closed("Connection reset by peer");
  EXPECT_EQ(s.code(lost), StatusCode::kUnknownOutcome);
  EXPECT_NE(s.outcome(lost).status().message().find("Connection reset by peer"), std::string::npos);
  EXPECT_EQ(s.closes.size(), 1u) << "every Open gets exactly one Close";
  // The next request reconnects after the backoff (10..20 ms: the link died before
  // a byte came back); only it is written.
  const std::size_t next = s.submit_one({"GET", "once"});
  EXPECT_EQ(s.opens, 1) << "no open during the backoff";
  s.advance(milliseconds(20));
  EXPECT_EQ(s.opens, 2);
  s.opened();
  EXPECT_EQ(s.take_written(), resp({"GET", "once"}));
  s.reply(RedisReply::bulk_string("1"));
  EXPECT_TRUE(s.outcome(next).ok());
  EXPECT_EQ(s.completions[lost], 1);
}

TEST(ConnectionMachine,
     AnUnwrittenRequestWaitsThroughFailedAttemptsAndIsUnavailableExactlyAtItsDeadline) {
  MachineConfig config;
  config.request_timeout = milliseconds(500);
  Script s(config);
  const std::size_t id = s.submit_one({"INCR", "k"});
  s.open_failed("Connection refused");
  EXPECT_FALSE(s.done(id)) << "a failed attempt does not fail waiting requests";
  // Attempts go on while it waits (backoff 5..10 ms, then 10..20, ...).
  for (int i = 0; i < 5 && s.now < kStart + milliseconds(400); ++i) {
    s.advance(milliseconds(100));
    if (s.opens == s.attempts_closed + 1) s.open_failed("Connection refused");
  }
  EXPECT_GE(s.opens, 3);
  s.advance_to(kStart + milliseconds(500) - Duration(1));
  EXPECT_FALSE(s.done(id)) << "not a nanosecond early";
  s.advance_to(kStart + milliseconds(500));
  ASSERT_TRUE(s.done(id));
  EXPECT_EQ(s.code(id), StatusCode::kUnavailable);
  EXPECT_NE(s.outcome(id).status().message().find("not sent within 500 ms: connect to redis:6379: "
                                                  "Connection refused"),
            std::string::npos)
      << s.outcome(id).status().message();
  EXPECT_TRUE(s.written.empty());
}

TEST(ConnectionMachine, NoReplyByTheOldestDeadlineClosesTheLinkAndEveryWrittenRequestIsUnknown) {
  MachineConfig config;
  config.request_timeout = milliseconds(200);
  Script s(config);
  const std::size_t first = s.submit_one({"A"});
  s.opened();
  s.write_done();
  s.advance(milliseconds(50));
  const std::size_t second = s.submit_one({"B"});
  s.advance_to(kStart + milliseconds(200) - Duration(1));
  EXPECT_FALSE(s.done(first));
  s.advance_to(kStart + milliseconds(200));
  EXPECT_EQ(s.code(first), StatusCode::kUnknownOutcome);
  EXPECT_EQ(s.code(second), StatusCode::kUnknownOutcome) << "written, so it may have run";
  EXPECT_EQ(s.closes.size(), 1u);
  EXPECT_EQ(s.machine().stats().connection_losses, 1u);
}

// After an outage, requests that waited through it are written on the new link with
// little time left. Each one past its deadline is UNKNOWN on its own; the link, which
// is talking, stays, and the requests behind them complete normally.
TEST(ConnectionMachine, ALateRequestIsUnknownAloneWhileTheLinkTalks) {
  MachineConfig config;
  config.request_timeout = milliseconds(100);
  Script s(config);
  const std::size_t old_request = s.submit_one({"A"});
  s.open_failed();
  s.advance(milliseconds(90));  // the retry opens meanwhile
  ASSERT_EQ(s.opens, 2);
  const std::size_t fresh = s.submit_one({"B"});
  s.opened();
  EXPECT_EQ(s.take_written(), resp({"A"}) + resp({"B"}));
  s.write_done();
  s.advance(milliseconds(10));  // A's deadline: 100 ms after its submission
  EXPECT_EQ(s.code(old_request), StatusCode::kUnknownOutcome);
  EXPECT_TRUE(s.closes.size() == 1) << "only the failed attempt was closed";
  EXPECT_FALSE(s.done(fresh));
  s.advance(milliseconds(5));
  s.bytes("+a\r\n+b\r\n");  // A's late reply is discarded, B's is B's
  EXPECT_EQ(*s.outcome(fresh), RedisReply::simple_string("b"));
  EXPECT_EQ(s.completions[old_request], 1);
  EXPECT_EQ(s.machine().pending_requests(), 0u);
}

// Requests queued behind an outstanding Write never reached the link: when it dies
// they are not UNKNOWN but wait for the next link (R3), and are written there once.
TEST(ConnectionMachine, RequestsNeverHandedToTheLinkSurviveItsLoss) {
  Script s;
  const std::size_t handed = s.submit_one({"SET", "big", std::string(1000, 'x')});
  s.opened();
  EXPECT_EQ(s.writes.size(), 1u);
  const std::size_t queued = s.submit_one({"INCR", "n"});
  EXPECT_EQ(s.writes.size(), 1u) << "behind the outstanding Write";
  s.closed("Connection reset by peer");
  EXPECT_EQ(s.code(handed), StatusCode::kUnknownOutcome);
  EXPECT_FALSE(s.done(queued));
  s.written.clear();
  s.advance(milliseconds(20));
  s.opened();
  EXPECT_EQ(s.take_written(), resp({"INCR", "n"}));
  s.reply(RedisReply::integer(1));
  EXPECT_EQ(*s.outcome(queued), RedisReply::integer(1));
}

// A server that accepts and hangs up at once is backed off like one that refuses:
// the wait grows, instead of a hundred reconnects a second.
TEST(ConnectionMachine, AServerThatAcceptsAndHangsUpIsBackedOff) {
  MachineConfig config;
  config.request_timeout = std::chrono::hours(1);
  config.reconnect_min_backoff = milliseconds(10);
  config.reconnect_max_backoff = std::chrono::seconds(10);
  Script s(config);
  for (int i = 0; i < 6; ++i) {
    const int opens = s.opens;
    s.submit_one({"PING"});
    s.advance_until_opens(opens + 1, std::chrono::microseconds(500));
    s.opened();
    s.closed("end of stream");
  }
  const int opens = s.opens;
  s.submit_one({"PING"});
  EXPECT_GE(s.advance_until_opens(opens + 1, milliseconds(1)), milliseconds(10) * 64 / 2)
      << "six losses without a byte";
}

TEST(ConnectionMachine, ConnectTimeoutCoversOpenAndHandshake) {
  MachineConfig config;
  config.connect_timeout = milliseconds(100);
  config.request_timeout = milliseconds(1000);
  config.handshake.password = "secret";
  Script s(config);
  const std::size_t id = s.submit_one({"GET", "k"});
  s.advance(milliseconds(60));
  s.opened();
  EXPECT_EQ(s.take_written(), resp({"AUTH", "secret"}));
  s.advance(milliseconds(40));  // 100 ms since the open: the attempt failed
  EXPECT_EQ(s.closes.size(), 1u);
  EXPECT_EQ(s.machine().stats().failed_attempts, 1u);
  EXPECT_FALSE(s.done(id)) << "user bytes were never written";
  EXPECT_EQ(s.machine().state(), ConnectionMachine::State::kBackoff);
}

TEST(ConnectionMachine, HandshakeGoesFirstAndUserBytesWaitForEveryAnswer) {
  MachineConfig config;
  config.handshake = Handshake{"alice", "pw", 3, "worker-1", false};
  Script s(config);
  const std::size_t id = s.submit_one({"GET", "k"});
  s.opened();
  EXPECT_EQ(s.take_written(), resp({"AUTH", "alice", "pw"}) +
                                  resp({"CLIENT", "SETNAME", "worker-1"}) + resp({"SELECT", "3"}));
  s.write_done();
  s.reply(RedisReply::simple_string("OK"));
  s.reply(RedisReply::simple_string("OK"));
  EXPECT_TRUE(s.written.empty()) << "SELECT has not answered yet";
  s.reply(RedisReply::simple_string("OK"));
  EXPECT_EQ(s.take_written(), resp({"GET", "k"}));
  EXPECT_EQ(s.machine().stats().connects, 1u);
  s.reply(RedisReply::nil());
  EXPECT_TRUE(s.outcome(id).ok());
}

TEST(ConnectionMachine, HelloCarriesAuthAndName) {
  MachineConfig config;
  config.handshake = Handshake{"", "pw", 0, "w", true};
  Script s(config);
  s.submit_one({"PING"});
  s.opened();
  EXPECT_EQ(s.take_written(), resp({"HELLO", "2", "AUTH", "default", "pw", "SETNAME", "w"}));
}

TEST(ConnectionMachine, AFailedHandshakeIsAFailedAttemptAndNothingOfTheUsersIsWritten) {
  MachineConfig config;
  config.handshake.password = "wrong";
  config.handshake.database = 2;
  Script s(config);
  const std::size_t id = s.submit_one({"INCR", "k"});
  s.opened();
  s.written.clear();
  s.reply(RedisReply::error("WRONGPASS invalid username-password pair"));
  EXPECT_EQ(s.closes.size(), 1u);
  EXPECT_FALSE(s.done(id));
  s.advance(std::chrono::seconds(1));
  ASSERT_TRUE(s.done(id));
  EXPECT_EQ(s.code(id), StatusCode::kUnavailable);
  EXPECT_NE(s.outcome(id).status().message().find("WRONGPASS"), std::string::npos);
  EXPECT_TRUE(s.written.empty());
}

TEST(ConnectionMachine, BackoffDoublesWithJitterAndResetsAfterAHandshake) {
  MachineConfig config;
  config.request_timeout = std::chrono::hours(1);
  config.reconnect_min_backoff = milliseconds(10);
  config.reconnect_max_backoff = milliseconds(200);
  config.jitter_seed = 42;
  Script s(config);
  s.submit_one({"PING"});
  std::vector<Duration> gaps;
  for (int i = 0; i < 8; ++i) {
    s.open_failed();
    gaps.push_back(s.advance_until_opens(s.opens + 1, std::chrono::microseconds(100)));
  }
  for (std::size_t i = 0; i < gaps.size(); ++i) {
    const Duration base = std::min<Duration>(milliseconds(10) * (1 << (i + 1)), milliseconds(200));
    EXPECT_GE(gaps[i], base / 2 - std::chrono::microseconds(100)) << i;
    EXPECT_LE(gaps[i], base + std::chrono::microseconds(100)) << i;
  }
  // Same seed, same gaps: replayable.
  Script again(config);
  again.submit_one({"PING"});
  again.open_failed();
  EXPECT_EQ(again.advance_until_opens(again.opens + 1, std::chrono::microseconds(100)), gaps[0]);
  // The first byte heard on a link resets the count: after losing a link that had
  // answered, the wait is back to 5..10 ms.
  s.opened();
  s.reply(RedisReply::simple_string("PONG"));
  s.closed();
  s.submit_one({"PING"});
  EXPECT_LE(s.advance_until_opens(s.opens + 1, std::chrono::microseconds(100)),
            milliseconds(10) + std::chrono::microseconds(100));
}

TEST(ConnectionMachine, BoundsRefuseAWholeSubmission) {
  MachineConfig config;
  config.max_pending_requests = 3;
  config.max_pending_bytes = 1000;
  Script s(config);
  s.submit({{"A"}, {"B"}});
  const auto refused = s.submit({{"C"}, {"D"}});
  EXPECT_EQ(s.code(refused[0]), StatusCode::kResourceExhausted);
  EXPECT_EQ(s.code(refused[1]), StatusCode::kResourceExhausted);
  const std::size_t big = s.submit_one({"SET", "k", std::string(2000, 'x')});
  EXPECT_EQ(s.code(big), StatusCode::kResourceExhausted);
  s.opened();
  EXPECT_EQ(s.take_written(), resp({"A"}) + resp({"B"})) << "nothing refused was written";
  EXPECT_EQ(s.machine().pending_requests(), 2u);
}

TEST(ConnectionMachine, AnIdleLinkIsPingedAndASilentOneIsDeclaredDead) {
  MachineConfig config;
  config.health_check_interval = milliseconds(100);
  config.request_timeout = milliseconds(50);
  Script s(config);
  const std::size_t id = s.submit_one({"GET", "k"});
  s.opened();
  s.write_done();
  s.written.clear();
  s.reply(RedisReply::nil());
  ASSERT_TRUE(s.done(id));
  s.advance(milliseconds(99));
  EXPECT_TRUE(s.written.empty());
  s.advance(milliseconds(1));
  EXPECT_EQ(s.take_written(), resp({"PING"}));
  s.write_done();
  s.reply(RedisReply::error("LOADING Redis is loading"));  // alive all the same
  EXPECT_TRUE(s.closes.empty());
  s.advance(milliseconds(100));
  EXPECT_EQ(s.take_written(), resp({"PING"}));
  s.advance(milliseconds(50));  // no PONG within the request timeout
  EXPECT_EQ(s.closes.size(), 1u);
  EXPECT_EQ(s.machine().stats().connection_losses, 1u);
}

TEST(ConnectionMachine, GarbageGivesTheHeadAProtocolErrorAndTheRestUnknown) {
  Script s;
  const auto ids = s.submit({{"A"}, {"B"}, {"C"}});
  s.opened();
  s.reply(RedisReply::integer(1));
  s.bytes("?garbage\r\n");
  EXPECT_TRUE(s.outcome(ids[0]).ok());
  EXPECT_EQ(s.code(ids[1]), StatusCode::kProtocolError);
  EXPECT_EQ(s.code(ids[2]), StatusCode::kUnknownOutcome);
  EXPECT_EQ(s.closes.size(), 1u);
  EXPECT_EQ(s.machine().stats().protocol_errors, 1u);
}

TEST(ConnectionMachine, AReplyNobodyAskedForIsAProtocolError) {
  Script s;
  const std::size_t id = s.submit_one({"A"});
  s.opened();
  s.bytes("+OK\r\n+EXTRA\r\n");
  EXPECT_TRUE(s.outcome(id).ok());
  EXPECT_EQ(s.closes.size(), 1u);
  EXPECT_EQ(s.machine().stats().protocol_errors, 1u);
}

TEST(ConnectionMachine, InputsOfAnotherAttemptAreIgnored) {
  Script s;
  const std::size_t id = s.submit_one({"A"});
  const Attempt old = s.attempt();
  s.open_failed();
  s.advance(milliseconds(20));
  ASSERT_EQ(s.opens, 2);
  s.machine().on_opened(old, s.now);
  s.machine().on_bytes(old, "+OK\r\n", s.now);
  s.machine().on_closed(old, "late", s.now);
  EXPECT_EQ(s.machine().state(), ConnectionMachine::State::kOpening);
  EXPECT_FALSE(s.done(id));
  s.opened();
  s.reply(RedisReply::simple_string("OK"));
  EXPECT_TRUE(s.outcome(id).ok());
}

TEST(ConnectionMachine, ShutdownCancelsEverythingAndLaterSubmissions) {
  Script s;
  const std::size_t written = s.submit_one({"A"});
  s.opened();
  s.shutdown();
  EXPECT_EQ(s.code(written), StatusCode::kCancelled);
  EXPECT_EQ(s.closes.size(), 1u);
  const std::size_t late = s.submit_one({"B"});
  EXPECT_EQ(s.code(late), StatusCode::kCancelled);
  EXPECT_EQ(s.opens, 1);
}

TEST(ConnectionMachine, AnEmptyCommandFailsAloneTheOthersGoOn) {
  Script s;
  const auto ids = s.submit({{"A"}, {}, {"B"}});
  EXPECT_EQ(s.code(ids[1]), StatusCode::kInvalidArgument);
  s.opened();
  EXPECT_EQ(s.take_written(), resp({"A"}) + resp({"B"}));
}

// ---- Generated interleavings -------------------------------------------------------

// What must hold whatever the link and the server do: every request completes at most
// once (exactly once by the end); no request's bytes are handed to a link twice;
// kUnavailable only for a request never written; nothing completes before its time
// except by a reply or a refusal. Returns the first violation, or "".
std::string run_interleaving(Mutation mutation, const std::vector<int>& steps) {
  MachineConfig config;
  config.mutation = mutation;
  config.request_timeout = milliseconds(100);
  config.connect_timeout = milliseconds(50);
  config.max_pending_requests = 8;
  Script s(config);
  std::map<std::size_t, int> writes_of;  // request -> Writes containing it
  std::size_t next_command = 0;
  const auto scan = [&] {
    std::string w = s.take_written();
    for (std::size_t pos = w.find("op:"); pos != std::string::npos; pos = w.find("op:", pos + 1)) {
      ++writes_of[std::stoul(w.substr(pos + 3, w.find('\r', pos) - pos - 3))];
    }
  };
  for (int step : steps) {
    switch (step % 8) {
      case 0:
      case 1:
        s.submit_one({"INCR", "op:" + std::to_string(next_command++)});
        break;
      case 2:
        if (s.opens > s.attempts_closed) s.opened();
        break;
      case 3:
        if (s.opens > s.attempts_closed) s.open_failed();
        break;
      case 4:
        if (s.write_outstanding) s.write_done();
        break;
      case 5:
        // Also when nothing is written: a reply nobody asked for.
        if (s.opens > s.attempts_closed) s.reply(RedisReply::integer(1));
        break;
      case 6:
        if (s.opens > s.attempts_closed) s.closed();
        break;
      default:
        s.advance(milliseconds(1 + step % 37));
        break;
    }
    scan();
    for (const auto& [id, n] : s.completions) {
      if (n != 1)
        return "request " + std::to_string(id) + " completed " + std::to_string(n) + " times";
    }
    for (const auto& [id, n] : writes_of) {
      if (n > 1) return "op:" + std::to_string(id) + " written " + std::to_string(n) + " times";
    }
    for (const auto& [id, outcome] : s.outcomes) {
      if (!outcome.ok() && outcome.status().code() == StatusCode::kUnavailable &&
          writes_of.contains(id)) {
        return "op:" + std::to_string(id) + " was written, yet reported kUnavailable";
      }
    }
  }
  s.advance(std::chrono::seconds(10));
  s.advance(std::chrono::seconds(10));
  if (s.outcomes.size() != next_command) {
    return std::to_string(next_command - s.outcomes.size()) + " requests never completed";
  }
  return "";
}

rc::Gen<std::vector<int>> gen_steps() {
  return rc::gen::container<std::vector<int>>(rc::gen::inRange(0, 1000));
}

RC_GTEST_PROP(ConnectionMachine, EveryInterleavingKeepsAtMostOnceAndCompletesEverything, ()) {
  const std::string violation = run_interleaving(Mutation::kNone, *gen_steps());
  RC_ASSERT(violation == "");
}

// The property can fail: the machine that resends written requests after a reconnect
// is caught on some generated interleaving.
TEST(ConnectionMachine, TheResendingMutantIsCaught) {
  bool caught = false;
  for (int seed = 1; seed <= 300 && !caught; ++seed) {
    SplitMix64 rng(static_cast<std::uint64_t>(seed));
    std::vector<int> steps(200);
    for (int& step : steps)
      step = static_cast<int>(rng.next_u64() % 1000);
    caught = !run_interleaving(Mutation::kResendWrittenAfterReconnect, steps).empty();
  }
  EXPECT_TRUE(caught);
}

}  // namespace
}  // namespace distkit::conn
