#include "distkit/sim/world/world.h"

#include <utility>

#include "distkit/core/conn/machine_connection.h"
#include "distkit/sim/world/cluster_control.h"
#include "sim/world/world_internal.h"

namespace distkit::sim {

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
  options.address = world_.name(server);
  options.jitter_seed = executor_->entropy();
  return std::make_unique<conn::MachineConnection>(
      *executor_, std::make_unique<SimLink>(world_, id_, server, *executor_), std::move(options));
}

namespace {

// A connection to an address no server has: every open fails, as with an unknown host.
class UnresolvedLink final : public conn::ByteLink {
 public:
  UnresolvedLink(std::string address, Executor& executor)
      : address_(std::move(address)), executor_(executor) {}
  ~UnresolvedLink() override { *alive_ = false; }

  void open(conn::Attempt attempt, conn::LinkEvents& events) override {
    attempt_ = attempt;
    executor_.post([this, alive = alive_, attempt, &events] {
      if (*alive && attempt == attempt_) {
        events.on_open_failed(attempt, "no such host: " + address_);
      }
    });
  }
  void write(conn::Attempt, std::string_view) override {}
  void close(conn::Attempt attempt) override {
    if (attempt == attempt_) attempt_ = 0;
  }

 private:
  std::string address_;
  Executor& executor_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  conn::Attempt attempt_ = 0;
};

}  // namespace

std::unique_ptr<RedisConnection> NodeContext::connect_redis(std::string_view address,
                                                            ConnectionOptions options) {
  if (std::optional<NodeId> server = world_.find_server(address)) {
    return connect_redis(*server, std::move(options));
  }
  options.address = std::string(address);
  options.jitter_seed = executor_->entropy();
  return std::make_unique<conn::MachineConnection>(
      *executor_, std::make_unique<UnresolvedLink>(std::string(address), *executor_),
      std::move(options));
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
  if (n.server_options.address.empty()) n.server_options.address = n.name + ":6379";
  if (!addresses_.emplace(n.server_options.address, id).second) {
    die("two servers at " + n.server_options.address);
  }
  n.rng = std::make_unique<Rng>(Rng(options_.seed).derive("server/" + n.name));
  return id;
}

void World::start_instance(NodeId id) {
  Node& n = node(id);
  Rng rng = Rng(options_.seed).derive("node/" + n.name).derive(n.incarnation);
  n.context.reset(new NodeContext(*this, id, n.incarnation, rng));
  if (auto disk = disks_.find(id); disk != disks_.end()) attach_disk(n, *disk->second);
  n.context->spawn(n.main(*n.context));
}

void World::attach_disk(Node& n, SimDisk& disk) {
  disk.set_sync_latency(n.context->executor(), options_.disk_sync_min, options_.disk_sync_max);
}

SimDisk& World::disk(NodeId id) {
  Node& n = node(id);
  if (n.server) die("disk(" + n.name + "): Redis servers have no simulated disk");
  std::unique_ptr<SimDisk>& disk = disks_[id];
  if (!disk) {
    disk = std::make_unique<SimDisk>(Rng(options_.seed).derive("disk/" + n.name).next_u64());
    if (n.context) attach_disk(n, *disk);
  }
  return *disk;
}

void World::set_disk_slowdown(NodeId id, Duration extra) {
  trace_event(id, "disk-slowdown", static_cast<std::uint64_t>(extra.count()));
  disk(id).set_extra_sync_latency(extra);
}

void World::fail_disk_syncs(NodeId id, Duration length) {
  trace_event(id, "disk-sync-failing", static_cast<std::uint64_t>(length.count()));
  disk(id).set_sync_fails(true);
  const std::uint64_t generation = ++disk_fault_generation_[id];
  scheduler_.at(now() + length, [this, id, generation] {
    if (disk_fault_generation_[id] != generation) return;  // a later fault took over
    trace_event(id, "disk-sync-ok", 0);
    disk(id).set_sync_fails(false);
  });
}

std::uint32_t World::incarnation(NodeId id) const {
  return node(id).incarnation;
}

void World::heal_disk(NodeId id) {
  trace_event(id, "disk-healed", 0);
  ++disk_fault_generation_[id];
  disk(id).set_extra_sync_latency(Duration(0));
  disk(id).set_sync_fails(false);
}

SimDisk& NodeContext::disk() {
  return world_.disk(id_);
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
const std::string& World::server_address(NodeId server) const {
  const Node& n = node(server);
  if (!n.server) die(n.name + " is not a Redis server");
  return n.server_options.address;
}
std::optional<NodeId> World::find_server(std::string_view address) const {
  auto it = addresses_.find(address);
  if (it == addresses_.end()) return std::nullopt;
  return it->second;
}

void World::attach_cluster(std::unique_ptr<ClusterControl> cluster) {
  if (cluster_ != nullptr) die("a world has at most one cluster");
  cluster_ = std::move(cluster);
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

// ---- Node faults -------------------------------------------------------------------

void World::crash(NodeId id) {
  crash_node(id, std::nullopt);
}

void World::crash(NodeId id, CrashLoss loss) {
  crash_node(id, loss);
}

void World::crash_node(NodeId id, std::optional<CrashLoss> loss) {
  Node& n = node(id);
  if (!n.alive) return;
  if (running_node_ == id && !n.server) {
    scheduler_.at(now(), [this, id, loss, incarnation = n.incarnation] {
      if (node(id).incarnation == incarnation) crash_node(id, loss);
    });
    return;
  }
  if (auto disk = disks_.find(id); loss && disk != disks_.end()) {
    trace_event(id, "disk-crash", static_cast<std::uint64_t>(*loss));
    disk->second->crash(*loss);
  }
  trace_event(id, "crash", n.incarnation);
  if (n.server) {
    server_crash(n);
    if (cluster_ != nullptr && cluster_->is_member(id)) cluster_->on_crash(id);
    return;
  }
  if (crash_observer_) crash_observer_(id);
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
    ++n.condition_generation;
    n.model->set_condition(ServerCondition::kNormal);
    if (cluster_ != nullptr && cluster_->is_member(id)) cluster_->on_restart(id);
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

}  // namespace distkit::sim
