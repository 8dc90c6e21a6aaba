#include "distkit/core/limiters/suppressed_limiter.h"

#include <charconv>
#include <cstdio>

#include "distkit/core/base/keys.h"
#include "distkit/core/limiters/limiter_script.h"

namespace distkit {
namespace {

#include "core/limiters/suppressed_window_lua.inc"

}  // namespace

std::vector<DrawSource> draws_per_shard(std::uint64_t seed) {
  const std::uint64_t base = seed_or_entropy(seed);
  std::vector<DrawSource> draws;
  for (std::size_t i = 0; i < ShardedKeyMap<SuppressedState>::kShards; ++i)
    draws.emplace_back(base + i * 0x9e3779b97f4a7c15ULL);
  return draws;
}

const RedisScript& SuppressedLimiter::script() {
  static const RedisScript script(kSuppressedWindowLua);
  return script;
}

Result<SuppressedLimiter> SuppressedLimiter::create(RedisConnection& redis, Executor& executor,
                                                    SuppressedLimiterOptions options) {
  DISTKIT_RETURN_IF_ERROR(validate_key(options.prefix, "prefix"));
  if (options.seed == 0) options.seed = executor.entropy();
  return SuppressedLimiter(redis, std::move(options));
}

std::string SuppressedLimiter::redis_key(const std::string& key) const {
  return "{" + options_.prefix + ":" + key + "}:suppressed";
}

Task<Result<SuppressedDecision>> SuppressedLimiter::inc(std::string key, SuppressedLimit limit,
                                                        std::int64_t count) {
  co_return co_await inc_with_draw(std::move(key), limit, count, draws_.next_unit());
}

Task<Result<SuppressedDecision>> SuppressedLimiter::inc_with_draw(std::string key,
                                                                  SuppressedLimit limit,
                                                                  std::int64_t count, double draw) {
  co_return co_await commit_and_inc(std::move(key), limit, SuppressedCommit(), count, draw);
}

ScriptCall SuppressedLimiter::script_call(const std::string& key, const SuppressedLimit& limit,
                                          SuppressedCommit committed, std::int64_t count,
                                          double draw) const {
  std::vector<std::string> args;
  args.push_back(script_now<std::chrono::milliseconds>(options_.client_clock));
  for (std::int64_t v :
       {limit.soft_limit, limit.hard_limit, limit.window_ms(), limit.bucket_ms(),
        static_cast<std::int64_t>(
            std::chrono::duration_cast<std::chrono::milliseconds>(limit.factor_cache).count()),
        count}) {
    args.push_back(std::to_string(v));
  }
  char draw_text[32];
  std::snprintf(draw_text, sizeof draw_text, "%.17g", draw);
  args.emplace_back(draw_text);
  args.push_back(std::to_string(committed.observed));
  args.push_back(std::to_string(committed.declined));
  return ScriptCall{&script(), {redis_key(key)}, std::move(args)};
}

Result<SuppressedDecision> SuppressedLimiter::parse_reply(const Result<RedisReply>& reply) {
  if (!reply.ok()) return reply.status();
  const auto* e = reply->is_array() ? &reply->elements() : nullptr;
  if (e == nullptr || e->size() != 5 || !(*e)[0].is_integer() || !(*e)[1].is_integer() ||
      !(*e)[2].is_bulk_string() || !(*e)[3].is_integer() || !(*e)[4].is_integer()) {
    return protocol_error("unexpected suppressed-window reply " + reply->to_string());
  }
  SuppressedDecision d;
  d.allowed = (*e)[0].integer_value() == 1;
  d.suppressing = (*e)[1].integer_value() == 1;
  const std::string& factor = (*e)[2].text();
  auto [end, error] = std::from_chars(factor.data(), factor.data() + factor.size(), d.factor);
  if (error != std::errc() || end != factor.data() + factor.size() || !(d.factor >= 0) ||
      d.factor > 1) {
    return protocol_error("unexpected suppression factor " + factor);
  }
  DISTKIT_ASSIGN_OR_RETURN(d.observed, script_integer((*e)[3], "observed count"));
  DISTKIT_ASSIGN_OR_RETURN(d.declined, script_integer((*e)[4], "declined count"));
  return d;
}

Task<Result<SuppressedDecision>> SuppressedLimiter::commit_and_inc(std::string key,
                                                                   SuppressedLimit limit,
                                                                   SuppressedCommit committed,
                                                                   std::int64_t count,
                                                                   double draw) {
  if (Status s = validate_key(key); !s.ok()) co_return s;
  if (Status s = limit.validate(); !s.ok()) co_return s;
  constexpr std::int64_t kMax = std::int64_t{1} << 53;
  if (count < 0 || count >= kMax || committed.observed < 0 || committed.observed >= kMax ||
      committed.declined < 0 || committed.declined > committed.observed) {
    co_return invalid_argument_error(
        "counts must be in [0, 2^53) and committed declines at most committed observations");
  }
  if (!(draw >= 0 && draw < 1)) co_return invalid_argument_error("draw must be in [0, 1)");
  ScriptCall call = script_call(key, limit, committed, count, draw);
  co_return parse_reply(
      co_await redis_->eval(*call.script, std::move(call.keys), std::move(call.args)));
}

LocalSuppressedLimiter::LocalSuppressedLimiter(const Clock& clock, std::uint64_t seed,
                                               std::size_t max_keys)
    : clock_(clock), keys_(max_keys), draws_(draws_per_shard(seed)) {}

Result<SuppressedDecision> LocalSuppressedLimiter::inc(std::string_view key,
                                                       const SuppressedLimit& limit,
                                                       std::int64_t count) {
  return inc_at(
      key, limit, count,
      std::chrono::duration_cast<std::chrono::milliseconds>(clock_.now().time_since_epoch())
          .count());
}

Result<SuppressedDecision> LocalSuppressedLimiter::inc_at(std::string_view key,
                                                          const SuppressedLimit& limit,
                                                          std::int64_t count, std::int64_t now_ms) {
  DISTKIT_RETURN_IF_ERROR(limit.validate());
  if (count < 0) return invalid_argument_error("count must not be negative");
  DrawSource& draws = draws_[ShardedKeyMap<SuppressedState>::shard_of(key)];
  return keys_.apply(
      key,
      [&](SuppressedState& state) {
        return suppressed_decide(state, limit, now_ms, count, draws.next_unit());
      },
      [&](const SuppressedState& state) {
        return state.buckets.empty() || state.buckets.back().start_ms < now_ms - limit.window_ms();
      });
}

}  // namespace distkit
