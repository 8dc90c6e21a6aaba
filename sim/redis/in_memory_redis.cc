#include "distkit/sim/redis/in_memory_redis.h"

#include "distkit/core/cluster/slots.h"
#include "sim/redis/cluster_mode.h"
#include "sim/redis/redis_internal.h"

namespace distkit::sim {

using redis::CommandContext;
using redis::CommandSpec;

struct InMemoryRedis::Impl {
  struct Session {
    bool authenticated = false;
    std::string name;       // CLIENT SETNAME
    bool asking = false;    // ASKING: the next command may touch an importing slot
    bool readonly = false;  // READONLY: reads may be served by a replica
    bool in_multi = false;
    bool multi_failed = false;  // a command was rejected while queuing
    redis::QueuedCommands queued;

    void end_transaction() {
      in_multi = false;
      multi_failed = false;
      queued.clear();
    }
  };

  // resetClient: ASKING lasts for one command (rejected ones count), or through a
  // transaction.
  struct AskingLasts {
    Session& session;
    bool keep = false;
    ~AskingLasts() {
      if (!keep && !session.in_multi) session.asking = false;
    }
  };

  explicit Impl(InMemoryRedisOptions o) : options(o), lua(o) {}

  // Keeps a replica that copies the data at most once per replication lag.
  void before_write(std::int64_t now_ms) {
    const std::int64_t lag_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(options.replication_lag).count();
    if (now_ms - replica_synced_ms >= lag_ms) {
      replica = db;
      replica_synced_ms = now_ms;
    }
  }

  RedisReply run(const CommandSpec& spec, CommandContext& ctx, const RedisCommand& command) {
    if (spec.flags & redis::kWrite || spec.name == "eval" || spec.name == "evalsha") {
      before_write(ctx.now_ms);
    }
    return redis::run_command(spec, ctx, command);
  }

  // AUTH, HELLO, CLIENT and SELECT, with Redis 7.0's replies and errors (one
  // database: SELECT 0 only, as a server with `databases 1`).
  RedisReply connection_command(ClientId client, Session& session, const RedisCommand& command,
                                std::int64_t now_ms) {
    const auto word = [&](std::size_t i) { return redis::lower(command[i]); };
    const auto authenticate = [&](const std::string& user, const std::string& password) {
      if (options.requirepass.empty()) {
        return RedisReply::error(
            "ERR AUTH <password> called without any password configured for the default user. "
            "Are you sure your configuration is correct?");
      }
      if (user != "default" || password != options.requirepass) {
        return RedisReply::error("WRONGPASS invalid username-password pair or user is disabled.");
      }
      session.authenticated = true;
      return RedisReply::simple_string("OK");
    };
    const auto valid_name = [](const std::string& name) {
      for (char c : name) {
        if (c < '!' || c > '~') return false;
      }
      return true;
    };
    const std::string name = word(0);
    if (name == "asking" || name == "readonly" || name == "readwrite" || name == "cluster") {
      if (cluster == nullptr)
        return RedisReply::error("ERR This instance has cluster support disabled");
      if (name == "asking") session.asking = true;
      if (name == "readonly") session.readonly = true;
      if (name == "readwrite") session.readonly = false;
      if (name != "cluster") return RedisReply::simple_string("OK");
      return redis::cluster_command(*cluster, self, db, now_ms, command);
    }
    if (name == "auth") {
      if (command.size() > 3) return RedisReply::error("ERR syntax error");
      return command.size() == 2 ? authenticate("default", command[1])
                                 : authenticate(command[1], command[2]);
    }
    if (name == "select") {
      std::int64_t index = 0;
      if (!redis::parse_int64(command[1], index)) {
        return RedisReply::error("ERR value is not an integer or out of range");
      }
      if (index != 0) return RedisReply::error("ERR DB index is out of range");
      return RedisReply::simple_string("OK");
    }
    if (name == "client") {
      const std::string sub = word(1);
      if (sub == "setname" && command.size() == 3) {
        if (!valid_name(command[2])) {
          return RedisReply::error(
              "ERR Client names cannot contain spaces, newlines or special characters.");
        }
        session.name = command[2];
        return RedisReply::simple_string("OK");
      }
      if (sub == "getname" && command.size() == 2) {
        return session.name.empty() ? RedisReply::nil() : RedisReply::bulk_string(session.name);
      }
      if (sub == "id" && command.size() == 2) {
        return RedisReply::integer(static_cast<std::int64_t>(client));
      }
      return RedisReply::error("ERR unknown subcommand or wrong number of arguments for '" +
                               command[1] + "'. Try CLIENT HELP.");
    }
    // HELLO [protover [AUTH username password] [SETNAME clientname]]
    if (command.size() >= 2) {
      std::int64_t version = 0;
      if (!redis::parse_int64(command[1], version)) {
        return RedisReply::error("ERR Protocol version is not an integer or out of range");
      }
      if (version != 2) return RedisReply::error("NOPROTO unsupported protocol version");
    }
    std::optional<std::string> new_name;
    for (std::size_t i = 2; i < command.size(); ++i) {
      const std::string option = word(i);
      if (option == "auth" && i + 2 < command.size()) {
        if (RedisReply r = authenticate(command[i + 1], command[i + 2]); r.is_error()) return r;
        i += 2;
      } else if (option == "setname" && i + 1 < command.size()) {
        if (!valid_name(command[i + 1])) {
          return RedisReply::error(
              "ERR Client names cannot contain spaces, newlines or special characters.");
        }
        new_name = command[++i];
      } else {
        return RedisReply::error("ERR Syntax error in HELLO option '" + command[i] + "'");
      }
    }
    if (!options.requirepass.empty() && !session.authenticated) {
      return RedisReply::error(
          "NOAUTH HELLO must be called with the client already authenticated, otherwise the "
          "HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and "
          "select the RESP protocol version at the same time");
    }
    if (new_name) session.name = *new_name;
    std::vector<RedisReply> map;
    const auto field = [&map](std::string key, RedisReply value) {
      map.push_back(RedisReply::bulk_string(std::move(key)));
      map.push_back(std::move(value));
    };
    field("server", RedisReply::bulk_string("redis"));
    field("version", RedisReply::bulk_string("7.0.15"));
    field("proto", RedisReply::integer(2));
    field("id", RedisReply::integer(static_cast<std::int64_t>(client)));
    field("mode", RedisReply::bulk_string(cluster ? "cluster" : "standalone"));
    field("role", RedisReply::bulk_string(is_replica() ? "replica" : "master"));
    field("modules", RedisReply::array({}));
    return RedisReply::array(std::move(map));
  }

  [[nodiscard]] bool is_replica() const {
    return cluster != nullptr && cluster->nodes[self].master >= 0;
  }

  InMemoryRedisOptions options;
  std::shared_ptr<const ClusterState> cluster;  // null: standalone
  int self = -1;
  redis::Keyspace db;
  redis::Keyspace replica;
  std::int64_t replica_synced_ms = INT64_MIN / 2;
  redis::LuaEngine lua;
  std::map<ClientId, Session> sessions;
  ServerCondition condition = ServerCondition::kNormal;
};

InMemoryRedis::InMemoryRedis(InMemoryRedisOptions options)
    : impl_(std::make_unique<Impl>(options)) {}

InMemoryRedis::~InMemoryRedis() = default;

RedisReply InMemoryRedis::execute(ClientId client, const RedisCommand& command, ServerEnv& env) {
  if (command.empty()) return RedisReply::error("ERR empty command");
  const auto since_epoch = env.now.time_since_epoch();
  CommandContext ctx{impl_->db,
                     std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch).count(),
                     std::chrono::duration_cast<std::chrono::microseconds>(since_epoch).count(),
                     env.rng, &impl_->lua};
  Impl::Session& session = impl_->sessions[client];
  Impl::AskingLasts asking_lasts{session};

  ctx.condition = impl_->condition;
  ctx.replica = impl_->is_replica();
  RedisReply error;
  const CommandSpec* spec = redis::lookup_for_client(command, &error);
  if (spec == nullptr) {
    if (session.in_multi) session.multi_failed = true;
    return error;
  }
  if (!session.authenticated && !(spec->flags & redis::kNoAuth) &&
      !impl_->options.requirepass.empty()) {
    if (session.in_multi) session.multi_failed = true;
    return RedisReply::error("NOAUTH Authentication required.");
  }
  if (impl_->cluster == nullptr && spec->name == "asking") {
    return RedisReply::error("ERR This instance has cluster support disabled");
  }
  if (impl_->cluster != nullptr) {
    const redis::ClusterQuery query{impl_->cluster.get(),
                                    impl_->self,
                                    &impl_->db,
                                    ctx.now_ms,
                                    session.asking,
                                    session.readonly,
                                    spec,
                                    &command,
                                    session.in_multi ? &session.queued : nullptr};
    if (std::optional<RedisReply> redirect = redis::cluster_redirect(query)) {
      if (session.in_multi && spec->name == "exec") {
        session.end_transaction();
      } else if (session.in_multi) {
        session.multi_failed = true;
      }
      return *redirect;
    }
  }
  if (spec->flags & redis::kSession) {
    if (std::optional<RedisReply> refused = redis::refusal(*spec, ctx, command)) return *refused;
    return impl_->connection_command(client, session, command, ctx.now_ms);
  }
  if (std::optional<RedisReply> refused = redis::refusal(*spec, ctx, command)) {
    if (session.in_multi && spec->name == "exec") {
      session.end_transaction();  // a refused EXEC discards the transaction
      return RedisReply::error("EXECABORT Transaction discarded because of: " + refused->text());
    }
    if (session.in_multi) session.multi_failed = true;
    return *refused;
  }
  RedisReply reply;
  if (session.in_multi && !(spec->flags & redis::kNoMulti)) {
    session.queued.emplace_back(spec, command);
    return RedisReply::simple_string("QUEUED");
  }
  if (spec->name == "asking") {
    session.asking = true;
    asking_lasts.keep = true;
    return RedisReply::simple_string("OK");
  }
  if (spec->name == "multi") {
    if (session.in_multi) return RedisReply::error("ERR MULTI calls can not be nested");
    session.in_multi = true;
    return RedisReply::simple_string("OK");
  }
  if (spec->name == "discard" || spec->name == "exec") {
    if (!session.in_multi) {
      return RedisReply::error(spec->name == "exec" ? "ERR EXEC without MULTI"
                                                    : "ERR DISCARD without MULTI");
    }
    auto queued = std::move(session.queued);
    const bool failed = session.multi_failed;
    session.end_transaction();
    if (spec->name == "discard") return RedisReply::simple_string("OK");
    if (failed) {
      return RedisReply::error("EXECABORT Transaction discarded because of previous errors.");
    }
    // A condition that began after the commands were queued refuses the EXEC as a
    // whole (Redis checks EXEC against its queued commands' flags).
    for (auto& [queued_spec, queued_command] : queued) {
      if (std::optional<RedisReply> refused = redis::refusal(*queued_spec, ctx, queued_command)) {
        return RedisReply::error("EXECABORT Transaction discarded because of: " + refused->text());
      }
    }
    // The whole transaction runs at one frozen time, without interleaving.
    std::vector<RedisReply> replies;
    for (auto& [queued_spec, queued_command] : queued) {
      replies.push_back(impl_->run(*queued_spec, ctx, queued_command));
    }
    reply = RedisReply::array(std::move(replies));
  } else {
    reply = impl_->run(*spec, ctx, command);
  }
  env.extra_busy +=
      impl_->options.time_per_lua_instruction * static_cast<std::int64_t>(ctx.lua_instructions);
  return reply;
}

void InMemoryRedis::disconnect(ClientId client) {
  impl_->sessions.erase(client);
}

void InMemoryRedis::restart(DataLoss loss, ServerEnv&) {
  impl_->sessions.clear();  // READONLY and ASKING end with their connections
  impl_->lua.flush();
  switch (loss) {
    case DataLoss::kNone:
      break;
    case DataLoss::kAll:
      impl_->db.clear();
      impl_->replica.clear();
      break;
    case DataLoss::kRecentWrites:
      impl_->db = impl_->replica;
      break;
  }
}

void InMemoryRedis::flush_scripts() {
  impl_->lua.flush();
}

void InMemoryRedis::set_condition(ServerCondition condition) {
  impl_->condition = condition;
}

std::size_t InMemoryRedis::key_count() const {
  return impl_->db.size();
}
std::size_t InMemoryRedis::cached_scripts() const {
  return impl_->lua.size();
}

void InMemoryRedis::join_cluster(std::shared_ptr<const ClusterState> cluster, int self) {
  impl_->cluster = std::move(cluster);
  impl_->self = self;
}

namespace {
std::int64_t millis(WallTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
}  // namespace

std::vector<std::size_t> InMemoryRedis::live_keys_per_slot(WallTime now) const {
  std::vector<std::size_t> counts(ClusterState::kSlots);
  const std::int64_t now_ms = millis(now);
  for (const auto& [key, entry] : impl_->db) {
    if (!entry.expire_at_ms || now_ms <= *entry.expire_at_ms) ++counts[cluster::key_slot(key)];
  }
  return counts;
}

std::size_t InMemoryRedis::migrate_keys(int slot, std::size_t max, InMemoryRedis& target,
                                        WallTime now) {
  const std::int64_t now_ms = millis(now);
  target.impl_->before_write(now_ms);
  impl_->before_write(now_ms);
  return redis::migrate_slot_keys(impl_->db, target.impl_->db, slot, max, now_ms);
}

struct InMemoryRedis::Snapshot {
  redis::Keyspace db;
};

std::shared_ptr<const InMemoryRedis::Snapshot> InMemoryRedis::snapshot(bool lagged,
                                                                       WallTime now) const {
  // The replica trails by at most the lag: past it, it has caught up.
  const std::int64_t lag_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(impl_->options.replication_lag).count();
  const bool behind = lagged && millis(now) - impl_->replica_synced_ms < lag_ms;
  return std::make_shared<const Snapshot>(Snapshot{behind ? impl_->replica : impl_->db});
}

void InMemoryRedis::load(const Snapshot& snapshot) {
  impl_->db = snapshot.db;
  impl_->replica = snapshot.db;
}

void InMemoryRedis::clear_data() {
  impl_->db.clear();
  impl_->replica.clear();
}

}  // namespace distkit::sim
