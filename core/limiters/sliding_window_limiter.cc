#include "distkit/core/limiters/sliding_window_limiter.h"

#include "distkit/core/base/keys.h"
#include "distkit/core/limiters/limiter_script.h"

namespace distkit {
namespace {

#include "core/limiters/sliding_window_lua.inc"

}  // namespace

const RedisScript& SlidingWindowLimiter::script() {
  static const RedisScript script(kSlidingWindowLua);
  return script;
}

Result<SlidingWindowLimiter> SlidingWindowLimiter::create(RedisConnection& redis,
                                                          SlidingWindowLimiterOptions options) {
  DISTKIT_RETURN_IF_ERROR(validate_key(options.prefix, "prefix"));
  return SlidingWindowLimiter(redis, std::move(options));
}

std::string SlidingWindowLimiter::redis_key(const std::string& key) const {
  return "{" + options_.prefix + ":" + key + "}:window";
}

Task<Result<WindowDecision>> SlidingWindowLimiter::inc(std::string key, SlidingWindowLimit limit,
                                                       std::int64_t count) {
  return commit_and_inc(std::move(key), limit, 0, count);
}

ScriptCall SlidingWindowLimiter::script_call(const std::string& key,
                                             const SlidingWindowLimit& limit,
                                             std::int64_t committed, std::int64_t count) const {
  std::vector<std::string> args;
  args.push_back(script_now<std::chrono::milliseconds>(options_.client_clock));
  args.push_back(std::to_string(limit.limit));
  args.push_back(std::to_string(limit.window_ms()));
  args.push_back(std::to_string(limit.bucket_ms()));
  args.push_back(std::to_string(count));
  args.push_back(std::to_string(committed));
  return ScriptCall{&script(), {redis_key(key)}, std::move(args)};
}

Result<WindowDecision> SlidingWindowLimiter::parse_reply(const Result<RedisReply>& reply) {
  if (!reply.ok()) return reply.status();
  const auto* e = reply->is_array() ? &reply->elements() : nullptr;
  if (e == nullptr || e->size() != 4 || !(*e)[0].is_integer() || !(*e)[1].is_integer() ||
      !(*e)[2].is_integer() || !(*e)[3].is_integer()) {
    return protocol_error("unexpected sliding-window reply " + reply->to_string());
  }
  WindowDecision d;
  d.allowed = (*e)[0].integer_value() == 1;
  DISTKIT_ASSIGN_OR_RETURN(d.total, script_integer((*e)[1], "window total"));
  if ((*e)[2].is_integer() && (*e)[2].integer_value() < 0) {
    d.retry_after = kRetryNever;
  } else {
    DISTKIT_ASSIGN_OR_RETURN(d.retry_after, script_millis((*e)[2], "retry delay"));
  }
  DISTKIT_ASSIGN_OR_RETURN(d.remaining_after_waiting, script_integer((*e)[3], "remaining count",
                                                                     -(std::int64_t{1} << 53) + 1));
  return d;
}

Task<Result<WindowDecision>> SlidingWindowLimiter::commit_and_inc(std::string key,
                                                                  SlidingWindowLimit limit,
                                                                  std::int64_t committed,
                                                                  std::int64_t count) {
  if (Status s = validate_key(key); !s.ok()) co_return s;
  if (Status s = limit.validate(); !s.ok()) co_return s;
  if (count < 0 || committed < 0 || committed >= (std::int64_t{1} << 53)) {
    co_return invalid_argument_error("counts must be in [0, 2^53)");
  }
  ScriptCall call = script_call(key, limit, committed, count);
  Result<RedisReply> reply =
      co_await redis_->eval(*call.script, std::move(call.keys), std::move(call.args));
  co_return parse_reply(reply);
}

LocalSlidingWindowLimiter::LocalSlidingWindowLimiter(const Clock& clock, std::size_t max_keys)
    : clock_(clock), keys_(max_keys) {}

Result<WindowDecision> LocalSlidingWindowLimiter::inc(std::string_view key,
                                                      const SlidingWindowLimit& limit,
                                                      std::int64_t count) {
  return inc_at(
      key, limit, count,
      std::chrono::duration_cast<std::chrono::milliseconds>(clock_.now().time_since_epoch())
          .count());
}

Result<WindowDecision> LocalSlidingWindowLimiter::inc_at(std::string_view key,
                                                         const SlidingWindowLimit& limit,
                                                         std::int64_t count, std::int64_t now_ms) {
  DISTKIT_RETURN_IF_ERROR(limit.validate());
  if (count < 0) return invalid_argument_error("count must not be negative");
  return keys_.apply(
      key,
      [&](std::deque<WindowBucket>& buckets) {
        return sliding_window_decide(buckets, limit, now_ms, count);
      },
      [&](const std::deque<WindowBucket>& buckets) {
        return buckets.empty() || buckets.back().start_ms < now_ms - limit.window_ms();
      });
}

}  // namespace distkit
