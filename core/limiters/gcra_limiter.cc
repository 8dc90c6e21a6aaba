#include "distkit/core/limiters/gcra_limiter.h"

#include <set>
#include <utility>

#include "distkit/core/base/keys.h"
#include "distkit/core/limiters/limiter_script.h"

namespace distkit {
namespace {

#include "core/limiters/gcra_lua.inc"

std::string field_of(const GcraRate& rate) {
  return std::to_string(rate.permits) + "/" + std::to_string(rate.period_us());
}

Result<std::int64_t> integer_at(const RedisReply& reply, std::size_t i) {
  const RedisReply& e = reply.elements()[i];
  if (!e.is_integer()) return protocol_error("unexpected GCRA reply " + reply.to_string());
  return script_integer(e, "GCRA value", -(std::int64_t{1} << 53) + 1);
}

}  // namespace

const RedisScript& GcraLimiter::script() {
  static const RedisScript script(kGcraLua);
  return script;
}

Result<GcraLimiter> GcraLimiter::create(RedisConnection& redis, GcraLimiterOptions options) {
  DISTKIT_RETURN_IF_ERROR(validate_key(options.prefix, "prefix"));
  return GcraLimiter(redis, std::move(options));
}

std::string GcraLimiter::redis_key(const std::string& key) const {
  return "{" + options_.prefix + ":" + key + "}:gcra";
}

Task<Result<GcraVerdict>> GcraLimiter::check_all(std::string key, std::vector<GcraRate> rates,
                                                 std::int64_t quantity) {
  if (Status s = validate_key(key); !s.ok()) co_return s;
  if (rates.empty()) co_return invalid_argument_error("check_all needs at least one rate");
  if (quantity < 0) co_return invalid_argument_error("quantity must not be negative");
  std::set<std::string> fields;
  std::vector<std::string> args;
  args.push_back(script_now<std::chrono::microseconds>(options_.client_clock));
  args.push_back(std::to_string(quantity));
  for (const GcraRate& rate : rates) {
    if (Status s = rate.validate(); !s.ok()) co_return s;
    if (!fields.insert(field_of(rate)).second) {
      co_return invalid_argument_error("two rates of " + std::to_string(rate.permits) + " per " +
                                       std::to_string(rate.period_us()) + " us on one key");
    }
    args.push_back(field_of(rate));
    args.push_back(std::to_string(rate.permits));
    args.push_back(std::to_string(rate.period_us()));
    args.push_back(std::to_string(rate.burst));
  }
  std::vector<std::string> keys = {redis_key(key)};
  Result<RedisReply> reply = co_await redis_->eval(script(), std::move(keys), std::move(args));
  if (!reply.ok()) co_return reply.status();
  if (!reply->is_array() || reply->elements().size() != 6)
    co_return protocol_error("unexpected GCRA reply " + reply->to_string());
  std::int64_t v[6];
  for (std::size_t i = 0; i < 6; ++i) {
    Result<std::int64_t> n = integer_at(*reply, i);
    if (!n.ok()) co_return n.status();
    v[i] = *n;
  }
  if (v[5] < 0 || static_cast<std::size_t>(v[5]) >= rates.size())
    co_return protocol_error("unexpected GCRA reply " + reply->to_string());
  GcraVerdict verdict;
  GcraDecision& d = verdict.combined;
  d.allowed = v[0] == 1;
  d.limit = v[1];
  d.remaining = v[2];
  d.retry_after = v[3] < 0 ? kRetryNever : Duration(std::chrono::microseconds(v[3]));
  d.reset_after = std::chrono::microseconds(v[4]);
  verdict.binding = static_cast<std::size_t>(v[5]);
  co_return verdict;
}

Task<Result<GcraDecision>> GcraLimiter::check(std::string key, GcraRate rate,
                                              std::int64_t quantity) {
  std::vector<GcraRate> rates(1, rate);
  Result<GcraVerdict> verdict = co_await check_all(std::move(key), std::move(rates), quantity);
  if (!verdict.ok()) co_return verdict.status();
  co_return verdict->combined;
}

Task<Status> GcraLimiter::reset(std::string key) {
  if (Status s = validate_key(key); !s.ok()) co_return s;
  Result<RedisReply> deleted = co_await redis_->command("DEL", redis_key(key));
  co_return deleted.status();
}

}  // namespace distkit
