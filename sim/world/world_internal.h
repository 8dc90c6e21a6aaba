// The simulated world's internals, shared by its parts (world.cc: nodes, clocks,
// executors, node faults; network.cc: links, datagrams, the Redis connection's link;
// server_host.cc: Redis server nodes). Not for use outside sim/world.
#ifndef DISTKIT_SIM_WORLD_WORLD_INTERNAL_H_
#define DISTKIT_SIM_WORLD_WORLD_INTERNAL_H_

#include <cstdio>
#include <cstdlib>
#include <deque>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "distkit/core/async/mailbox.h"
#include "distkit/core/conn/byte_link.h"
#include "distkit/core/resp/resp.h"
#include "distkit/sim/world/world.h"

namespace distkit::sim {

// A misuse of the world by a test (an unknown node, a restart of a running one):
// nothing sensible can follow.
[[noreturn]] inline void die(const std::string& message) {
  std::fprintf(stderr, "distkit::sim::World: %s\n", message.c_str());
  std::abort();
}

inline constexpr std::int64_t kMillion = 1'000'000;
// Redis's default tcp-keepalive: how long a server keeps a connection whose peer
// vanished without a FIN reaching it.
inline constexpr Duration kTcpKeepalive = std::chrono::seconds(300);

// ---- Clocks ----------------------------------------------------------------------
// local(t) = anchor_local + (t - anchor_true) * (1e6 + ppm) / 1e6, in integers, so
// drift never goes through floating point.
struct ClockModel {
  SimTime anchor_true{0};
  Duration anchor_local{0};
  std::int64_t drift_ppm = 0;
  Duration mono_base{0};  // the local monotonic reading at true time 0
  Duration wall_offset{0};

  Duration local_at(SimTime t) const {
    const __int128 elapsed = (t - anchor_true).count();
    return anchor_local +
           Duration(static_cast<std::int64_t>(elapsed * (kMillion + drift_ppm) / kMillion));
  }
  // The earliest true time at which the local clock reads at least `local`.
  SimTime true_at(Duration local) const {
    if (local <= anchor_local) return anchor_true;
    const __int128 delta = (local - anchor_local).count();
    const __int128 rate = kMillion + drift_ppm;
    SimTime t =
        anchor_true + Duration(static_cast<std::int64_t>((delta * kMillion + rate - 1) / rate));
    while (local_at(t) < local)
      t += Duration(1);
    return t;
  }
  void set_drift(SimTime now, std::int64_t ppm) {
    anchor_local = local_at(now);
    anchor_true = now;
    drift_ppm = ppm;
  }
};

class World::NodeClock final : public Clock {
 public:
  NodeClock(const World& world, const ClockModel& model) : world_(world), model_(model) {}
  MonoTime now() const override { return MonoTime(model_.local_at(world_.now())); }
  WallTime wall_now() const override {
    return world_.options_.start_wall + (model_.local_at(world_.now()) - model_.mono_base) +
           model_.wall_offset;
  }

 private:
  const World& world_;
  const ClockModel& model_;
};

// ---- Nodes -------------------------------------------------------------------------

struct World::Session {
  NodeId client;
  RespRequestParser parser;
};

struct World::Stream {
  SimTime last_arrival{0};
  bool dead = false;
};

struct World::Node {
  NodeId id = 0;
  std::string name;
  bool server = false;
  bool alive = true;
  bool paused = false;
  std::uint32_t incarnation = 0;
  std::uint32_t identity_generation = 1;
  std::string identity;
  ClockModel clock_model;
  std::unique_ptr<NodeClock> clock;
  std::vector<std::function<void()>> held;  // events that arrived while paused

  // Instances.
  InstanceMain main;
  std::unique_ptr<NodeContext> context;

  // Servers.
  std::unique_ptr<ServerModel> model;
  ServerOptions server_options;
  Duration slowdown{0};
  std::unique_ptr<Rng> rng;
  SimTime busy_until{0};
  std::uint64_t condition_generation = 0;  // the latest set_server_condition
  bool processing = false;
  struct Queued {
    std::uint64_t conn;
    RedisCommand command;
    std::optional<Status> protocol_error;  // answered, then the connection is closed
  };
  std::deque<Queued> queue;
  std::map<std::uint64_t, Session> sessions;
};

// The executor of one incarnation of an instance: timers are kept in node-local
// monotonic time and converted to true time through the node's clock; a drift change
// re-arms them.
class NodeExecutor final : public Executor {
 public:
  NodeExecutor(World& world, NodeId id, std::uint32_t incarnation, Rng entropy)
      : world_(world), id_(id), incarnation_(incarnation), entropy_(entropy) {}

  const Clock& clock() const override { return *world_.node(id_).clock; }

  void post(Callback fn) override {
    world_.node_event(id_, incarnation_, world_.now(), std::move(fn));
  }

  TimerId schedule_at(MonoTime deadline, Callback fn) override {
    const TimerId id = next_id_++;
    auto [it, inserted] = timers_.emplace(id, Timer{deadline, std::move(fn), 0, 0});
    arm(id, it->second);
    return id;
  }

  // From a stream of its own (derived from the node's), so asking for entropy does
  // not shift the node's other draws.
  std::uint64_t entropy() override {
    std::uint64_t bits = 0;
    while (bits == 0)
      bits = entropy_.next_u64();
    return bits;
  }

  bool cancel(TimerId id) override {
    auto it = timers_.find(id);
    if (it == timers_.end()) return false;
    world_.scheduler_.cancel(it->second.event);
    timers_.erase(it);
    return true;
  }

  void rearm_all() {
    for (auto& [id, timer] : timers_)
      arm(id, timer);
  }

 private:
  struct Timer {
    MonoTime deadline;
    Callback fn;
    std::uint64_t generation;  // an event held over a pause may outlive a re-arm
    Scheduler::EventId event;
  };

  void arm(TimerId id, Timer& timer) {
    const std::uint64_t generation = ++timer.generation;
    const SimTime when = world_.node(id_).clock_model.true_at(timer.deadline.time_since_epoch());
    if (timer.event != 0) world_.scheduler_.cancel(timer.event);
    timer.event = world_.node_event(id_, incarnation_, when,
                                    [this, id, generation] { fire(id, generation); });
  }

  void fire(TimerId id, std::uint64_t generation) {
    auto it = timers_.find(id);
    if (it == timers_.end() || it->second.generation != generation) return;  // cancelled/re-armed
    Callback fn = std::move(it->second.fn);
    timers_.erase(it);
    fn();
  }

  World& world_;
  NodeId id_;
  std::uint32_t incarnation_;
  Rng entropy_;
  TimerId next_id_ = 1;
  std::map<TimerId, Timer> timers_;
};

// ---- Peer messages -------------------------------------------------------------------

class SimPeerEndpoint final : public PeerEndpoint {
 public:
  SimPeerEndpoint(World& world, NodeId id, Executor& executor)
      : world_(world), id_(id), inbox_(executor) {}

  NodeId self() const override { return id_; }
  void send(NodeId to, std::string payload) override {
    world_.send_datagram(id_, to, std::move(payload));
  }

  Task<PeerMessage> receive() override { co_return co_await inbox_.pop(); }

  void deliver(PeerMessage message) { (void)inbox_.push(std::move(message)); }

 private:
  World& world_;
  NodeId id_;
  Mailbox<PeerMessage> inbox_;
};

// ---- Redis connections (client side) ---------------------------------------------

// The simulator's driver of the production connection (core/conn): a ByteLink whose
// bytes travel the simulated network as TCP segments (cut anywhere, delayed, lost
// with the rest of their stream, reset). Everything else is the machine's.
class SimLink final : public conn::ByteLink {
 public:
  SimLink(World& world, NodeId client, NodeId server, Executor& executor)
      : world_(world), client_(client), server_(server), executor_(executor) {}
  ~SimLink() override {
    *alive_ = false;
    if (conn_ != 0) close(attempt_);
  }

  [[nodiscard]] NodeId client() const { return client_; }
  [[nodiscard]] NodeId server() const { return server_; }

  void open(conn::Attempt attempt, conn::LinkEvents& events) override {
    if (conn_ != 0) close(attempt_);
    attempt_ = attempt;
    events_ = &events;
    opening_ = true;
    conn_ = world_.register_connection(this);
    world_.send_segment(conn_, true, client_, server_,
                        [&world = world_, server = server_, conn = conn_, client = client_] {
                          world.server_receive_syn(server, conn, client);
                        });
  }

  void write(conn::Attempt attempt, std::string_view bytes) override {
    if (attempt != attempt_ || conn_ == 0) return;
    for (std::string& segment : world_.segments(client_, server_, bytes)) {
      world_.send_segment(conn_, true, client_, server_,
                          [&world = world_, server = server_, conn = conn_, client = client_,
                           segment = std::move(segment)]() mutable {
                            world.server_receive_bytes(server, conn, client, std::move(segment));
                          });
    }
    // The bytes are in the network's hands: the write is done (TCP's send buffer).
    executor_.post([this, alive = alive_, attempt] {
      if (*alive && attempt == attempt_ && events_ != nullptr) events_->on_write_done(attempt);
    });
  }

  void close(conn::Attempt attempt) override {
    if (attempt != attempt_) return;
    if (conn_ != 0) {
      world_.send_segment(conn_, true, client_, server_,
                          [&world = world_, server = server_, conn = conn_] {
                            world.server_receive_fin(server, conn);
                          });
      world_.unregister_connection(conn_);
      world_.keepalive_after_close(conn_, server_);
    }
    conn_ = 0;
    events_ = nullptr;
    opening_ = false;
  }

  // From the network (each is its own scheduler event, never inside open/write/close).
  void on_syn_ack() {
    if (events_ == nullptr || !opening_) return;
    opening_ = false;
    events_->on_opened(attempt_);
  }
  void on_bytes(std::string_view bytes) {
    if (events_ != nullptr && !opening_) events_->on_bytes(attempt_, bytes);
  }
  void on_reset() {
    if (events_ == nullptr) return;
    if (opening_) {
      events_->on_open_failed(attempt_, "connection refused");
    } else {
      events_->on_closed(attempt_, "connection reset by peer");
    }
  }
  void on_fin() {
    if (events_ != nullptr) events_->on_closed(attempt_, "end of stream");
  }

 private:
  World& world_;
  NodeId client_;
  NodeId server_;
  Executor& executor_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  conn::LinkEvents* events_ = nullptr;
  conn::Attempt attempt_ = 0;
  std::uint64_t conn_ = 0;
  bool opening_ = false;
};

}  // namespace distkit::sim

#endif  // DISTKIT_SIM_WORLD_WORLD_INTERNAL_H_
