#include "distkit/core/sliding_window_limiter.h"

#include "distkit/core/keys.h"
#include "distkit/core/limiter_script.h"

namespace distkit {
namespace {

#include "core/sliding_window_lua.inc"

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
  if (Status s = validate_key(key); !s.ok()) co_return s;
  if (Status s = limit.validate(); !s.ok()) co_return s;
  if (count < 0) co_return invalid_argument_error("count must not be negative");
  std::vector<std::string> args;
  args.push_back(script_now<std::chrono::milliseconds>(options_.client_clock));
  args.push_back(std::to_string(limit.limit));
  args.push_back(std::to_string(limit.window_ms()));
  args.push_back(std::to_string(limit.bucket_ms()));
  args.push_back(std::to_string(count));
  std::vector<std::string> keys = {redis_key(key)};
  Result<RedisReply> reply = co_await redis_->eval(script(), std::move(keys), std::move(args));
  if (!reply.ok()) co_return reply.status();
  const auto* e = reply->is_array() ? &reply->elements() : nullptr;
  if (e == nullptr || e->size() != 4 || !(*e)[0].is_integer() || !(*e)[1].is_integer() ||
      !(*e)[2].is_integer() || !(*e)[3].is_integer()) {
    co_return protocol_error("unexpected sliding-window reply " + reply->to_string());
  }
  WindowDecision d;
  d.allowed = (*e)[0].integer_value() == 1;
  d.total = (*e)[1].integer_value();
  const std::int64_t retry = (*e)[2].integer_value();
  d.retry_after = retry < 0 ? kRetryNever : Duration(std::chrono::milliseconds(retry));
  d.remaining_after_waiting = (*e)[3].integer_value();
  co_return d;
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
