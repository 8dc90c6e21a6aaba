#include "distkit/sim/redis/in_memory_redis.h"

#include "sim/redis/redis_internal.h"

namespace distkit::sim {

using redis::CommandContext;
using redis::CommandSpec;

struct InMemoryRedis::Impl {
  struct Session {
    bool in_multi = false;
    bool multi_failed = false;  // a command was rejected while queuing
    std::vector<std::pair<const CommandSpec*, RedisCommand>> queued;
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

  InMemoryRedisOptions options;
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

  ctx.condition = impl_->condition;
  RedisReply error;
  const CommandSpec* spec = redis::lookup_for_client(command, &error);
  if (spec == nullptr) {
    if (session.in_multi) session.multi_failed = true;
    return error;
  }
  if (std::optional<RedisReply> refused = redis::refusal(*spec, ctx, command)) {
    if (session.in_multi && spec->name == "exec") {
      session = Impl::Session();  // a refused EXEC discards the transaction
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
    session = Impl::Session();
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
  impl_->sessions.clear();
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

}  // namespace distkit::sim
