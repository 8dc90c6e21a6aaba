#include "distkit/core/cluster/cluster_connection.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "distkit/core/seam/request_batch.h"

namespace distkit::cluster {
namespace {

// `address` with the host of `answering` ("host:port") when it names none: a node
// with cluster-preferred-endpoint-type unknown-endpoint redirects to ":port".
std::string with_host(const std::string& address, const std::string& answering) {
  std::optional<HostPort> where = split_address(address);
  if (!where || !where->host.empty()) return address;
  std::optional<HostPort> from = split_address(answering);
  const std::string host =
      from ? from->host : answering.substr(0, std::min(answering.size(), answering.rfind(':')));
  return host + ":" + std::to_string(where->port);
}

// Transactions need one connection to one node for all their commands; the routing
// sends each command on its own, so MULTI/EXEC through it would be silently wrong.
bool is_transaction(const RedisCommand& command) {
  static constexpr std::string_view kTransaction[] = {"multi", "exec", "discard", "watch",
                                                      "unwatch"};
  std::string name = command[0];
  for (char& c : name)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return std::find(std::begin(kTransaction), std::end(kTransaction), name) !=
         std::end(kTransaction);
}

Status transaction_error(const RedisCommand& command) {
  return invalid_argument_error(command[0] +
                                ": transactions are not routed by the cluster client; use a "
                                "script (EVAL) on keys of one {hash tag}");
}

}  // namespace

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

std::vector<std::string> ClusterConnection::refresh_candidates() const {
  std::vector<std::string> out;
  const auto add = [&out](const std::string& address) {
    if (!address.empty() && std::find(out.begin(), out.end(), address) == out.end())
      out.push_back(address);
  };
  add(last_answered_);
  for (const std::string& address : map_nodes_)
    add(address);
  for (const auto& [address, connection] : nodes_)
    add(address);
  for (const std::string& seed : options_.seeds)
    add(seed);
  return out;
}

Task<Status> ClusterConnection::refresh() {
  Status last = unavailable_error("no cluster node to ask for the slot map");
  for (const std::string& address : refresh_candidates()) {
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
    std::vector<std::string> named;
    bool well_formed = true;
    // [start, end, master, replica...], each node [host, port, id, ...].
    const auto node_address = [&address](const RedisReply& n) -> std::optional<std::string> {
      if (!n.is_array() || n.elements().size() < 2 || !n.elements()[1].is_integer()) {
        return std::nullopt;
      }
      const std::int64_t port = n.elements()[1].integer_value();
      if (port < 1 || port > 65535) return std::nullopt;
      std::string host = n.elements()[0].is_string() ? n.elements()[0].text() : "";
      return with_host(host + ":" + std::to_string(port), address);
    };
    for (const RedisReply& range : slots->elements()) {
      if (!range.is_array() || range.elements().size() < 3 || !range.elements()[0].is_integer() ||
          !range.elements()[1].is_integer()) {
        well_formed = false;
        break;
      }
      std::optional<std::string> owner = node_address(range.elements()[2]);
      const std::int64_t first = range.elements()[0].integer_value();
      const std::int64_t last_slot = range.elements()[1].integer_value();
      if (!owner || first < 0 || last_slot >= kClusterSlots || first > last_slot) {
        well_formed = false;
        break;
      }
      for (std::int64_t s = first; s <= last_slot; ++s)
        owners[s] = *owner;
      for (std::size_t i = 2; i < range.elements().size(); ++i) {
        if (std::optional<std::string> n = node_address(range.elements()[i]);
            n && std::find(named.begin(), named.end(), *n) == named.end()) {
          named.push_back(std::move(*n));
        }
      }
    }
    if (!well_formed) {
      last = protocol_error("malformed CLUSTER SLOTS reply from " + address);
      continue;
    }
    if (slots->elements().empty()) {
      // A node just started or reset knows no slots: ask another.
      last = unavailable_error(address + " serves no slots (CLUSTER SLOTS is empty)");
      continue;
    }
    std::vector<std::string> masters;
    for (const std::string& owner : owners) {
      if (!owner.empty() && std::find(masters.begin(), masters.end(), owner) == masters.end()) {
        masters.push_back(owner);
      }
    }
    slot_owner_ = std::move(owners);
    masters_ = std::move(masters);
    map_nodes_ = std::move(named);
    last_answered_ = address;
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

std::string ClusterConnection::target_for(std::optional<std::uint16_t> slot) const {
  if (slot) return slot_owner_[*slot];
  // Keyless: a master, the one that answered last if it is one (a replica refuses
  // writes), else a seed.
  if (std::find(masters_.begin(), masters_.end(), last_answered_) != masters_.end()) {
    return last_answered_;
  }
  return masters_.empty() ? options_.seeds.front() : masters_.front();
}

Task<Result<RedisReply>> ClusterConnection::route(RedisCommand command,
                                                  std::optional<std::uint16_t> slot) {
  if (Status s = co_await ensure_map(); !s.ok()) co_return s;
  std::string target = target_for(slot);
  if (target.empty()) {
    map_loaded_ = false;  // perhaps served by now: ask again next time
    co_return unavailable_error("slot " + std::to_string(*slot) + " is not served by any node");
  }
  bool asking = false;
  bool resent = false;  // after kUnavailable or READONLY: once
  int tryagains = 0;
  int hops = 0;
  while (true) {
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
    if (status.code() == StatusCode::kUnknownOutcome) {
      map_loaded_ = false;  // the node may be gone: ask again before the next command
      co_return std::move(*reply);
    }
    if (status.code() == StatusCode::kUnavailable) {
      map_loaded_ = false;
      if (resent) co_return std::move(*reply);
      resent = true;
      const std::string was = target;
      if (last_answered_ == was) last_answered_.clear();
      if (!(co_await refresh()).ok()) co_return std::move(*reply);
      target = target_for(slot);
      if (target.empty() || target == was) co_return std::move(*reply);
      ++stats_.resent_after_unavailable;
      continue;
    }
    if (status.code() != StatusCode::kServerError) {
      last_answered_ = target;
      co_return std::move(*reply);
    }
    last_answered_ = target;
    const std::string_view prefix = status.server_error_prefix();
    if (prefix == "TRYAGAIN") {
      ++stats_.tryagain;
      if (tryagains >= options_.tryagain_attempts) co_return std::move(*reply);
      Duration backoff = options_.tryagain_backoff;
      for (int i = 0; i < tryagains && backoff < options_.tryagain_backoff_max; ++i)
        backoff *= 2;
      ++tryagains;
      hops = 0;  // the ASK that may follow is part of this attempt, not a redirect loop
      co_await sleep_for(executor_, std::min(backoff, options_.tryagain_backoff_max));
      // The migration may have ended meanwhile: route afresh (the owner ASKs again).
      target = target_for(slot);
      if (target.empty()) co_return std::move(*reply);
      continue;
    }
    if (prefix == "CLUSTERDOWN") {
      ++stats_.clusterdown;
      map_loaded_ = false;
      co_return std::move(*reply);
    }
    if (prefix == "READONLY") {
      // A demoted master, or a replica: the map is old. Resend once, elsewhere.
      ++stats_.readonly;
      map_loaded_ = false;
      const std::string was = target;
      if (last_answered_ == was) last_answered_.clear();
      if (resent || !(co_await refresh()).ok()) co_return std::move(*reply);
      resent = true;
      target = target_for(slot);
      if (target.empty() || target == was) co_return std::move(*reply);
      continue;
    }
    if (prefix != "MOVED" && prefix != "ASK") co_return std::move(*reply);
    std::optional<Redirect> redirect = parse_redirect(status.message());
    if (!redirect) co_return protocol_error("malformed redirect: " + status.message());
    if (++hops > options_.max_redirects) {
      co_return unavailable_error("more than " + std::to_string(options_.max_redirects) +
                                  " redirects for " + command[0]);
    }
    target = with_host(redirect->address, target);
    if (!redirect->ask) {
      ++stats_.moved;
      slot_owner_[redirect->slot] = target;  // at once; a full refresh follows
      map_loaded_ = false;
    } else {
      ++stats_.asked;
      asking = true;
    }
  }
}

Task<Result<RedisReply>> ClusterConnection::broadcast(RedisCommand command) {
  // Every broadcast command is idempotent (SCRIPT LOAD/EXISTS/FLUSH, FLUSHALL,
  // FLUSHDB): after a failure that says the map is old, it may run again everywhere.
  for (int attempt = 0;; ++attempt) {
    if (Status s = co_await ensure_map(); !s.ok()) co_return s;
    std::optional<Result<RedisReply>> combined;
    std::optional<Result<RedisReply>> failed;
    for (const std::string& master : masters_) {
      Result<RedisReply> reply = co_await node(master).execute(command);
      if (!reply.ok()) {
        failed = std::move(reply);
        break;
      }
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
    if (!failed) {
      if (!combined) co_return unavailable_error("the cluster has no master serving slots");
      co_return std::move(*combined);
    }
    const Status status = failed->status();
    const bool map_in_doubt =
        status.code() == StatusCode::kUnavailable || status.code() == StatusCode::kUnknownOutcome ||
        status.server_error_prefix() == "READONLY" || status.server_error_prefix() == "CLUSTERDOWN";
    if (!map_in_doubt) co_return std::move(*failed);
    map_loaded_ = false;
    if (attempt > 0) co_return std::move(*failed);
  }
}

Task<Result<RedisReply>> ClusterConnection::execute(RedisCommand command) {
  if (command.empty()) co_return invalid_argument_error("empty Redis command");
  if (is_transaction(command)) co_return transaction_error(command);
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
    if (is_transaction(commands[i])) {
      results[i] = transaction_error(commands[i]);
      continue;
    }
    Result<std::optional<std::uint16_t>> slot = command_slot(commands[i]);
    if (!slot.ok()) {
      results[i] = slot.status();
      continue;
    }
    const std::string target = target_for(*slot);
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
  // Redirected and refused commands did not run: send them again, one by one, through
  // route(), which follows or waits as a lone command would. Errors that leave the map
  // in doubt make the next command reload it.
  for (std::size_t i = 0; i < commands.size(); ++i) {
    const Status status = results[i]->status();  // the prefix views into it
    const std::string_view prefix = status.server_error_prefix();
    if (prefix == "MOVED" || prefix == "ASK" || prefix == "TRYAGAIN" || prefix == "READONLY") {
      results[i] = co_await execute(commands[i]);
    } else if (prefix == "CLUSTERDOWN" || status.code() == StatusCode::kUnavailable ||
               status.code() == StatusCode::kUnknownOutcome) {
      if (prefix == "CLUSTERDOWN") ++stats_.clusterdown;
      map_loaded_ = false;
    }
  }
  std::vector<Result<RedisReply>> out;
  out.reserve(results.size());
  for (auto& r : results)
    out.push_back(std::move(*r));
  co_return out;
}

}  // namespace distkit::cluster
