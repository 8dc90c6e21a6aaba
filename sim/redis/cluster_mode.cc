// InMemoryRedis as a node of a Redis Cluster: the redirections of Redis 7.0.15's
// getNodeByQuery (cluster.c) and the CLUSTER replies the clients read.
#include "sim/redis/cluster_mode.h"

#include <algorithm>

#include "distkit/core/cluster/slots.h"
#include "sim/redis/commands.h"

namespace distkit::sim::redis {
namespace {

bool live(const Keyspace& db, const std::string& key, std::int64_t now_ms) {
  auto it = db.find(key);
  return it != db.end() && !(it->second.expire_at_ms && now_ms > *it->second.expire_at_ms);
}

// [ip, port, id, {}] (addNodeToNodeReply; the empty map is an empty array in RESP2).
RedisReply node_reply(const ClusterNodeState& node) {
  const cluster::HostPort where =
      cluster::split_address(node.address).value_or(cluster::HostPort{});
  std::vector<RedisReply> parts;
  parts.push_back(bulk(where.host));
  parts.push_back(integer(where.port));
  parts.push_back(bulk(node.id));
  parts.push_back(RedisReply::array({}));
  return RedisReply::array(std::move(parts));
}

RedisReply cluster_slots(const ClusterState& cluster) {
  std::vector<RedisReply> ranges;
  for (int start = 0; start < ClusterState::kSlots;) {
    const int owner = cluster.owner[start];
    int end = start;
    while (end + 1 < ClusterState::kSlots && cluster.owner[end + 1] == owner)
      ++end;
    if (owner >= 0) {
      std::vector<RedisReply> range;
      range.push_back(integer(start));
      range.push_back(integer(end));
      range.push_back(node_reply(cluster.nodes[owner]));
      for (const ClusterNodeState& n : cluster.nodes) {
        if (n.master == owner && !n.failed) range.push_back(node_reply(n));
      }
      ranges.push_back(RedisReply::array(std::move(range)));
    }
    start = end + 1;
  }
  return RedisReply::array(std::move(ranges));
}

RedisReply cluster_info(const ClusterState& cluster, int self) {
  int assigned = 0;
  int failing = 0;
  std::vector<int> serving;
  for (int slot = 0; slot < ClusterState::kSlots; ++slot) {
    const int owner = cluster.owner[slot];
    if (owner < 0) continue;
    ++assigned;
    if (cluster.nodes[owner].failed) ++failing;
    if (std::find(serving.begin(), serving.end(), owner) == serving.end()) serving.push_back(owner);
  }
  std::string info;
  const auto line = [&info](std::string_view key, const std::string& value) {
    info.append(key).append(":").append(value).append("\r\n");
  };
  line("cluster_state", cluster.ok ? "ok" : "fail");
  line("cluster_slots_assigned", std::to_string(assigned));
  line("cluster_slots_ok", std::to_string(assigned - failing));
  line("cluster_slots_pfail", "0");
  line("cluster_slots_fail", std::to_string(failing));
  line("cluster_known_nodes", std::to_string(cluster.nodes.size()));
  line("cluster_size", std::to_string(serving.size()));
  line("cluster_my_role", cluster.nodes[self].master < 0 ? "master" : "replica");
  return bulk(std::move(info));
}

}  // namespace

void append_command_keys(const CommandSpec& spec, const RedisCommand& command,
                         std::vector<std::string_view>& keys) {
  const std::string_view name = spec.name;
  if (name == "eval" || name == "evalsha") {
    std::int64_t numkeys = 0;
    if (!parse_int64(command[2], numkeys) || numkeys < 0) return;
    for (std::size_t i = 3; i < command.size() && i < 3 + static_cast<std::size_t>(numkeys); ++i)
      keys.push_back(command[i]);
    return;
  }
  if (!has_keys(spec)) return;
  std::size_t last = 1;
  std::size_t step = 1;
  if (name == "del" || name == "exists" || name == "unlink" || name == "mget") {
    last = command.size() - 1;
  } else if (name == "mset") {
    last = command.size() - 1;
    step = 2;
  }
  for (std::size_t i = 1; i <= last && i < command.size(); i += step)
    keys.push_back(command[i]);
}

bool has_keys(const CommandSpec& spec) {
  static constexpr std::string_view kKeyless[] = {
      "asking",   "auth",      "client",  "cluster", "dbsize", "discard", "echo",
      "exec",     "flushall",  "flushdb", "hello",   "keys",   "multi",   "ping",
      "readonly", "readwrite", "scan",    "script",  "select", "time"};
  return std::find(std::begin(kKeyless), std::end(kKeyless), spec.name) == std::end(kKeyless);
}

std::optional<RedisReply> cluster_redirect(const ClusterQuery& q) {
  const ClusterState& cluster = *q.cluster;
  // processCommand skips commands without keys, unless their keys move (EVAL) or they
  // are EXEC, whose queued commands count.
  const bool exec = q.spec->name == "exec";
  const bool movable = q.spec->name == "eval" || q.spec->name == "evalsha";
  if (!exec && !movable && !has_keys(*q.spec)) return std::nullopt;
  if (exec && q.queued == nullptr) return std::nullopt;  // EXEC without MULTI: its own error

  std::vector<std::string_view> keys;
  bool writes = false;
  if (exec) {
    for (const auto& [spec, command] : *q.queued) {
      append_command_keys(*spec, command, keys);
      writes = writes || (spec->flags & kWrite);
    }
  } else {
    append_command_keys(*q.spec, *q.command, keys);
    writes = q.spec->flags & kWrite;
  }
  int owner = -1;
  int slot = -1;
  bool migrating = false;
  bool importing = false;
  bool multiple_keys = false;
  int missing = 0;
  int existing = 0;
  std::string_view first_key;
  for (std::string_view key : keys) {
    const int key_slot = cluster::key_slot(key);
    if (slot < 0) {
      slot = key_slot;
      first_key = key;
      owner = cluster.owner[slot];
      if (owner < 0) return err("CLUSTERDOWN Hash slot not served");
      if (owner == q.self && cluster.importing[slot] >= 0) {
        migrating = true;
      } else if (cluster.importing[slot] == q.self) {
        importing = true;
      }
    } else if (key_slot != slot) {
      return err("CROSSSLOT Keys in request don't hash to the same slot");
    } else if (key != first_key) {
      multiple_keys = true;
    }
    if (migrating || importing) {
      // LOOKUP_NOEXPIRE: an expired key counts as missing and stays.
      if (live(*q.db, std::string(key), q.now_ms)) {
        ++existing;
      } else {
        ++missing;
      }
    }
  }
  if (slot < 0) return std::nullopt;  // no key at all: served here
  if (!cluster.ok) return err("CLUSTERDOWN The cluster is down");
  const std::string slot_text = std::to_string(slot);
  if (migrating && missing > 0) {
    if (existing > 0) return err("TRYAGAIN Multiple keys request during rehashing of slot");
    return err("ASK " + slot_text + " " + cluster.nodes[cluster.importing[slot]].address);
  }
  if (importing && q.asking) {
    if (multiple_keys && missing > 0) {
      return err("TRYAGAIN Multiple keys request during rehashing of slot");
    }
    return std::nullopt;
  }
  if (q.readonly_session && !writes && cluster.nodes[q.self].master == owner) return std::nullopt;
  if (owner != q.self) return err("MOVED " + slot_text + " " + cluster.nodes[owner].address);
  return std::nullopt;
}

RedisReply cluster_command(const ClusterState& cluster, int self, const Keyspace& db,
                           std::int64_t now_ms, const RedisCommand& command) {
  const std::string sub = lower(command[1]);
  const auto arity = [&command](std::size_t n) { return command.size() == n; };
  if (sub == "slots" && arity(2)) return cluster_slots(cluster);
  if (sub == "myid" && arity(2)) return bulk(cluster.nodes[self].id);
  if (sub == "info" && arity(2)) return cluster_info(cluster, self);
  if (sub == "keyslot" && arity(3)) return integer(cluster::key_slot(command[2]));
  if ((sub == "countkeysinslot" && arity(3)) || (sub == "getkeysinslot" && arity(4))) {
    std::int64_t slot = 0;
    if (!parse_int64(command[2], slot) || slot < 0 || slot >= ClusterState::kSlots) {
      return err("ERR Invalid slot");
    }
    std::int64_t max = INT64_MAX;
    if (sub == "getkeysinslot" && (!parse_int64(command[3], max) || max < 0)) {
      return err("ERR Invalid number of keys");
    }
    std::vector<RedisReply> keys;
    std::int64_t count = 0;
    for (const auto& [key, entry] : db) {
      if (cluster::key_slot(key) != slot) continue;
      if (sub == "countkeysinslot") {
        ++count;  // as Redis: expired keys not yet removed count
      } else if (static_cast<std::int64_t>(keys.size()) < max) {
        keys.push_back(bulk(key));
      }
    }
    (void)now_ms;
    if (sub == "countkeysinslot") return integer(count);
    return RedisReply::array(std::move(keys));
  }
  return err("ERR unknown subcommand or wrong number of arguments for '" + command[1] +
             "'. Try CLUSTER HELP.");
}

std::size_t migrate_slot_keys(Keyspace& from, Keyspace& to, int slot, std::size_t max,
                              std::int64_t now_ms) {
  std::vector<std::string> moving;
  std::size_t remaining = 0;
  for (auto it = from.begin(); it != from.end();) {
    if (cluster::key_slot(it->first) != slot) {
      ++it;
      continue;
    }
    if (it->second.expire_at_ms && now_ms > *it->second.expire_at_ms) {
      it = from.erase(it);  // MIGRATE skips it; it would expire anyway
      continue;
    }
    if (moving.size() < max) {
      moving.push_back(it->first);
    } else {
      ++remaining;
    }
    ++it;
  }
  for (const std::string& key : moving) {
    auto node = from.extract(key);
    // A copy already there is newer (written there after an ASK); keep it.
    to.try_emplace(key, std::move(node.mapped()));
  }
  return remaining;
}

}  // namespace distkit::sim::redis
