// World: a deterministic simulated world of client instances and Redis servers.
//
//   sim::World world({.seed = 42});
//   NodeId redis = world.add_redis_server("redis", std::make_unique<MyModel>());
//   world.add_instance("a", [redis](sim::NodeContext& node) -> Task<void> {
//     auto conn = node.connect_redis(redis);
//     Result<RedisReply> r = co_await conn->execute({"INCR", "hits"});
//     ...
//   });
//   world.partition(a, redis);
//   world.run_for(std::chrono::seconds(10));
//
// Everything runs on the calling thread, in virtual time, from one seed: the same
// seed and the same calls give the same run, event for event (trace_hash()).
//
// Instances run the code under test through NodeContext: their own clock (offset,
// drift, jumps), executor, random stream, Redis connections and peer endpoint. A
// crash drops an instance's memory (its coroutines are destroyed, its timers never
// fire); a restart runs its main function again, with the same or a new identity.
//
// The network carries Redis traffic as TCP-like connections (ordered; a lost segment
// kills the rest of that direction until the client reconnects) and peer messages as
// datagrams (may be lost or reordered). Links have latency distributions and loss
// rates; partitions may be one-way. A request whose reply does not come within the
// connection's timeout completes with kUnknownOutcome, never with success or failure.
//
// Main functions are stored for the node's lifetime, so a capturing lambda coroutine
// is safe: its captures outlive its frames.
#ifndef DISTKIT_SIM_WORLD_WORLD_H_
#define DISTKIT_SIM_WORLD_WORLD_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "distkit/core/async/clock.h"
#include "distkit/core/async/executor.h"
#include "distkit/core/async/task.h"
#include "distkit/core/conn/connection_machine.h"
#include "distkit/core/seam/peer.h"
#include "distkit/core/seam/redis_connection.h"
#include "distkit/sim/disk/sim_disk.h"
#include "distkit/sim/world/rng.h"
#include "distkit/sim/world/scheduler.h"
#include "distkit/sim/world/server_model.h"

namespace distkit::sim {

// One-way delay of a message: uniform in [min, max], plus `tail` with probability
// `tail_probability` (a slow path: retransmission, GC pause on a router...).
struct Latency {
  Duration min = std::chrono::microseconds(100);
  Duration max = std::chrono::microseconds(500);
  double tail_probability = 0;
  Duration tail = std::chrono::nanoseconds(0);
};

struct LinkConfig {
  Latency latency;
  // Probability that a message on this link is lost.
  double loss = 0;
  // Probability that a peer message is delivered twice (each copy with its own
  // latency). Redis connections are streams and never duplicate.
  double duplicate = 0;
  // A Redis connection's bytes travel in segments: each write (and each reply) is cut
  // at random points into 1..max_segments of them, so parsers meet any split.
  std::size_t max_segments = 2;
};

struct WorldOptions {
  std::uint64_t seed = 1;
  LinkConfig default_link;
  // Wall time at the start of the run (before any node's skew).
  WallTime start_wall = WallTime(std::chrono::seconds(1767225600));  // 2026-01-01
  // Keep every trace line (else only the running hash): for debugging and reports.
  bool record_trace = false;
  // How long a sync of an instance's simulated disk takes (drawn in [min, max]).
  Duration disk_sync_min = std::chrono::microseconds(200);
  Duration disk_sync_max = std::chrono::milliseconds(3);
};

// A simulated Redis connection is production's: core/conn's state machine, driven
// over the simulated network. Its options are the machine's (timeouts, bounds,
// backoff, handshake, health check); `address` is set to the server's name and
// `jitter_seed` drawn from the node, so runs replay.
using ConnectionOptions = conn::MachineConfig;

struct ServerOptions {
  // Time the server is busy per command (it runs one command at a time).
  Duration service_time = std::chrono::microseconds(5);
  // "host:port" by which clients reach it (CLUSTER SLOTS and MOVED name nodes so);
  // empty: the server's name and ":6379". Unique in a world.
  std::string address;
};

enum class Identity : std::uint8_t { kSame, kNew };

class World;
class ClusterControl;
class NodeExecutor;
class SimPeerEndpoint;
class SimLink;

// What code running on an instance sees. Valid until the instance crashes.
class NodeContext {
 public:
  NodeContext(const NodeContext&) = delete;
  NodeContext& operator=(const NodeContext&) = delete;
  ~NodeContext();

  [[nodiscard]] NodeId id() const { return id_; }
  [[nodiscard]] const std::string& name() const;
  // The instance's identity: its name, then "name#2", "name#3"... after restarts with
  // a new identity. Code that registers itself (instance-aware counters) uses it.
  [[nodiscard]] const std::string& identity() const;
  // 0 for the first run, +1 per restart.
  [[nodiscard]] std::uint32_t incarnation() const { return incarnation_; }

  [[nodiscard]] const Clock& clock() const;
  [[nodiscard]] Executor& executor();
  // This incarnation's random stream (derived from the seed, node and incarnation).
  [[nodiscard]] Rng& rng() { return rng_; }
  [[nodiscard]] PeerEndpoint& peers();
  // The node's simulated disk (World::disk): it outlives this incarnation.
  [[nodiscard]] SimDisk& disk();

  // A connection to a simulated Redis server. It connects lazily, on first use.
  [[nodiscard]] std::unique_ptr<RedisConnection> connect_redis(NodeId server,
                                                               ConnectionOptions options = {});
  // The same, by the server's address ("host:port"). An address no server has gives
  // a connection whose every open fails ("no such host"), as a wrong DNS name would.
  [[nodiscard]] std::unique_ptr<RedisConnection> connect_redis(std::string_view address,
                                                               ConnectionOptions options = {});
  // Runs `task` in the background; it dies with the instance.
  void spawn(Task<void> task);
  // Adds a line to the world's trace (and its hash), e.g. an operation's outcome.
  void trace(std::string_view what);

 private:
  friend class World;
  NodeContext(World& world, NodeId id, std::uint32_t incarnation, Rng rng);

  World& world_;
  NodeId id_;
  std::uint32_t incarnation_;
  Rng rng_;
  std::unique_ptr<NodeExecutor> executor_;
  std::unique_ptr<SimPeerEndpoint> peers_;
  // Last member: destroyed first, so coroutines die before what they use.
  TaskScope scope_;
};

using InstanceMain = std::function<Task<void>(NodeContext&)>;

class World {
 public:
  explicit World(WorldOptions options = {});
  ~World();
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  // ---- Topology. Names are unique and non-empty (a duplicate aborts: a test bug).
  NodeId add_instance(std::string name, InstanceMain main);
  NodeId add_redis_server(std::string name, std::unique_ptr<ServerModel> model,
                          ServerOptions options = {});
  [[nodiscard]] const std::string& name(NodeId node) const;
  [[nodiscard]] std::vector<NodeId> nodes() const;
  [[nodiscard]] std::vector<NodeId> instances() const;
  [[nodiscard]] std::vector<NodeId> servers() const;
  [[nodiscard]] bool is_server(NodeId node) const;
  // A server's "host:port" (ServerOptions::address), and the server at an address.
  [[nodiscard]] const std::string& server_address(NodeId server) const;
  [[nodiscard]] std::optional<NodeId> find_server(std::string_view address) const;

  // ---- A simulated Redis Cluster (sim/cluster), if the world has one: it hears of
  // its servers' crashes and restarts, and the cluster fault kinds act through it.
  void attach_cluster(std::unique_ptr<ClusterControl> cluster);
  [[nodiscard]] ClusterControl* cluster() const { return cluster_.get(); }

  // ---- Time. Instances start running at the first step after add_instance().
  [[nodiscard]] SimTime now() const { return scheduler_.now(); }
  void run_for(Duration duration) { run_until(now() + duration); }
  void run_until(SimTime limit) { scheduler_.run_until(limit); }
  // Runs until `done()` holds (checked after each event) or `limit`; returns done().
  bool run_until(const std::function<bool()>& done, SimTime limit);
  bool step() { return scheduler_.step(); }
  // Runs `fn` at true time `when` (outside any node): faults, workload drivers.
  void schedule(SimTime when, std::function<void()> fn) { scheduler_.at(when, std::move(fn)); }
  [[nodiscard]] std::uint64_t events_run() const { return scheduler_.events_run(); }

  // ---- Network faults. Links are directed: (from, to).
  void set_link(NodeId from, NodeId to, LinkConfig config);
  void set_link_both(NodeId a, NodeId b, LinkConfig config);
  void set_default_link(LinkConfig config);
  void partition(NodeId a, NodeId b);
  void partition_one_way(NodeId from, NodeId to);
  // Cuts `node` from every other node.
  void isolate(NodeId node);
  void heal(NodeId a, NodeId b);
  // Removes every partition and every per-link setting (back to the default link).
  void heal_all();
  [[nodiscard]] bool link_blocked(NodeId from, NodeId to) const;
  // Peer messages sent by `node` (lost ones included): benchmarks count messages per
  // committed entry.
  [[nodiscard]] std::uint64_t datagrams_sent(NodeId node) const;
  // Their payload bytes (the lab's RPC byte budget).
  [[nodiscard]] std::uint64_t datagram_bytes_sent(NodeId node) const;
  // Resets every Redis connection `node` is an end of, as a RST from the network:
  // requests in flight complete with kUnknownOutcome.
  void reset_connections(NodeId node);

  // ---- Node faults (instances and servers).
  // An instance loses its memory: coroutines destroyed, timers and messages dropped.
  // A server loses its process: connections reset, commands queued are dropped.
  // Called from the node's own code, the crash happens as soon as that code yields
  // (its frame cannot be destroyed while it runs), at the same virtual time.
  void crash(NodeId node);
  // The same, and the node's disk (if it has one) keeps of its unsynced writes what
  // `loss` says: a machine that lost power, not just a process that died.
  void crash(NodeId node, CrashLoss loss);
  // A crashed instance runs its main function again; a crashed server comes back
  // empty (DataLoss::kAll). REQUIRES: crashed.
  void restart(NodeId node, Identity identity = Identity::kSame);
  // A paused node runs nothing (a stopped process); events for it wait until resume.
  void pause(NodeId node);
  void resume(NodeId node);
  [[nodiscard]] bool alive(NodeId node) const;
  [[nodiscard]] bool paused(NodeId node) const;
  // The node's current incarnation: 0 for the first run, +1 per crash.
  [[nodiscard]] std::uint32_t incarnation(NodeId node) const;
  // Called when an instance crashes, just before its code is destroyed (checkers that
  // hold pointers into it let go here).
  void set_crash_observer(std::function<void(NodeId)> observer) {
    crash_observer_ = std::move(observer);
  }

  // ---- Disks. An instance's simulated disk, created on first use, survives its
  // crashes (crash(node, loss) decides what unsynced data survives); each incarnation's
  // syncs take disk_sync_min..max on its executor.
  [[nodiscard]] SimDisk& disk(NodeId node);
  [[nodiscard]] bool has_disk(NodeId node) const { return disks_.contains(node); }
  // Every sync of the node's disk takes `extra` more; zero lifts it.
  void set_disk_slowdown(NodeId node, Duration extra);
  // The node's syncs fail (an I/O error) for `length`.
  void fail_disk_syncs(NodeId node, Duration length);
  // Lifts both.
  void heal_disk(NodeId node);

  // ---- Clock faults. Offset and jumps move wall time only; drift (parts per
  // million) changes the rate of both clocks; monotonic time never goes back.
  void set_clock_offset(NodeId node, Duration offset);
  void set_clock_drift_ppm(NodeId node, std::int64_t ppm);
  void jump_clock(NodeId node, Duration delta);
  // The node's clock as the node reads it, for tests and checkers.
  [[nodiscard]] const Clock& clock(NodeId node) const;
  // The true wall time (what a perfect clock reads).
  [[nodiscard]] WallTime true_wall_time() const;

  // ---- Redis server faults.
  // Restarts the server process now: connections reset, script cache emptied, data
  // kept, lost, or rolled back as `loss` says.
  void restart_redis(NodeId server, DataLoss loss);
  void flush_scripts(NodeId server);
  // Every command takes this much longer (a slow server; 0 restores).
  void set_server_slowdown(NodeId server, Duration extra_per_command);
  // The server answers as a Redis in `condition` (LOADING, BUSY, OOM, READONLY,
  // MASTERDOWN) for `length`, then normally again (kNormal: at once). A restart ends it.
  void set_server_condition(NodeId server, ServerCondition condition, Duration length);
  [[nodiscard]] ServerModel& server_model(NodeId server);

  // ---- Trace.
  [[nodiscard]] std::uint64_t trace_hash() const { return trace_hash_; }
  [[nodiscard]] const std::vector<std::string>& trace_lines() const { return trace_lines_; }
  void trace(NodeId node, std::string_view what);
  [[nodiscard]] std::uint64_t seed() const { return options_.seed; }

 private:
  friend class NodeContext;
  friend class NodeExecutor;
  friend class SimPeerEndpoint;
  friend class SimLink;
  class NodeClock;
  struct Node;
  struct Stream;
  struct Session;

  Node& node(NodeId id);
  const Node& node(NodeId id) const;
  NodeId add_node(std::string name, bool server);
  // Schedules `fn` for incarnation `incarnation` of `node`: dropped if that
  // incarnation is gone by then, held while the node is paused.
  Scheduler::EventId node_event(NodeId node, std::uint32_t incarnation, SimTime when,
                                std::function<void()> fn);
  // Schedules the arrival of a message at `node`: held while it is paused; dropped at
  // a crashed instance (a crashed server answers for itself: connection refused).
  void arrival_event(NodeId node, SimTime when, std::function<void()> fn);
  void start_instance(NodeId id);
  void crash_node(NodeId id, std::optional<CrashLoss> loss);
  void attach_disk(Node& n, SimDisk& disk);
  void trace_event(NodeId node, std::string_view kind, std::uint64_t detail,
                   std::string_view text = {});

  // Network.
  Duration sample_latency(const LinkConfig& link, Rng& rng);
  const LinkConfig& link(NodeId from, NodeId to) const;
  // Sends a segment of connection `conn` in direction `to_server`; `deliver` runs on
  // arrival. Ordered per (conn, direction); once one is lost the rest are too.
  void send_segment(std::uint64_t conn, bool to_server, NodeId from, NodeId to,
                    std::function<void()> deliver);
  void send_datagram(NodeId from, NodeId to, std::string payload);
  void close_stream(std::uint64_t conn);
  // After the client closed `conn`: if its FIN never reaches the server, the server
  // drops the session when keepalive finds the peer gone.
  void keepalive_after_close(std::uint64_t conn, NodeId server);

  // Server side of connections.
  void server_receive_syn(NodeId server, std::uint64_t conn, NodeId client);
  // RESP bytes of one segment: parsed as Redis does, commands queued in order; a
  // protocol error is answered and the connection closed.
  void server_receive_bytes(NodeId server, std::uint64_t conn, NodeId client, std::string bytes);
  void server_receive_fin(NodeId server, std::uint64_t conn);
  void server_send_reset(NodeId server, std::uint64_t conn, NodeId client);
  void server_process(NodeId server);
  void server_crash(Node& server);

  // Client side of connections (a SimLink registers each connection it opens).
  std::uint64_t register_connection(SimLink* link);
  void unregister_connection(std::uint64_t conn);
  // Sends a segment to the client end of `conn`; runs `fn` on its link if the
  // connection still exists when the segment arrives.
  void send_to_client(NodeId server, NodeId client, std::uint64_t conn,
                      std::function<void(SimLink&)> fn);
  // Sends `bytes` to the client end of `conn`, cut into segments.
  void send_bytes_to_client(NodeId server, NodeId client, std::uint64_t conn,
                            std::string_view bytes);
  // Cuts `bytes` into 1..max_segments pieces at points drawn from the network's rng.
  std::vector<std::string> segments(NodeId from, NodeId to, std::string_view bytes);

  WorldOptions options_;
  Scheduler scheduler_;
  Rng network_rng_;
  // Before the nodes: destroyed after them (their code may hold open files).
  std::map<NodeId, std::unique_ptr<SimDisk>> disks_;
  std::map<NodeId, std::uint64_t> disk_fault_generation_;
  std::function<void(NodeId)> crash_observer_;
  std::map<NodeId, std::uint64_t> datagrams_sent_;
  std::map<NodeId, std::uint64_t> datagram_bytes_sent_;
  std::vector<std::unique_ptr<Node>> nodes_;  // index = NodeId
  std::map<std::string, NodeId> names_;
  std::map<std::string, NodeId, std::less<>> addresses_;
  std::map<std::pair<NodeId, NodeId>, LinkConfig> links_;
  std::map<std::pair<NodeId, NodeId>, bool> blocked_;
  std::map<std::pair<std::uint64_t, bool>, std::unique_ptr<Stream>> streams_;
  std::map<std::uint64_t, SimLink*> connections_;
  std::uint64_t next_conn_ = 1;
  // The instance whose event is running, if any (a node cannot destroy itself mid-run).
  std::optional<NodeId> running_node_;
  std::uint64_t trace_hash_ = 0;
  std::vector<std::string> trace_lines_;
  // Last: destroyed first, while the servers it watches still exist.
  std::unique_ptr<ClusterControl> cluster_;
};

}  // namespace distkit::sim

#endif  // DISTKIT_SIM_WORLD_WORLD_H_
