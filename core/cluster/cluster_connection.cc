#include "distkit/core/cluster/cluster_connection.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "distkit/core/seam/request_batch.h"

namespace distkit::cluster {
namespace {

std::uint16_t crc16(std::string_view bytes) {
  std::uint16_t crc = 0;
  for (unsigned char byte : bytes) {
    crc ^= static_cast<std::uint16_t>(byte) << 8;
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc & 0x8000) ? static_cast<std::uint16_t>((crc << 1) ^ 0x1021)
                           : static_cast<std::uint16_t>(crc << 1);
    }
  }
  return crc;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// "MOVED 3999 127.0.0.1:6381" -> (3999, "127.0.0.1:6381").
std::optional<std::pair<std::uint16_t, std::string>> parse_redirect(std::string_view line) {
  const std::size_t first = line.find(' ');
  const std::size_t second = line.find(' ', first + 1);
  if (first == std::string_view::npos || second == std::string_view::npos) return std::nullopt;
  unsigned slot = 0;
  const std::string_view number = line.substr(first + 1, second - first - 1);
  auto [end, error] = std::from_chars(number.data(), number.data() + number.size(), slot);
  if (error != std::errc() || slot >= kClusterSlots) return std::nullopt;
  return std::make_pair(static_cast<std::uint16_t>(slot), std::string(line.substr(second + 1)));
}

bool is_broadcast(const RedisCommand& c) {
  const std::string name = lower(c[0]);
  if (name == "flushall" || name == "flushdb") return true;
  if (name != "script" || c.size() < 2) return false;
  const std::string sub = lower(c[1]);
  return sub == "load" || sub == "exists" || sub == "flush";
}

}  // namespace

std::uint16_t key_slot(std::string_view key) {
  const std::size_t open = key.find('{');
  if (open != std::string_view::npos) {
    const std::size_t close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1)
      key = key.substr(open + 1, close - open - 1);
  }
  return crc16(key) % kClusterSlots;
}

std::vector<std::string_view> command_keys(const RedisCommand& c) {
  std::vector<std::string_view> keys;
  if (c.empty()) return keys;
  const std::string name = lower(c[0]);
  if (name == "eval" || name == "evalsha" || name == "eval_ro" || name == "evalsha_ro") {
    std::size_t numkeys = 0;
    if (c.size() >= 3) {
      auto [end, error] = std::from_chars(c[2].data(), c[2].data() + c[2].size(), numkeys);
      if (error != std::errc()) numkeys = 0;
    }
    for (std::size_t i = 3; i < c.size() && i < 3 + numkeys; ++i)
      keys.push_back(c[i]);
    return keys;
  }
  if (name == "del" || name == "unlink" || name == "exists" || name == "mget" || name == "touch" ||
      name == "watch") {
    for (std::size_t i = 1; i < c.size(); ++i)
      keys.push_back(c[i]);
    return keys;
  }
  if (name == "mset" || name == "msetnx") {
    for (std::size_t i = 1; i < c.size(); i += 2)
      keys.push_back(c[i]);
    return keys;
  }
  static const char* const kKeyless[] = {
      "ping",     "echo",      "time",    "script", "info",   "dbsize",  "flushall",
      "flushdb",  "cluster",   "client",  "config", "select", "auth",    "hello",
      "multi",    "exec",      "discard", "keys",   "scan",   "command", "quit",
      "readonly", "readwrite", "asking",  "wait",   "debug"};
  if (std::find(std::begin(kKeyless), std::end(kKeyless), name) != std::end(kKeyless)) return keys;
  if (c.size() >= 2) keys.push_back(c[1]);
  return keys;
}

Result<std::optional<std::uint16_t>> command_slot(const RedisCommand& command) {
  std::optional<std::uint16_t> slot;
  for (std::string_view key : command_keys(command)) {
    const std::uint16_t s = key_slot(key);
    if (slot && *slot != s) {
      return invalid_argument_error("CROSSSLOT keys of " + command[0] +
                                    " hash to different slots; use one {hash tag} for all of them");
    }
    slot = s;
  }
  return slot;
}

ClusterConnection::ClusterConnection(Executor& executor, ClusterConnectionOptions options,
                                     NodeConnector connect)
    : executor_(executor),
      options_(std::move(options)),
      connect_(std::move(connect)),
      slot_owner_(kClusterSlots) {}

ClusterConnection::~ClusterConnection() = default;

RedisConnection& ClusterConnection::node(const std::string& address) {
  auto it = nodes_.find(address);
  if (it != nodes_.end()) return *it->second;
  return *nodes_.emplace(address, connect_(address)).first->second;
}

std::optional<std::string> ClusterConnection::node_for_slot(std::uint16_t slot) const {
  if (slot >= kClusterSlots || slot_owner_[slot].empty()) return std::nullopt;
  return slot_owner_[slot];
}

Task<Status> ClusterConnection::refresh() {
  std::vector<std::string> candidates;
  for (const auto& [address, client] : nodes_)
    candidates.push_back(address);
  for (const std::string& seed : options_.seeds) {
    if (std::find(candidates.begin(), candidates.end(), seed) == candidates.end())
      candidates.push_back(seed);
  }
  Status last = unavailable_error("no cluster node to ask for the slot map");
  for (const std::string& address : candidates) {
    Result<RedisReply> slots = co_await node(address).command("CLUSTER", "SLOTS");
    if (!slots.ok()) {
      last = slots.status();
      continue;
    }
    if (!slots->is_array()) {
      last = protocol_error("CLUSTER SLOTS from " + address + " is not an array");
      continue;
    }
    std::vector<std::string> owners(kClusterSlots);
    bool well_formed = true;
    for (const RedisReply& range : slots->elements()) {
      if (!range.is_array() || range.elements().size() < 3 || !range.elements()[0].is_integer() ||
          !range.elements()[1].is_integer() || !range.elements()[2].is_array() ||
          range.elements()[2].elements().size() < 2) {
        well_formed = false;
        break;
      }
      const auto& master = range.elements()[2].elements();
      std::string host = master[0].is_string() ? master[0].text() : "";
      if (host.empty()) host = address.substr(0, address.rfind(':'));
      if (!master[1].is_integer()) {
        well_formed = false;
        break;
      }
      const std::string owner = host + ":" + std::to_string(master[1].integer_value());
      const std::int64_t first = range.elements()[0].integer_value();
      const std::int64_t last_slot = range.elements()[1].integer_value();
      if (first < 0 || last_slot >= kClusterSlots || first > last_slot) {
        well_formed = false;
        break;
      }
      for (std::int64_t s = first; s <= last_slot; ++s)
        owners[s] = owner;
    }
    if (!well_formed) {
      last = protocol_error("malformed CLUSTER SLOTS reply from " + address);
      continue;
    }
    slot_owner_ = std::move(owners);
    map_loaded_ = true;
    ++stats_.map_refreshes;
    co_return Status();
  }
  co_return last;
}

Task<Status> ClusterConnection::ensure_map() {
  if (map_loaded_) co_return Status();
  co_return co_await refresh();
}

Task<Result<RedisReply>> ClusterConnection::route(RedisCommand command,
                                                  std::optional<std::uint16_t> slot) {
  if (Status s = co_await ensure_map(); !s.ok()) co_return s;
  std::string target;
  if (slot) {
    target = slot_owner_[*slot];
    if (target.empty())
      co_return unavailable_error("slot " + std::to_string(*slot) + " is not served by any node");
  } else {
    target = nodes_.empty() ? options_.seeds.front() : nodes_.begin()->first;
  }
  bool asking = false;
  for (int hop = 0; hop <= options_.max_redirects; ++hop) {
    std::optional<Result<RedisReply>> reply;
    if (asking) {
      std::vector<RedisCommand> pair;
      pair.push_back(RedisCommand(1, "ASKING"));
      pair.push_back(command);
      std::vector<Result<RedisReply>> both =
          co_await node(target).execute_pipeline(std::move(pair));
      reply = std::move(both[1]);
      asking = false;
    } else {
      reply = co_await node(target).execute(command);
    }
    const Status status = reply->status();
    const std::string_view prefix = status.server_error_prefix();
    if (prefix != "MOVED" && prefix != "ASK") co_return std::move(*reply);
    auto redirect = parse_redirect(status.message());
    if (!redirect) co_return protocol_error("malformed redirect: " + status.message());
    target = redirect->second;
    if (prefix == "MOVED") {
      ++stats_.moved;
      slot_owner_[redirect->first] = target;  // at once; a full refresh follows
      map_loaded_ = false;
    } else {
      ++stats_.asked;
      asking = true;
    }
  }
  co_return unavailable_error("more than " + std::to_string(options_.max_redirects) +
                              " redirects for " + command[0]);
}

Task<Result<RedisReply>> ClusterConnection::broadcast(RedisCommand command) {
  if (Status s = co_await ensure_map(); !s.ok()) co_return s;
  std::vector<std::string> masters;
  for (const std::string& owner : slot_owner_) {
    if (!owner.empty() && std::find(masters.begin(), masters.end(), owner) == masters.end()) {
      masters.push_back(owner);
    }
  }
  std::optional<Result<RedisReply>> combined;
  for (const std::string& master : masters) {
    Result<RedisReply> reply = co_await node(master).execute(command);
    if (!reply.ok()) co_return reply;
    if (!combined) {
      combined = std::move(reply);
      continue;
    }
    // SCRIPT EXISTS: a script counts as cached only if every master has it.
    if (combined->ok() && (*combined)->is_array() && reply->is_array() &&
        (*combined)->elements().size() == reply->elements().size()) {
      for (std::size_t i = 0; i < reply->elements().size(); ++i) {
        auto& mine = (**combined).elements()[i];
        const auto& theirs = reply->elements()[i];
        if (mine.is_integer() && theirs.is_integer()) {
          mine = RedisReply::integer(std::min(mine.integer_value(), theirs.integer_value()));
        }
      }
    }
  }
  if (!combined) co_return unavailable_error("the cluster has no master serving slots");
  co_return std::move(*combined);
}

Task<Result<RedisReply>> ClusterConnection::execute(RedisCommand command) {
  if (command.empty()) co_return invalid_argument_error("empty Redis command");
  if (options_.seeds.empty())
    co_return invalid_argument_error("a cluster client needs at least one seed node");
  if (is_broadcast(command)) co_return co_await broadcast(std::move(command));
  Result<std::optional<std::uint16_t>> slot = command_slot(command);
  if (!slot.ok()) co_return slot.status();
  co_return co_await route(std::move(command), *slot);
}

Task<std::vector<Result<RedisReply>>> ClusterConnection::execute_pipeline(
    std::vector<RedisCommand> commands) {
  const bool has_broadcast =
      std::any_of(commands.begin(), commands.end(),
                  [](const RedisCommand& c) { return !c.empty() && is_broadcast(c); });
  if (has_broadcast) {
    std::vector<Result<RedisReply>> in_order;
    for (RedisCommand& c : commands)
      in_order.push_back(co_await execute(std::move(c)));
    co_return in_order;
  }
  std::vector<std::optional<Result<RedisReply>>> results(commands.size());
  if (Status s = co_await ensure_map(); !s.ok()) {
    for (auto& r : results)
      r = s;
  }
  // Group by node, keeping input order within each group.
  std::map<std::string, std::vector<std::size_t>> groups;
  for (std::size_t i = 0; i < commands.size(); ++i) {
    if (results[i]) continue;
    if (commands[i].empty()) {
      results[i] = invalid_argument_error("empty Redis command");
      continue;
    }
    Result<std::optional<std::uint16_t>> slot = command_slot(commands[i]);
    if (!slot.ok()) {
      results[i] = slot.status();
      continue;
    }
    std::string target = *slot ? slot_owner_[**slot]
                               : (nodes_.empty() ? options_.seeds.front() : nodes_.begin()->first);
    if (target.empty()) {
      results[i] =
          unavailable_error("slot " + std::to_string(**slot) + " is not served by any node");
      continue;
    }
    groups[target].push_back(i);
  }
  // One pipeline per node, all in flight at once.
  auto batch = std::make_shared<RequestBatch>(groups.size(), executor_);
  std::vector<std::vector<Result<RedisReply>>> replies(groups.size());
  TaskScope scope;
  std::size_t g = 0;
  for (const auto& [address, indexes] : groups) {
    std::vector<RedisCommand> group;
    for (std::size_t i : indexes)
      group.push_back(commands[i]);
    auto run = [](RedisConnection& client, std::vector<RedisCommand> cmds,
                  std::vector<Result<RedisReply>>& out, std::shared_ptr<RequestBatch> done,
                  std::size_t index) -> Task<void> {
      out = co_await client.execute_pipeline(std::move(cmds));
      RequestBatch::complete(done, index, RedisReply::nil());
    };
    spawn(executor_, &scope, run(node(address), std::move(group), replies[g], batch, g));
    ++g;
  }
  if (!groups.empty()) co_await RequestBatch::wait(batch);
  g = 0;
  for (const auto& [address, indexes] : groups) {
    for (std::size_t k = 0; k < indexes.size(); ++k)
      results[indexes[k]] = std::move(replies[g][k]);
    ++g;
  }
  // Redirected commands did not run: send them again, one by one, through route().
  for (std::size_t i = 0; i < commands.size(); ++i) {
    const Status status = results[i]->status();  // the prefix views into it
    const std::string_view prefix = status.server_error_prefix();
    if (prefix == "MOVED" || prefix == "ASK") results[i] = co_await execute(commands[i]);
  }
  std::vector<Result<RedisReply>> out;
  out.reserve(results.size());
  for (auto& r : results)
    out.push_back(std::move(*r));
  co_return out;
}

}  // namespace distkit::cluster
