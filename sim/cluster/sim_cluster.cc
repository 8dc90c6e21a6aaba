#include "distkit/sim/cluster/sim_cluster.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "distkit/core/cluster/slots.h"

namespace distkit::sim {
namespace {

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "distkit::sim::SimCluster: %s\n", message.c_str());
  std::abort();
}

std::string hex_id(Rng& rng) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(40, '0');
  for (char& c : id)
    c = kHex[rng.below(16)];
  return id;
}

}  // namespace

SimCluster& SimCluster::create(World& world, SimClusterOptions options) {
  if (options.masters < 1 || options.masters > 250 || options.replicas < 0 ||
      options.masters * (1 + options.replicas) > 250) {
    die("a cluster has 1..250 nodes, at least one master");
  }
  if (options.migration_batch < 1 || options.migration_step <= Duration(0) ||
      options.node_timeout <= Duration(0) || options.election_delay < Duration(0) ||
      options.election_jitter < Duration(0)) {
    die("a migration moves at least one key per step, steps and timeouts are positive");
  }
  auto cluster = std::make_unique<SimCluster>(world, std::move(options));
  SimCluster& ref = *cluster;
  world.attach_cluster(std::move(cluster));
  return ref;
}

SimCluster::SimCluster(World& world, SimClusterOptions options)
    : world_(world),
      options_(std::move(options)),
      state_(std::make_shared<ClusterState>()),
      rng_(Rng(world.seed()).derive("cluster")) {
  const int masters = options_.masters;
  const int total = masters * (1 + options_.replicas);
  Rng ids = Rng(world.seed()).derive("cluster-id");
  shards_.resize(static_cast<std::size_t>(masters));
  for (int k = 0; k < total; ++k) {
    ClusterNodeState node;
    node.address = "10.0.0." + std::to_string(k + 1) + ":6379";
    node.id = hex_id(ids);
    node.master = k < masters ? -1 : (k - masters) % masters;
    state_->nodes.push_back(node);
    ServerOptions server = options_.server;
    server.address = node.address;
    auto model = std::make_unique<InMemoryRedis>(options_.redis);
    models_.push_back(model.get());
    ids_.push_back(world_.add_redis_server("redis-" + std::to_string(k), std::move(model), server));
    shards_[static_cast<std::size_t>(k < masters ? k : node.master)].push_back(ids_.back());
  }
  // redis-cli --cluster create: contiguous, even ranges.
  for (int m = 0; m < masters; ++m) {
    const int first = m * ClusterState::kSlots / masters;
    const int last = (m + 1) * ClusterState::kSlots / masters;
    for (int slot = first; slot < last; ++slot)
      state_->owner[static_cast<std::size_t>(slot)] = m;
  }
  for (int k = 0; k < total; ++k)
    models_[static_cast<std::size_t>(k)]->join_cluster(state_, k);
  down_generation_.assign(static_cast<std::size_t>(total), 0);
  crash_data_.resize(static_cast<std::size_t>(total));
  persisted_.resize(static_cast<std::size_t>(total));
  lossy_.assign(static_cast<std::size_t>(total), false);
}

std::vector<std::string> SimCluster::seeds() const {
  std::vector<std::string> out;
  for (const ClusterNodeState& n : state_->nodes)
    out.push_back(n.address);
  return out;
}

std::vector<std::vector<NodeId>> SimCluster::shards() const {
  return shards_;
}

NodeId SimCluster::owner_of_slot(int slot) const {
  const int owner = state_->owner.at(static_cast<std::size_t>(slot));
  return owner < 0 ? ids_.front() : ids_[static_cast<std::size_t>(owner)];
}

bool SimCluster::is_member(NodeId server) const {
  return std::find(ids_.begin(), ids_.end(), server) != ids_.end();
}

bool SimCluster::is_master(NodeId server) const {
  return state_->nodes[static_cast<std::size_t>(index_of(server))].master < 0;
}

InMemoryRedis& SimCluster::model(NodeId server) {
  return *models_[static_cast<std::size_t>(index_of(server))];
}

int SimCluster::index_of(NodeId server) const {
  auto it = std::find(ids_.begin(), ids_.end(), server);
  if (it == ids_.end()) die("node " + std::to_string(server) + " is not in the cluster");
  return static_cast<int>(it - ids_.begin());
}

int SimCluster::master_index(int node) const {
  const int master = state_->nodes[static_cast<std::size_t>(node)].master;
  return master < 0 ? node : master;
}

bool SimCluster::up(int node) const {
  const NodeId id = ids_[static_cast<std::size_t>(node)];
  return world_.alive(id) && !world_.paused(id);
}

void SimCluster::note(int node, std::string what) {
  world_.trace(ids_[static_cast<std::size_t>(node)], "cluster " + what);
  history_.push_back(Event{world_.now(), ids_[static_cast<std::size_t>(node)], std::move(what)});
}

void SimCluster::update_ok() {
  bool ok = true;
  for (int owner : state_->owner) {
    if (owner < 0 || state_->nodes[static_cast<std::size_t>(owner)].failed) {
      ok = false;
      break;
    }
  }
  if (ok != state_->ok) {
    state_->ok = ok;
    note(0, ok ? "state ok" : "state fail");
  }
}

// ---- Slot migration ------------------------------------------------------------------

void SimCluster::migrate(NodeId shard_member, int slot) {
  const int target = master_index(index_of(shard_member));
  const std::string target_name = world_.name(ids_[static_cast<std::size_t>(target)]);
  if (slot < 0) {
    // The slot with the most live keys on another shard (the lowest on ties).
    std::size_t most = 0;
    for (int m = 0; m < static_cast<int>(ids_.size()); ++m) {
      if (m == target || state_->nodes[static_cast<std::size_t>(m)].master >= 0) continue;
      const NodeId id = ids_[static_cast<std::size_t>(m)];
      const std::vector<std::size_t> counts =
          models_[static_cast<std::size_t>(m)]->live_keys_per_slot(world_.clock(id).wall_now());
      for (int s = 0; s < ClusterState::kSlots; ++s) {
        const auto k = static_cast<std::size_t>(s);
        if (state_->owner[k] != m || state_->importing[k] >= 0) continue;
        if (counts[k] > most || (counts[k] == most && most > 0 && s < slot)) {
          most = counts[k];
          slot = s;
        }
      }
    }
    if (slot < 0) {
      note(target, "migrate: no slot with keys to move to " + target_name);
      return;
    }
  }
  const auto k = static_cast<std::size_t>(slot);
  if (slot >= ClusterState::kSlots || state_->owner[k] == target || state_->owner[k] < 0 ||
      state_->importing[k] >= 0) {
    note(target, "migrate: slot " + std::to_string(slot) + " stays (already there or moving)");
    return;
  }
  state_->importing[k] = target;
  note(target, "migrating slot " + std::to_string(slot) + " to " + target_name);
  world_.schedule(world_.now() + options_.migration_step, [this, slot] { step_migration(slot); });
}

void SimCluster::step_migration(int slot) {
  const auto k = static_cast<std::size_t>(slot);
  const int source = state_->owner[k];
  const int target = state_->importing[k];
  if (target < 0) return;
  if (!up(source) || !up(target)) {  // MIGRATE waits for both ends
    world_.schedule(world_.now() + options_.migration_step, [this, slot] { step_migration(slot); });
    return;
  }
  const NodeId source_id = ids_[static_cast<std::size_t>(source)];
  const std::size_t remaining = models_[static_cast<std::size_t>(source)]->migrate_keys(
      slot, options_.migration_batch, *models_[static_cast<std::size_t>(target)],
      world_.clock(source_id).wall_now());
  if (remaining > 0) {
    world_.schedule(world_.now() + options_.migration_step, [this, slot] { step_migration(slot); });
    return;
  }
  state_->owner[k] = target;  // SETSLOT NODE on both ends
  state_->importing[k] = -1;
  note(target, "migrated slot " + std::to_string(slot));
}

// ---- Failover -------------------------------------------------------------------------

void SimCluster::failover(NodeId shard_member, FailoverMode mode) {
  const int master = master_index(index_of(shard_member));
  const NodeId master_id = ids_[static_cast<std::size_t>(master)];
  if (!world_.alive(master_id)) {
    note(master, "failover: the master is down already");
    return;
  }
  int replica = -1;
  for (int n = 0; n < static_cast<int>(ids_.size()); ++n) {
    if (state_->nodes[static_cast<std::size_t>(n)].master == master && up(n)) {
      replica = n;
      break;
    }
  }
  // Without a replica to take over, a failover is a shard's loss, not a failover.
  if (replica < 0 || !up(master)) {
    note(master, "failover: no live replica to take over");
    return;
  }
  if (mode != FailoverMode::kManual) {
    lossy_[static_cast<std::size_t>(master)] = mode == FailoverMode::kLossy;
    world_.crash(master_id);  // on_crash does the rest
    return;
  }
  // CLUSTER FAILOVER: the replica catches up with the paused master, then takes over.
  models_[static_cast<std::size_t>(replica)]->load(
      *models_[static_cast<std::size_t>(master)]->snapshot(false, WallTime{}));
  models_[static_cast<std::size_t>(master)]->clear_data();
  replace_master(master, replica);
  note(replica, "promoted (manual failover of " + world_.name(master_id) + ")");
}

void SimCluster::replace_master(int old_master, int new_master) {
  for (ClusterNodeState& n : state_->nodes) {
    if (n.master == old_master) n.master = new_master;
  }
  state_->nodes[static_cast<std::size_t>(new_master)].master = -1;
  state_->nodes[static_cast<std::size_t>(old_master)].master = new_master;
  for (int& owner : state_->owner) {
    if (owner == old_master) owner = new_master;
  }
  for (int& importer : state_->importing) {
    if (importer == old_master) importer = new_master;
  }
  update_ok();
}

void SimCluster::on_crash(NodeId server) {
  const int node = index_of(server);
  const auto k = static_cast<std::size_t>(node);
  const std::uint64_t generation = ++down_generation_[k];
  if (state_->nodes[k].master < 0) {
    // What its replica will have: all of it, or what replication had carried; and
    // what the master itself reloads if it restarts before being replaced.
    const WallTime now = world_.clock(server).wall_now();
    crash_data_[k] = models_[k]->snapshot(lossy_[k], now);
    persisted_[k] = models_[k]->snapshot(false, now);
  }
  world_.schedule(world_.now() + options_.node_timeout,
                  [this, node, generation] { mark_failed(node, generation); });
}

void SimCluster::mark_failed(int node, std::uint64_t down_generation) {
  const auto k = static_cast<std::size_t>(node);
  if (down_generation_[k] != down_generation) return;  // back meanwhile
  state_->nodes[k].failed = true;
  note(node, "failed");
  update_ok();
  if (state_->nodes[k].master >= 0) return;
  const Duration delay = options_.election_delay +
                         Duration(static_cast<std::int64_t>(rng_.below(static_cast<std::uint64_t>(
                             std::max<std::int64_t>(1, options_.election_jitter.count())))));
  world_.schedule(world_.now() + delay,
                  [this, node, down_generation] { promote(node, down_generation); });
}

void SimCluster::promote(int old_master, std::uint64_t down_generation) {
  const auto old = static_cast<std::size_t>(old_master);
  if (down_generation_[old] != down_generation) return;  // the master came back first
  // The election's winner: a running replica of the failed master (the first, as the
  // best-ranked: all are equally synced here).
  int replica = -1;
  for (int n = 0; n < static_cast<int>(ids_.size()); ++n) {
    if (state_->nodes[static_cast<std::size_t>(n)].master == old_master &&
        world_.alive(ids_[static_cast<std::size_t>(n)])) {
      replica = n;
      break;
    }
  }
  if (replica < 0) {
    note(old_master, "no live replica: its slots stay down until it restarts");
    return;
  }
  models_[static_cast<std::size_t>(replica)]->load(*crash_data_[old]);
  crash_data_[old].reset();
  persisted_[old].reset();
  const bool lossy = lossy_[old];
  lossy_[old] = false;
  replace_master(old_master, replica);
  note(replica, std::string("promoted (failover of ") + world_.name(ids_[old]) +
                    (lossy ? ", last writes lost)" : ")"));
}

void SimCluster::on_restart(NodeId server) {
  const int node = index_of(server);
  const auto k = static_cast<std::size_t>(node);
  ++down_generation_[k];
  crash_data_[k].reset();
  lossy_[k] = false;
  const bool was_failed = state_->nodes[k].failed;
  state_->nodes[k].failed = false;
  if (state_->nodes[k].master >= 0) {
    models_[k]->clear_data();  // a replica: its data would come from its master
    if (was_failed) note(node, "rejoined as a replica");
  } else {
    // Not replaced: it reloads its append-only file, as an AOF-backed node would.
    if (persisted_[k] != nullptr) models_[k]->load(*persisted_[k]);
    note(node, was_failed ? "rejoined as a master, with its data"
                          : "restarted before failing over, with its data");
  }
  persisted_[k].reset();
  update_ok();
}

Status SimCluster::check_invariants() const {
  for (int n = 0; n < static_cast<int>(ids_.size()); ++n) {
    const auto k = static_cast<std::size_t>(n);
    if (!world_.alive(ids_[k])) continue;  // a dead process serves nothing
    const std::string name = world_.name(ids_[k]);
    const std::vector<std::size_t> counts =
        models_[k]->live_keys_per_slot(world_.clock(ids_[k]).wall_now());
    for (int s = 0; s < ClusterState::kSlots; ++s) {
      const auto slot = static_cast<std::size_t>(s);
      if (counts[slot] == 0) continue;
      if (state_->nodes[k].master >= 0) {
        return internal_error(name + " is a replica but holds keys of slot " + std::to_string(s));
      }
      if (state_->owner[slot] != n && state_->importing[slot] != n) {
        return internal_error(name + " holds keys of slot " + std::to_string(s) +
                              ", which it neither serves nor imports");
      }
    }
  }
  bool ok = true;
  for (int owner : state_->owner) {
    if (owner < 0 || state_->nodes[static_cast<std::size_t>(owner)].failed) ok = false;
  }
  if (ok != state_->ok) return internal_error("the cluster state is not what its slots say");
  return Status();
}

}  // namespace distkit::sim
