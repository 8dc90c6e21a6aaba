// The replicated service's pure parts: the client protocol's codec, client sessions
// (exactly-once), the KV and counter state machines; and PeerChannels over a simulated
// network (channels, garbage, a withdrawn receive).
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <charconv>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "distkit/core/raft/client_protocol.h"
#include "distkit/core/raft/counter.h"
#include "distkit/core/raft/kv.h"
#include "distkit/core/raft/sessions.h"
#include "distkit/core/seam/peer_channels.h"
#include "distkit/sim/world/world.h"

namespace distkit::raft {
namespace {

// ---- Client protocol -------------------------------------------------------------

RC_GTEST_PROP(ClientProtocol, RequestsAndRepliesRoundTrip,
              (std::uint64_t call, std::uint64_t client, std::uint64_t seq, std::string body)) {
  const auto op = *rc::gen::element(ClientOp::kRegister, ClientOp::kWrite, ClientOp::kRead);
  const ClientRequest request{.op = op, .call = call, .client = client, .seq = seq, .body = body};
  Result<ClientRequest> back = decode_request(encode_request(request));
  RC_ASSERT(back.ok());
  RC_ASSERT(*back == request);
  const auto code = *rc::gen::element(StatusCode::kOk, StatusCode::kUnavailable,
                                      StatusCode::kUnknownOutcome, StatusCode::kDataLoss);
  const ClientReply reply{.call = call, .code = code, .leader = seq, .body = body};
  Result<ClientReply> reply_back = decode_reply(encode_reply(reply));
  RC_ASSERT(reply_back.ok());
  RC_ASSERT(*reply_back == reply);
}

TEST(ClientProtocol, EveryTruncationAndGarbageIsAProtocolError) {
  const std::string request =
      encode_request({.op = ClientOp::kWrite, .call = 7, .client = 3, .seq = 9, .body = "abc"});
  const std::string reply = encode_reply({.call = 7, .leader = 2, .body = "answer"});
  for (std::size_t n = 0; n < request.size(); ++n)
    EXPECT_EQ(decode_request(request.substr(0, n)).status().code(), StatusCode::kProtocolError)
        << n;
  for (std::size_t n = 0; n < reply.size(); ++n)
    EXPECT_EQ(decode_reply(reply.substr(0, n)).status().code(), StatusCode::kProtocolError) << n;
  EXPECT_EQ(decode_request(request + "x").status().code(), StatusCode::kProtocolError);
  std::string bad_op = request;
  bad_op[1] = 9;
  EXPECT_EQ(decode_request(bad_op).status().code(), StatusCode::kProtocolError);
  std::string bad_version = reply;
  bad_version[0] = 2;
  EXPECT_EQ(decode_reply(bad_version).status().code(), StatusCode::kProtocolError);
  std::string bad_code = reply;
  bad_code[9] = static_cast<char>(200);
  EXPECT_EQ(decode_reply(bad_code).status().code(), StatusCode::kProtocolError);
  // A length that claims more than is there (no huge allocation).
  std::string huge = request;
  huge[26] = huge[27] = huge[28] = huge[29] = static_cast<char>(0xff);
  EXPECT_EQ(decode_request(huge).status().code(), StatusCode::kProtocolError);
}

RC_GTEST_PROP(ClientProtocol, GarbageNeverCrashes, (std::string bytes)) {
  (void)decode_request(bytes);
  (void)decode_reply(bytes);
  (void)decode_kv_command(bytes);
  (void)decode_kv_answer(bytes);
  (void)decode_counter_command(bytes);
  (void)decode_counter_answer(bytes);
  (void)decode_session_answer(bytes);
}

// ---- Sessions ----------------------------------------------------------------------

// Counts applications; answers "applied #n: <command>".
class Recorder final : public StateMachine {
 public:
  std::string apply(const Entry& e) override {
    return "applied #" + std::to_string(++count) + ": " + e.data;
  }
  std::string query(std::string_view q) const override { return "query " + std::string(q); }
  std::string snapshot() const override { return std::to_string(count); }
  Status restore(std::string_view snapshot) override {
    int n = 0;
    const auto [end, error] = std::from_chars(snapshot.begin(), snapshot.end(), n);
    if (error != std::errc() || end != snapshot.end()) return data_loss_error("recorder: bad");
    count = n;
    return Status();
  }
  int count = 0;
};

struct SessionHarness {
  explicit SessionHarness(SessionOptions options = {}) : sessions(app, options) {}
  SessionAnswer apply(std::string data) {
    Result<SessionAnswer> a =
        decode_session_answer(sessions.apply({.term = 1, .index = ++index, .data = data}));
    EXPECT_TRUE(a.ok());
    return a.ok() ? *a : SessionAnswer{};
  }
  ClientId open() {
    SessionAnswer a = apply(encode_register_entry());
    EXPECT_EQ(a.outcome, SessionOutcome::kRegistered);
    return *decode_client_id(a.body);
  }
  Recorder app;
  SessionStateMachine sessions;
  Index index = 0;
};

TEST(Sessions, ARetriedCommandIsAnsweredNotAppliedAgain) {
  SessionHarness h;
  const ClientId c = h.open();
  EXPECT_EQ(c, 1u);  // the registration's index
  const SessionAnswer first = h.apply(encode_command_entry(c, 1, "inc"));
  EXPECT_EQ(first.outcome, SessionOutcome::kApplied);
  EXPECT_EQ(first.body, "applied #1: inc");
  const SessionAnswer retry = h.apply(encode_command_entry(c, 1, "inc"));
  EXPECT_EQ(retry.outcome, SessionOutcome::kApplied);
  EXPECT_EQ(retry.body, "applied #1: inc");
  EXPECT_EQ(h.app.count, 1);
  EXPECT_EQ(h.apply(encode_command_entry(c, 2, "inc")).body, "applied #2: inc");
  EXPECT_EQ(h.apply(encode_command_entry(c, 1, "inc")).outcome, SessionOutcome::kStale);
  EXPECT_EQ(h.app.count, 2);
  // Sessions are independent.
  const ClientId d = h.open();
  EXPECT_NE(c, d);
  EXPECT_EQ(h.apply(encode_command_entry(d, 1, "x")).body, "applied #3: x");
  EXPECT_EQ(h.sessions.query("q"), "query q");
}

TEST(Sessions, WithoutDeduplicationARetryIsAppliedTwice) {
  SessionHarness h({.deduplicate = false});
  const ClientId c = h.open();
  (void)h.apply(encode_command_entry(c, 1, "inc"));
  (void)h.apply(encode_command_entry(c, 1, "inc"));
  EXPECT_EQ(h.app.count, 2);  // the broken variant the simulator test must catch
}

TEST(Sessions, UnknownAndEvictedSessionsAreNotApplied) {
  SessionHarness h({.max_sessions = 2});
  EXPECT_EQ(h.apply(encode_command_entry(99, 1, "inc")).outcome, SessionOutcome::kSessionExpired);
  const ClientId a = h.open();
  const ClientId b = h.open();
  (void)h.apply(encode_command_entry(a, 1, "inc"));  // a is now the more recent
  const ClientId c = h.open();                       // evicts b, idle the longest
  EXPECT_EQ(h.sessions.sessions(), 2u);
  EXPECT_EQ(h.apply(encode_command_entry(b, 1, "inc")).outcome, SessionOutcome::kSessionExpired);
  EXPECT_EQ(h.apply(encode_command_entry(a, 2, "inc")).outcome, SessionOutcome::kApplied);
  EXPECT_EQ(h.apply(encode_command_entry(c, 1, "inc")).outcome, SessionOutcome::kApplied);
  EXPECT_EQ(h.app.count, 3);
}

TEST(Sessions, MalformedEntriesAreNotApplied) {
  SessionHarness h;
  EXPECT_EQ(h.apply("").outcome, SessionOutcome::kMalformed);
  EXPECT_EQ(h.apply("\x07junk").outcome, SessionOutcome::kMalformed);
  EXPECT_EQ(h.apply(encode_register_entry() + "x").outcome, SessionOutcome::kMalformed);
  EXPECT_EQ(h.apply(encode_command_entry(1, 1, "x").substr(0, 10)).outcome,
            SessionOutcome::kMalformed);
  EXPECT_EQ(h.app.count, 0);
}

// ---- KV store ----------------------------------------------------------------------

KvAnswer kv_apply(KvStore& kv, const KvCommand& c) {
  Result<KvAnswer> a =
      decode_kv_answer(kv.apply({.term = 1, .index = 1, .data = encode_kv_command(c)}));
  EXPECT_TRUE(a.ok()) << a.status().to_string();
  return a.ok() ? *a : KvAnswer{};
}

TEST(KvStore, PutGetCompareAndSetDelete) {
  KvStore kv;
  EXPECT_EQ(kv_apply(kv, {.op = KvOp::kGet, .key = "k"}), (KvAnswer{.applied = true}));
  EXPECT_EQ(kv_apply(kv, {.op = KvOp::kPut, .key = "k", .value = "v1"}), (KvAnswer{}));
  EXPECT_EQ(kv_apply(kv, {.op = KvOp::kPut, .key = "k", .value = "v2"}),
            (KvAnswer{.applied = true, .previous = "v1"}));
  // Compare-and-set: matches v2, then fails against the stale v1, then "absent".
  EXPECT_EQ(kv_apply(kv, {.op = KvOp::kCompareAndSet, .key = "k", .value = "v3", .expected = "v2"}),
            (KvAnswer{.applied = true, .previous = "v2"}));
  EXPECT_EQ(kv_apply(kv, {.op = KvOp::kCompareAndSet, .key = "k", .value = "v4", .expected = "v1"}),
            (KvAnswer{.applied = false, .previous = "v3"}));
  EXPECT_EQ(kv_apply(kv, {.op = KvOp::kCompareAndSet, .key = "n", .value = "new"}),
            (KvAnswer{.applied = true}));
  EXPECT_EQ(kv_apply(kv, {.op = KvOp::kCompareAndSet, .key = "n", .value = "again"}),
            (KvAnswer{.applied = false, .previous = "new"}));
  EXPECT_EQ(kv_apply(kv, {.op = KvOp::kDelete, .key = "k"}),
            (KvAnswer{.applied = true, .previous = "v3"}));
  EXPECT_EQ(kv_apply(kv, {.op = KvOp::kDelete, .key = "k"}), (KvAnswer{.applied = false}));
  EXPECT_EQ(*decode_kv_answer(kv.query(encode_kv_command({.op = KvOp::kGet, .key = "n"}))),
            (KvAnswer{.applied = true, .previous = "new"}));
  // Binary keys and values travel whole.
  const std::string binary("a\0b", 3);
  (void)kv_apply(kv, {.op = KvOp::kPut, .key = binary, .value = binary});
  EXPECT_EQ(kv.data().at(binary), binary);
}

TEST(KvStore, MalformedCommandsChangeNothing) {
  KvStore kv;
  Result<KvAnswer> a = decode_kv_answer(kv.apply({.data = "\x09"}));
  EXPECT_EQ(a.status().code(), StatusCode::kInvalidArgument);
  a = decode_kv_answer(kv.apply({.data = encode_kv_command({.op = KvOp::kPut, .key = ""})}));
  EXPECT_EQ(a.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(kv.data().empty());
  // A write command is not a query.
  a = decode_kv_answer(kv.query(encode_kv_command({.op = KvOp::kPut, .key = "k", .value = "v"})));
  EXPECT_EQ(a.status().code(), StatusCode::kInvalidArgument);
}

// ---- Counter store -----------------------------------------------------------------

Result<Change> counter_apply(CounterStore& store, const CounterCommand& c) {
  return decode_counter_answer(
      store.apply({.term = 1, .index = 1, .data = encode_counter_command(c)}));
}

TEST(CounterStore, StrictCounterSemantics) {
  CounterStore s;
  EXPECT_EQ(*counter_apply(s, {.op = CounterOp::kIncIf, .key = "c", .argument = 5}),
            (Change{.value = 5, .previous = 0, .applied = true}));
  EXPECT_EQ(
      *counter_apply(
          s, {.op = CounterOp::kIncIf, .key = "c", .condition = Condition::lt(5), .argument = 1}),
      (Change{.value = 5, .previous = 5, .applied = false}));
  EXPECT_EQ(
      *counter_apply(
          s, {.op = CounterOp::kSetIf, .key = "c", .condition = Condition::eq(5), .argument = -7}),
      (Change{.value = -7, .previous = 5, .applied = true}));
  EXPECT_EQ(counter_apply(s, {.op = CounterOp::kGet, .key = "c"})->value, -7);
  EXPECT_EQ(*counter_apply(s, {.op = CounterOp::kDelete, .key = "c"}),
            (Change{.value = 0, .previous = -7, .applied = true}));
  EXPECT_TRUE(s.values().empty());
  EXPECT_EQ(
      decode_counter_answer(s.query(encode_counter_command({.op = CounterOp::kGet, .key = "c"})))
          ->value,
      0);
}

TEST(CounterStore, OverflowFailsAndChangesNothing) {
  CounterStore s;
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  (void)counter_apply(s, {.op = CounterOp::kSetIf, .key = "c", .argument = kMax});
  EXPECT_EQ(counter_apply(s, {.op = CounterOp::kIncIf, .key = "c", .argument = 1}).status().code(),
            StatusCode::kOutOfRange);
  EXPECT_EQ(s.values().at("c"), kMax);
}

TEST(CounterStore, InvalidKeysAndMalformedCommandsAreRefused) {
  CounterStore s;
  EXPECT_EQ(
      counter_apply(s, {.op = CounterOp::kIncIf, .key = "a:b", .argument = 1}).status().code(),
      StatusCode::kInvalidArgument);
  EXPECT_EQ(decode_counter_answer(s.apply({.data = "\x01"})).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(s.values().empty());
}

// ---- Snapshots of the state machines ---------------------------------------------

TEST(Snapshots, SessionsRestoreWithTheirCachedAnswers) {
  SessionHarness h;
  const ClientId c = h.open();
  (void)h.apply(encode_command_entry(c, 1, "inc"));
  const ClientId d = h.open();
  (void)h.apply(encode_command_entry(d, 1, "x"));
  const std::string bytes = h.sessions.snapshot();
  SessionHarness restored;
  ASSERT_TRUE(restored.sessions.restore(bytes).ok());
  restored.index = h.index;
  EXPECT_EQ(restored.sessions.sessions(), 2u);
  EXPECT_EQ(restored.app.count, 2);
  EXPECT_EQ(restored.sessions.snapshot(), bytes) << "deterministic";
  // A retry after the restore is answered from the session, not applied again.
  EXPECT_EQ(restored.apply(encode_command_entry(c, 1, "inc")).body, "applied #1: inc");
  EXPECT_EQ(restored.app.count, 2);
  // Every cut is refused, and the state stays as it was.
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    SessionHarness other;
    (void)other.open();
    const std::string before = other.sessions.snapshot();
    EXPECT_FALSE(other.sessions.restore(bytes.substr(0, n)).ok()) << n;
    EXPECT_EQ(other.sessions.snapshot(), before) << n;
  }
}

TEST(Snapshots, KvAndCounterStoresRoundTripAndRefuseDamage) {
  KvStore kv;
  (void)kv_apply(kv, {.op = KvOp::kPut, .key = "a", .value = "1"});
  (void)kv_apply(kv, {.op = KvOp::kPut, .key = std::string("b\0", 2), .value = ""});
  const std::string kv_bytes = kv.snapshot();
  KvStore kv2;
  ASSERT_TRUE(kv2.restore(kv_bytes).ok());
  EXPECT_EQ(kv2.data(), kv.data());
  for (std::size_t n = 0; n < kv_bytes.size(); ++n) {
    Status st = kv2.restore(kv_bytes.substr(0, n));
    EXPECT_EQ(st.code(), StatusCode::kDataLoss) << n;
    EXPECT_EQ(kv2.data(), kv.data()) << "unchanged after a refused restore";
  }
  EXPECT_FALSE(kv2.restore(kv_bytes + "x").ok());

  CounterStore counters;
  (void)counter_apply(counters, {.op = CounterOp::kSetIf, .key = "c", .argument = -42});
  (void)counter_apply(counters, {.op = CounterOp::kIncIf, .key = "d", .argument = 7});
  const std::string c_bytes = counters.snapshot();
  CounterStore c2;
  ASSERT_TRUE(c2.restore(c_bytes).ok());
  EXPECT_EQ(c2.values(), counters.values());
  for (std::size_t n = 0; n < c_bytes.size(); ++n)
    EXPECT_EQ(c2.restore(c_bytes.substr(0, n)).code(), StatusCode::kDataLoss) << n;
  EXPECT_EQ(c2.values(), counters.values());
}

// ---- PeerChannels over the simulated network -------------------------------------

TEST(PeerChannels, DeliversByChannelAndDropsGarbage) {
  sim::World world({.seed = 1});
  std::vector<std::string> raft_got;
  std::vector<std::string> client_got;
  std::uint64_t dropped = 0;
  distkit::NodeId b_id = 0;
  const distkit::NodeId a = world.add_instance("a", [&](sim::NodeContext& node) -> Task<void> {
    PeerChannels channels(node.executor(), node.peers());
    channels.channel(kRaftChannel).send(b_id, "r1");
    channels.channel(kClientChannel).send(b_id, "c1");
    node.peers().send(b_id, "");                    // no tag
    node.peers().send(b_id, std::string("\x09x"));  // an unknown channel
    channels.channel(kRaftChannel).send(b_id, "r2");
    co_await sleep_for(node.executor(), std::chrono::seconds(1));
  });
  (void)a;
  b_id = world.add_instance("b", [&](sim::NodeContext& node) -> Task<void> {
    PeerChannels channels(node.executor(), node.peers());
    PeerEndpoint& raft = channels.channel(kRaftChannel);
    PeerEndpoint& clients = channels.channel(kClientChannel);
    raft_got.push_back((co_await raft.receive()).payload);
    client_got.push_back((co_await clients.receive()).payload);
    raft_got.push_back((co_await raft.receive()).payload);
    // Messages may be reordered: the garbage may come after the good ones.
    co_await sleep_for(node.executor(), std::chrono::milliseconds(500));
    dropped = channels.dropped();
  });
  world.run_for(std::chrono::seconds(2));
  std::sort(raft_got.begin(), raft_got.end());
  EXPECT_EQ(raft_got, (std::vector<std::string>{"r1", "r2"}));
  EXPECT_EQ(client_got, (std::vector<std::string>{"c1"}));
  EXPECT_EQ(dropped, 2u);
}

// A receive whose frame is destroyed while it waits is withdrawn: the message that
// comes later goes to the next receive, and nothing touches the dead frame (ASan).
Task<std::string> receive_one(PeerEndpoint& endpoint) {
  co_return (co_await endpoint.receive()).payload;
}

TEST(PeerChannels, AWithdrawnReceiveLosesNothing) {
  sim::World world({.seed = 2});
  std::optional<std::string> got;
  distkit::NodeId b_id = 0;
  world.add_instance("a", [&](sim::NodeContext& node) -> Task<void> {
    co_await sleep_for(node.executor(), std::chrono::milliseconds(100));
    node.peers().send(b_id, std::string(1, static_cast<char>(kClientChannel)) + "late");
  });
  b_id = world.add_instance("b", [&](sim::NodeContext& node) -> Task<void> {
    PeerChannels channels(node.executor(), node.peers());
    {
      TaskScope scope;  // a receiver that gives up before anything arrives
      spawn(node.executor(), &scope, receive_one(channels.channel(kClientChannel)));
      co_await sleep_for(node.executor(), std::chrono::milliseconds(10));
    }
    got = co_await receive_one(channels.channel(kClientChannel));
  });
  world.run_for(std::chrono::seconds(1));
  EXPECT_EQ(got, "late");
}

}  // namespace
}  // namespace distkit::raft
