#include "distkit/sim/world.h"

#include <cstdio>
#include <cstdlib>
#include <deque>
#include <utility>

#include "distkit/core/seam/request_batch.h"

namespace distkit::sim {
namespace {

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "distkit::sim::World: %s\n", message.c_str());
  std::abort();
}

constexpr std::int64_t kMillion = 1'000'000;

}  // namespace

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
  bool processing = false;
  struct Queued {
    std::uint64_t conn;
    RedisCommand command;
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
      : world_(world), id_(id), executor_(executor) {}

  NodeId self() const override { return id_; }
  void send(NodeId to, std::string payload) override {
    world_.send_datagram(id_, to, std::move(payload));
  }

  Task<PeerMessage> receive() override {
    if (inbox_.empty()) co_await Wait{this};
    PeerMessage message = std::move(inbox_.front());
    inbox_.pop_front();
    co_return message;
  }

  void deliver(PeerMessage message) {
    inbox_.push_back(std::move(message));
    if (waiter_) {
      std::coroutine_handle<> waiter = std::exchange(waiter_, {});
      executor_.post([waiter] { waiter.resume(); });
    }
  }

 private:
  struct Wait {
    SimPeerEndpoint* endpoint;
    bool await_ready() const noexcept { return !endpoint->inbox_.empty(); }
    void await_suspend(std::coroutine_handle<> handle) { endpoint->waiter_ = handle; }
    void await_resume() const noexcept {}
  };

  World& world_;
  NodeId id_;
  Executor& executor_;
  std::deque<PeerMessage> inbox_;
  std::coroutine_handle<> waiter_;
};

// ---- Redis connections (client side) ---------------------------------------------

class SimRedisConnection final : public RedisConnection {
 public:
  SimRedisConnection(World& world, NodeId client, std::uint32_t incarnation, NodeId server,
                     ConnectionOptions options, Executor& executor)
      : world_(world),
        client_(client),
        incarnation_(incarnation),
        server_(server),
        options_(options),
        executor_(executor) {}

  [[nodiscard]] NodeId client() const { return client_; }
  [[nodiscard]] NodeId server() const { return server_; }

  // close() cancels the connect timer; fail_in_flight() the request timers.
  ~SimRedisConnection() override {
    if (state_ != State::kDisconnected) close(/*send_fin=*/true);
    fail_in_flight(cancelled_error("connection destroyed"));
    fail_waiting(cancelled_error("connection destroyed"));
  }

  Task<std::vector<Result<RedisReply>>> execute_pipeline(
      std::vector<RedisCommand> commands) override {
    auto batch = std::make_shared<RequestBatch>(commands.size(), executor_);
    if (in_flight_.size() + waiting_.size() + commands.size() > options_.max_pending) {
      for (std::size_t i = 0; i < commands.size(); ++i) {
        RequestBatch::complete(
            batch, i,
            resource_exhausted_error("more than " + std::to_string(options_.max_pending) +
                                     " requests pending on the connection"));
      }
    }
    for (std::size_t i = 0; !batch->done() && i < commands.size(); ++i) {
      submit(Request{std::move(commands[i]), batch, i, 0});
    }
    co_await RequestBatch::wait(batch);
    co_return batch->take();
  }

  void on_syn_ack() {
    if (state_ != State::kConnecting) return;
    state_ = State::kConnected;
    executor_.cancel(connect_timer_);
    connect_timer_ = 0;
    while (!waiting_.empty()) {
      Request r = std::move(waiting_.front());
      waiting_.pop_front();
      send(std::move(r));
    }
  }

  void on_reset() {
    if (state_ == State::kConnecting) {
      fail_waiting(unavailable_error("connection to " + world_.name(server_) + " refused"));
    } else if (state_ == State::kConnected) {
      fail_in_flight(unknown_outcome_error("connection to " + world_.name(server_) +
                                           " reset with the request in flight"));
    }
    close(/*send_fin=*/false);
  }

  void on_reply(RedisReply reply) {
    if (in_flight_.empty()) return;  // a reply after we gave up on its request
    Request r = std::move(in_flight_.front());
    in_flight_.pop_front();
    executor_.cancel(r.timer);
    if (reply.is_error()) {
      complete(r, server_error(reply.text()));
    } else {
      complete(r, std::move(reply));
    }
  }

 private:
  enum class State : std::uint8_t { kDisconnected, kConnecting, kConnected };

  struct Request {
    RedisCommand command;
    std::shared_ptr<RequestBatch> batch;
    std::size_t index;
    Executor::TimerId timer;
  };

  void submit(Request r) {
    if (r.command.empty()) {
      complete(r, invalid_argument_error("empty Redis command"));
      return;
    }
    if (state_ == State::kConnected) {
      send(std::move(r));
      return;
    }
    waiting_.push_back(std::move(r));
    if (state_ == State::kDisconnected) connect();
  }

  void connect() {
    conn_ = world_.register_connection(this);
    state_ = State::kConnecting;
    const std::uint64_t conn = conn_;
    world_.send_segment(conn, true, client_, server_,
                        [&world = world_, server = server_, conn, client = client_] {
                          world.server_receive_syn(server, conn, client);
                        });
    connect_timer_ = executor_.schedule_after(options_.connect_timeout, [this, conn] {
      connect_timer_ = 0;
      if (conn != conn_ || state_ != State::kConnecting) return;
      fail_waiting(unavailable_error("connect to " + world_.name(server_) + " timed out"));
      close(/*send_fin=*/true);
    });
  }

  void send(Request r) {
    const std::uint64_t conn = conn_;
    r.timer = executor_.schedule_after(options_.request_timeout, [this, conn] {
      if (conn != conn_) return;
      fail_in_flight(unknown_outcome_error(
          "no reply from " + world_.name(server_) + " within " +
          std::to_string(
              std::chrono::duration_cast<std::chrono::milliseconds>(options_.request_timeout)
                  .count()) +
          "ms"));
      close(/*send_fin=*/true);
    });
    world_.send_segment(conn, true, client_, server_,
                        [&world = world_, server = server_, conn, client = client_,
                         command = std::move(r.command)]() mutable {
                          world.server_receive_request(server, conn, client, std::move(command));
                        });
    r.command.clear();
    in_flight_.push_back(std::move(r));
  }

  void complete(Request& r, Result<RedisReply> outcome) {
    RequestBatch::complete(r.batch, r.index, std::move(outcome));
  }

  void fail_in_flight(const Status& status) {
    std::deque<Request> failed = std::move(in_flight_);
    in_flight_.clear();
    for (Request& r : failed) {
      executor_.cancel(r.timer);
      complete(r, status);
    }
  }

  void fail_waiting(const Status& status) {
    std::deque<Request> failed = std::move(waiting_);
    waiting_.clear();
    for (Request& r : failed)
      complete(r, status);
  }

  void close(bool send_fin) {
    if (send_fin) {
      world_.send_segment(conn_, true, client_, server_,
                          [&world = world_, server = server_, conn = conn_] {
                            world.server_receive_fin(server, conn);
                          });
    }
    world_.unregister_connection(conn_);
    if (connect_timer_ != 0) executor_.cancel(connect_timer_);
    connect_timer_ = 0;
    conn_ = 0;
    state_ = State::kDisconnected;
  }

  World& world_;
  NodeId client_;
  std::uint32_t incarnation_;
  NodeId server_;
  ConnectionOptions options_;
  Executor& executor_;
  State state_ = State::kDisconnected;
  std::uint64_t conn_ = 0;
  Executor::TimerId connect_timer_ = 0;
  std::deque<Request> in_flight_;  // sent, in order
  std::deque<Request> waiting_;    // not yet sent (connecting)
};

// ---- NodeContext ---------------------------------------------------------------------

NodeContext::NodeContext(World& world, NodeId id, std::uint32_t incarnation, Rng rng)
    : world_(world),
      id_(id),
      incarnation_(incarnation),
      rng_(rng),
      executor_(std::make_unique<NodeExecutor>(world, id, incarnation, rng.derive("entropy"))),
      peers_(std::make_unique<SimPeerEndpoint>(world, id, *executor_)) {}

NodeContext::~NodeContext() {
  scope_.destroy_all();
}

const std::string& NodeContext::name() const {
  return world_.name(id_);
}
const std::string& NodeContext::identity() const {
  return world_.node(id_).identity;
}
const Clock& NodeContext::clock() const {
  return *world_.node(id_).clock;
}
Executor& NodeContext::executor() {
  return *executor_;
}
PeerEndpoint& NodeContext::peers() {
  return *peers_;
}

std::unique_ptr<RedisConnection> NodeContext::connect_redis(NodeId server,
                                                            ConnectionOptions options) {
  if (!world_.is_server(server))
    die("connect_redis: node " + world_.name(server) + " is not a Redis server");
  return std::make_unique<SimRedisConnection>(world_, id_, incarnation_, server, options,
                                              *executor_);
}

void NodeContext::spawn(Task<void> task) {
  distkit::spawn(*executor_, &scope_, std::move(task));
}

void NodeContext::trace(std::string_view what) {
  world_.trace(id_, what);
}

// ---- World -----------------------------------------------------------------------------

World::World(WorldOptions options)
    : options_(options), network_rng_(Rng(options.seed).derive("network")) {}

World::~World() {
  // Instances first: their coroutines and connections refer to the rest.
  for (auto& n : nodes_) {
    if (n->context == nullptr) continue;
    n->alive = false;
    ++n->incarnation;
    n->context.reset();
  }
}

World::Node& World::node(NodeId id) {
  if (id >= nodes_.size()) die("no node with id " + std::to_string(id));
  return *nodes_[id];
}
const World::Node& World::node(NodeId id) const {
  if (id >= nodes_.size()) die("no node with id " + std::to_string(id));
  return *nodes_[id];
}

NodeId World::add_node(std::string name, bool server) {
  if (name.empty()) die("a node needs a name");
  if (names_.contains(name)) die("two nodes named " + name);
  auto n = std::make_unique<Node>();
  n->id = static_cast<NodeId>(nodes_.size());
  n->name = name;
  n->identity = name;
  n->server = server;
  Rng clock_rng = Rng(options_.seed).derive("clock/" + name);
  // Monotonic clocks start at an arbitrary reading, as on real machines; wall time
  // reads start_wall at true time 0.
  n->clock_model.mono_base = std::chrono::seconds(clock_rng.between(1, 1'000'000));
  n->clock_model.anchor_true = now();
  n->clock_model.anchor_local = n->clock_model.mono_base + now();
  n->clock = std::make_unique<NodeClock>(*this, n->clock_model);
  names_.emplace(name, n->id);
  nodes_.push_back(std::move(n));
  trace_event(nodes_.back()->id, server ? "add-server" : "add-instance", 0, name);
  return nodes_.back()->id;
}

NodeId World::add_instance(std::string name, InstanceMain main) {
  const NodeId id = add_node(std::move(name), false);
  node(id).main = std::move(main);
  start_instance(id);
  return id;
}

NodeId World::add_redis_server(std::string name, std::unique_ptr<ServerModel> model,
                               ServerOptions options) {
  if (model == nullptr) die("add_redis_server: no model");
  const NodeId id = add_node(std::move(name), true);
  Node& n = node(id);
  n.model = std::move(model);
  n.server_options = options;
  n.rng = std::make_unique<Rng>(Rng(options_.seed).derive("server/" + n.name));
  return id;
}

void World::start_instance(NodeId id) {
  Node& n = node(id);
  Rng rng = Rng(options_.seed).derive("node/" + n.name).derive(n.incarnation);
  n.context.reset(new NodeContext(*this, id, n.incarnation, rng));
  n.context->spawn(n.main(*n.context));
}

const std::string& World::name(NodeId id) const {
  return node(id).name;
}

std::vector<NodeId> World::nodes() const {
  std::vector<NodeId> out;
  for (const auto& n : nodes_)
    out.push_back(n->id);
  return out;
}
std::vector<NodeId> World::instances() const {
  std::vector<NodeId> out;
  for (const auto& n : nodes_) {
    if (!n->server) out.push_back(n->id);
  }
  return out;
}
std::vector<NodeId> World::servers() const {
  std::vector<NodeId> out;
  for (const auto& n : nodes_) {
    if (n->server) out.push_back(n->id);
  }
  return out;
}
bool World::is_server(NodeId id) const {
  return node(id).server;
}

bool World::run_until(const std::function<bool()>& done, SimTime limit) {
  while (!done()) {
    std::optional<SimTime> next = scheduler_.next_time();
    if (!next || *next > limit) {
      scheduler_.run_until(limit);
      return done();
    }
    scheduler_.step();
  }
  return true;
}

Scheduler::EventId World::node_event(NodeId id, std::uint32_t incarnation, SimTime when,
                                     std::function<void()> fn) {
  return scheduler_.at(when, [this, id, incarnation, fn = std::move(fn)]() mutable {
    Node& n = node(id);
    if (!n.alive || n.incarnation != incarnation) return;
    if (n.paused) {
      n.held.push_back(std::move(fn));
      return;
    }
    running_node_ = id;
    fn();
    running_node_.reset();
  });
}

void World::arrival_event(NodeId id, SimTime when, std::function<void()> fn) {
  scheduler_.at(when, [this, id, fn = std::move(fn)]() mutable {
    Node& n = node(id);
    if (!n.server && !n.alive) return;
    if (n.paused) {
      n.held.push_back(std::move(fn));
      return;
    }
    fn();
  });
}

void World::trace_event(NodeId id, std::string_view kind, std::uint64_t detail,
                        std::string_view text) {
  std::uint64_t h = mix_hash(trace_hash_, static_cast<std::uint64_t>(now().count()));
  h = mix_hash(h, id);
  h = mix_hash(h, kind);
  h = mix_hash(h, detail);
  trace_hash_ = mix_hash(h, text);
  if (options_.record_trace) {
    char prefix[64];
    std::snprintf(prefix, sizeof prefix, "%.6f ", std::chrono::duration<double>(now()).count());
    std::string line = prefix;
    line += id < nodes_.size() ? nodes_[id]->name : "?";
    line += ' ';
    line += kind;
    if (!text.empty()) {
      line += ' ';
      line += text;
    }
    trace_lines_.push_back(std::move(line));
  }
}

void World::trace(NodeId id, std::string_view what) {
  trace_event(id, "note", 0, what);
}

// ---- Network ---------------------------------------------------------------------------

const LinkConfig& World::link(NodeId from, NodeId to) const {
  auto it = links_.find({from, to});
  return it == links_.end() ? options_.default_link : it->second;
}

Duration World::sample_latency(const LinkConfig& link, Rng& rng) {
  const Latency& l = link.latency;
  Duration d = l.min;
  if (l.max > l.min)
    d += Duration(static_cast<std::int64_t>(rng.below((l.max - l.min).count() + 1)));
  if (l.tail_probability > 0 && rng.chance(l.tail_probability)) d += l.tail;
  return d;
}

bool World::link_blocked(NodeId from, NodeId to) const {
  auto it = blocked_.find({from, to});
  return it != blocked_.end() && it->second;
}

void World::send_segment(std::uint64_t conn, bool to_server, NodeId from, NodeId to,
                         std::function<void()> deliver) {
  auto& slot = streams_[{conn, to_server}];
  if (!slot) slot = std::make_unique<Stream>();
  Stream& stream = *slot;
  const LinkConfig& config = link(from, to);
  if (stream.dead || link_blocked(from, to) || network_rng_.chance(config.loss)) {
    // TCP: once a segment is lost, nothing after it on this stream gets through.
    stream.dead = true;
    trace_event(from, "segment-lost", conn, name(to));
    return;
  }
  const SimTime arrival =
      std::max(now() + sample_latency(config, network_rng_), stream.last_arrival);
  stream.last_arrival = arrival;
  arrival_event(to, arrival, [this, conn, to_server, from, to, deliver = std::move(deliver)] {
    // A partition that began while the segment was on its way drops it too.
    if (link_blocked(from, to)) {
      if (auto it = streams_.find({conn, to_server}); it != streams_.end()) it->second->dead = true;
      trace_event(to, "segment-lost", conn, name(from));
      return;
    }
    deliver();
  });
}

void World::close_stream(std::uint64_t conn) {
  streams_.erase({conn, true});
  streams_.erase({conn, false});
}

void World::send_datagram(NodeId from, NodeId to, std::string payload) {
  if (to >= nodes_.size()) return;  // unknown node: dropped, as the contract says
  const LinkConfig& config = link(from, to);
  const std::uint64_t digest = mix_hash(0, payload);
  if (link_blocked(from, to) || network_rng_.chance(config.loss)) {
    trace_event(from, "message-lost", digest, name(to));
    return;
  }
  const SimTime arrival = now() + sample_latency(config, network_rng_);
  arrival_event(to, arrival, [this, from, to, digest, payload = std::move(payload)]() mutable {
    Node& n = node(to);
    if (link_blocked(from, to) || n.context == nullptr) {
      trace_event(to, "message-lost", digest, name(from));
      return;
    }
    trace_event(to, "message", digest, name(from));
    n.context->peers_->deliver(PeerMessage{from, std::move(payload)});
  });
}

void World::send_to_client(NodeId server, NodeId client, std::uint64_t conn,
                           std::function<void(SimRedisConnection&)> fn) {
  send_segment(conn, false, server, client, [this, conn, fn = std::move(fn)] {
    auto it = connections_.find(conn);
    if (it != connections_.end()) fn(*it->second);
  });
}

std::uint64_t World::register_connection(SimRedisConnection* connection) {
  const std::uint64_t conn = next_conn_++;
  connections_.emplace(conn, connection);
  return conn;
}

void World::unregister_connection(std::uint64_t conn) {
  connections_.erase(conn);
}

void World::set_link(NodeId from, NodeId to, LinkConfig config) {
  (void)node(from), (void)node(to);
  links_[{from, to}] = config;
  trace_event(from, "set-link", to);
}
void World::set_link_both(NodeId a, NodeId b, LinkConfig config) {
  set_link(a, b, config);
  set_link(b, a, config);
}
void World::set_default_link(LinkConfig config) {
  options_.default_link = config;
  trace_event(0, "set-default-link", 0);
}
void World::partition_one_way(NodeId from, NodeId to) {
  (void)node(from), (void)node(to);
  blocked_[{from, to}] = true;
  trace_event(from, "partition", to, name(to));
}
void World::partition(NodeId a, NodeId b) {
  partition_one_way(a, b);
  partition_one_way(b, a);
}
void World::isolate(NodeId id) {
  for (const auto& other : nodes_) {
    if (other->id != id) partition(id, other->id);
  }
}
void World::heal(NodeId a, NodeId b) {
  blocked_.erase({a, b});
  blocked_.erase({b, a});
  trace_event(a, "heal", b, name(b));
}
void World::heal_all() {
  blocked_.clear();
  links_.clear();
  trace_event(0, "heal-all", 0);
}

void World::reset_connections(NodeId id) {
  Node& n = node(id);
  trace_event(id, "reset-connections", 0);
  if (n.server) {
    std::map<std::uint64_t, Session> sessions = std::move(n.sessions);
    n.sessions.clear();
    for (const auto& [conn, session] : sessions) {
      n.model->disconnect(conn);
      server_send_reset(id, conn, session.client);
    }
    return;
  }
  // The client side: each of this node's connections sees the reset at once, and
  // the server learns of it through the network.
  std::vector<std::pair<std::uint64_t, SimRedisConnection*>> mine;
  for (const auto& [conn, c] : connections_) {
    if (c->client() == id) mine.emplace_back(conn, c);
  }
  for (const auto& [conn, c] : mine) {
    const NodeId server = c->server();
    c->on_reset();
    send_segment(conn, true, id, server,
                 [this, server, conn = conn] { server_receive_fin(server, conn); });
  }
}

// ---- Server side -----------------------------------------------------------------

void World::server_send_reset(NodeId server, std::uint64_t conn, NodeId client) {
  // A RST travels like any segment, but does not care whether the stream had died.
  if (auto it = streams_.find({conn, false}); it != streams_.end()) it->second->dead = false;
  send_to_client(server, client, conn, [](SimRedisConnection& c) { c.on_reset(); });
}

void World::server_receive_syn(NodeId server, std::uint64_t conn, NodeId client) {
  Node& s = node(server);
  if (!s.alive) {
    trace_event(server, "refused", conn, name(client));
    server_send_reset(server, conn, client);
    return;
  }
  s.sessions[conn] = Session{client};
  trace_event(server, "accept", conn, name(client));
  send_to_client(server, client, conn, [](SimRedisConnection& c) { c.on_syn_ack(); });
}

void World::server_receive_request(NodeId server, std::uint64_t conn, NodeId client,
                                   RedisCommand command) {
  Node& s = node(server);
  if (!s.alive || !s.sessions.contains(conn)) {
    server_send_reset(server, conn, client);
    return;
  }
  s.queue.push_back(Node::Queued{conn, std::move(command)});
  if (!s.processing) {
    s.processing = true;
    node_event(server, s.incarnation, std::max(now(), s.busy_until),
               [this, server] { server_process(server); });
  }
}

void World::server_process(NodeId server) {
  Node& s = node(server);
  while (!s.queue.empty() && !s.sessions.contains(s.queue.front().conn))
    s.queue.pop_front();
  if (s.queue.empty()) {
    s.processing = false;
    return;
  }
  Node::Queued job = std::move(s.queue.front());
  s.queue.pop_front();
  ServerEnv env{s.clock->wall_now(), s.rng.get(), Duration(0)};
  RedisReply reply = s.model->execute(job.conn, job.command, env);
  std::uint64_t digest = 0;
  for (const std::string& arg : job.command)
    digest = mix_hash(digest, arg);
  trace_event(server, "exec", mix_hash(digest, reply.to_string()),
              options_.record_trace ? job.command.front() + " -> " + reply.to_string() : "");
  s.busy_until = now() + s.server_options.service_time + s.slowdown + env.extra_busy;
  const NodeId client = s.sessions.at(job.conn).client;
  node_event(server, s.incarnation, s.busy_until,
             [this, server, client, conn = job.conn, reply = std::move(reply)]() mutable {
               send_to_client(server, client, conn,
                              [reply = std::move(reply)](SimRedisConnection& c) mutable {
                                c.on_reply(std::move(reply));
                              });
               server_process(server);
             });
}

void World::server_receive_fin(NodeId server, std::uint64_t conn) {
  Node& s = node(server);
  if (s.sessions.erase(conn) > 0) s.model->disconnect(conn);
  close_stream(conn);
}

void World::server_crash(Node& s) {
  s.alive = false;
  ++s.incarnation;
  s.queue.clear();
  s.processing = false;
  s.held.clear();
  s.paused = false;
  s.busy_until = now();
  // The process is gone; its host's kernel resets every connection.
  std::map<std::uint64_t, Session> sessions = std::move(s.sessions);
  s.sessions.clear();
  for (const auto& [conn, session] : sessions) {
    s.model->disconnect(conn);
    server_send_reset(s.id, conn, session.client);
  }
}

// ---- Node faults -------------------------------------------------------------------

void World::crash(NodeId id) {
  Node& n = node(id);
  if (!n.alive) return;
  if (running_node_ == id && !n.server) {
    scheduler_.at(now(), [this, id, incarnation = n.incarnation] {
      if (node(id).incarnation == incarnation) crash(id);
    });
    return;
  }
  trace_event(id, "crash", n.incarnation);
  if (n.server) {
    server_crash(n);
    return;
  }
  n.alive = false;
  ++n.incarnation;
  n.held.clear();
  n.paused = false;
  n.context.reset();  // its coroutines and connections die here
}

void World::restart(NodeId id, Identity identity) {
  Node& n = node(id);
  if (n.alive) die("restart of " + n.name + ", which is running");
  n.alive = true;
  if (n.server) {
    trace_event(id, "restart", n.incarnation);
    ServerEnv env{n.clock->wall_now(), n.rng.get(), Duration(0)};
    n.model->restart(DataLoss::kAll, env);
    return;
  }
  if (identity == Identity::kNew) {
    ++n.identity_generation;
    n.identity = n.name + "#" + std::to_string(n.identity_generation);
  }
  trace_event(id, "restart", n.incarnation, n.identity);
  start_instance(id);
}

void World::pause(NodeId id) {
  Node& n = node(id);
  if (!n.alive || n.paused) return;
  n.paused = true;
  trace_event(id, "pause", 0);
}

void World::resume(NodeId id) {
  Node& n = node(id);
  if (!n.paused) return;
  n.paused = false;
  trace_event(id, "resume", n.held.size());
  // Everything that came due while stopped runs now, in the order it came due.
  std::vector<std::function<void()>> held = std::move(n.held);
  n.held.clear();
  for (auto& fn : held)
    node_event(id, n.incarnation, now(), std::move(fn));
}

bool World::alive(NodeId id) const {
  return node(id).alive;
}
bool World::paused(NodeId id) const {
  return node(id).paused;
}

// ---- Clock faults --------------------------------------------------------------------

void World::set_clock_offset(NodeId id, Duration offset) {
  node(id).clock_model.wall_offset = offset;
  trace_event(id, "clock-offset", static_cast<std::uint64_t>(offset.count()));
}

void World::set_clock_drift_ppm(NodeId id, std::int64_t ppm) {
  if (ppm <= -kMillion / 2 || ppm >= kMillion) {
    die("clock drift of " + std::to_string(ppm) + " ppm is outside (-500000, 1000000)");
  }
  Node& n = node(id);
  n.clock_model.set_drift(now(), ppm);
  trace_event(id, "clock-drift", static_cast<std::uint64_t>(ppm));
  if (n.context != nullptr) n.context->executor_->rearm_all();
}

void World::jump_clock(NodeId id, Duration delta) {
  node(id).clock_model.wall_offset += delta;
  trace_event(id, "clock-jump", static_cast<std::uint64_t>(delta.count()));
}

const Clock& World::clock(NodeId id) const {
  return *node(id).clock;
}

WallTime World::true_wall_time() const {
  return options_.start_wall + now();
}

// ---- Redis server faults ---------------------------------------------------------------

void World::restart_redis(NodeId server, DataLoss loss) {
  Node& s = node(server);
  if (!s.server) die(s.name + " is not a Redis server");
  trace_event(server, "redis-restart", static_cast<std::uint64_t>(loss));
  if (s.alive) server_crash(s);
  s.alive = true;
  ServerEnv env{s.clock->wall_now(), s.rng.get(), Duration(0)};
  s.model->restart(loss, env);
}

void World::flush_scripts(NodeId server) {
  trace_event(server, "script-flush", 0);
  server_model(server).flush_scripts();
}

void World::set_server_slowdown(NodeId server, Duration extra_per_command) {
  Node& s = node(server);
  if (!s.server) die(s.name + " is not a Redis server");
  s.slowdown = extra_per_command;
  trace_event(server, "slowdown", static_cast<std::uint64_t>(extra_per_command.count()));
}

ServerModel& World::server_model(NodeId server) {
  Node& s = node(server);
  if (!s.server) die(s.name + " is not a Redis server");
  return *s.model;
}

}  // namespace distkit::sim
