// InMemoryRedis: Sorted-set commands (t_zset.c).
// Each handler follows Redis 7.0, including the order of its checks.
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "sim/redis/commands.h"

namespace distkit::sim::redis {
namespace {

// ---- Sorted sets ------------------------------------------------------------------------

void zset_put(ZSet& z, const std::string& member, double score) {
  auto it = z.scores.find(member);
  if (it != z.scores.end()) {
    z.order.erase({it->second, member});
    it->second = score;
  } else {
    z.scores.emplace(member, score);
  }
  z.order.emplace(score, member);
}

bool zset_remove(ZSet& z, const std::string& member) {
  auto it = z.scores.find(member);
  if (it == z.scores.end()) return false;
  z.order.erase({it->second, member});
  z.scores.erase(it);
  return true;
}

// ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]
RedisReply cmd_zadd(CommandContext& ctx, const Args& a) {
  bool nx = false, xx = false, gt = false, lt = false, ch = false, incr = false;
  std::size_t i = 2;
  for (; i < a.size(); ++i) {
    const std::string opt = lower(a[i]);
    if (opt == "nx") {
      nx = true;
    } else if (opt == "xx") {
      xx = true;
    } else if (opt == "gt") {
      gt = true;
    } else if (opt == "lt") {
      lt = true;
    } else if (opt == "ch") {
      ch = true;
    } else if (opt == "incr") {
      incr = true;
    } else {
      break;
    }
  }
  const std::size_t elements = a.size() - i;
  if (elements == 0 || elements % 2 != 0) return syntax_error();
  if (incr && elements > 2) return err("ERR INCR option supports a single increment-element pair");
  if (nx && xx) return err("ERR XX and NX options at the same time are not compatible");
  if ((gt && nx) || (lt && nx) || (gt && lt)) {
    return err("ERR GT, LT, and/or NX options at the same time are not compatible");
  }
  std::vector<double> scores;
  for (std::size_t j = i; j < a.size(); j += 2) {
    double score = 0;
    if (!parse_double(a[j], score)) return float_error();
    scores.push_back(score);
  }
  Entry* e = lookup(ctx, a[1]);
  if (e != nullptr && std::get_if<ZSet>(&e->value) == nullptr) return wrong_type_error();
  if (e == nullptr && xx) return incr ? RedisReply::nil() : integer(0);
  ZSet& z = e != nullptr ? std::get<ZSet>(e->value) : std::get<ZSet>(ctx.db[a[1]].value = ZSet{});
  std::int64_t added = 0, updated = 0;
  std::optional<double> incr_result;
  for (std::size_t k = 0; k < scores.size(); ++k) {
    const std::string& member = a[i + 2 * k + 1];
    double score = scores[k];
    auto it = z.scores.find(member);
    if (it != z.scores.end()) {
      if (nx) continue;
      const double current = it->second;
      if (incr) {
        score += current;
        if (std::isnan(score)) {
          drop_if_empty(ctx, a[1], z);
          return err("ERR resulting score is not a number (NaN)");
        }
      }
      if ((lt && score >= current) || (gt && score <= current)) continue;
      if (incr) incr_result = score;
      if (score != current) {
        zset_put(z, member, score);
        ++updated;
      }
    } else {
      if (xx) continue;
      zset_put(z, member, score);
      ++added;
      if (incr) incr_result = score;
    }
  }
  drop_if_empty(ctx, a[1], z);
  if (incr) return incr_result ? bulk(format_double(*incr_result)) : RedisReply::nil();
  return integer(ch ? added + updated : added);
}

RedisReply cmd_zincrby(CommandContext& ctx, const Args& a) {
  double by = 0;
  if (!parse_double(a[2], by)) return float_error();
  ZSet* z = lookup_or_create<ZSet>(ctx, a[1]);
  if (z == nullptr) return wrong_type_error();
  auto it = z->scores.find(a[3]);
  const double score = (it == z->scores.end() ? 0.0 : it->second) + by;
  if (std::isnan(score)) {
    drop_if_empty(ctx, a[1], *z);
    return err("ERR resulting score is not a number (NaN)");
  }
  zset_put(*z, a[3], score);
  return bulk(format_double(score));
}

RedisReply cmd_zrem(CommandContext& ctx, const Args& a) {
  auto z = lookup_typed<ZSet>(ctx, a[1]);
  if (z.wrong_type) return wrong_type_error();
  if (!z.value) return integer(0);
  std::int64_t removed = 0;
  for (std::size_t i = 2; i < a.size(); ++i)
    removed += zset_remove(*z.value, a[i]);
  drop_if_empty(ctx, a[1], *z.value);
  return integer(removed);
}

RedisReply cmd_zscore(CommandContext& ctx, const Args& a) {
  auto z = lookup_typed<ZSet>(ctx, a[1]);
  if (z.wrong_type) return wrong_type_error();
  if (!z.value) return RedisReply::nil();
  auto it = z.value->scores.find(a[2]);
  return it == z.value->scores.end() ? RedisReply::nil() : bulk(format_double(it->second));
}

RedisReply cmd_zcard(CommandContext& ctx, const Args& a) {
  auto z = lookup_typed<ZSet>(ctx, a[1]);
  if (z.wrong_type) return wrong_type_error();
  return integer(z.value ? static_cast<std::int64_t>(z.value->scores.size()) : 0);
}

RedisReply cmd_zrank(CommandContext& ctx, const Args& a) {
  auto z = lookup_typed<ZSet>(ctx, a[1]);
  if (z.wrong_type) return wrong_type_error();
  if (!z.value) return RedisReply::nil();
  auto it = z.value->scores.find(a[2]);
  if (it == z.value->scores.end()) return RedisReply::nil();
  auto pos = z.value->order.find({it->second, a[2]});
  return integer(static_cast<std::int64_t>(std::distance(z.value->order.begin(), pos)));
}

struct ScoreRange {
  double min, max;
  bool min_exclusive = false, max_exclusive = false;
  bool contains(double s) const {
    return (min_exclusive ? s > min : s >= min) && (max_exclusive ? s < max : s <= max);
  }
};

bool parse_score_bound(const std::string& text, double& value, bool& exclusive) {
  std::string_view s = text;
  exclusive = !s.empty() && s.front() == '(';
  if (exclusive) s.remove_prefix(1);
  // zslParseRange uses strtod directly: no whitespace check, but all must parse.
  if (s.empty()) return false;
  std::string copy(s);
  char* end = nullptr;
  value = std::strtod(copy.c_str(), &end);
  return *end == '\0' && !std::isnan(value);
}

bool parse_score_range(const std::string& min, const std::string& max, ScoreRange& range) {
  return parse_score_bound(min, range.min, range.min_exclusive) &&
         parse_score_bound(max, range.max, range.max_exclusive);
}

RedisReply cmd_zcount(CommandContext& ctx, const Args& a) {
  ScoreRange range{};
  if (!parse_score_range(a[2], a[3], range)) return err("ERR min or max is not a float");
  auto z = lookup_typed<ZSet>(ctx, a[1]);
  if (z.wrong_type) return wrong_type_error();
  std::int64_t n = 0;
  if (z.value) {
    for (const auto& [score, member] : z.value->order)
      n += range.contains(score);
  }
  return integer(n);
}

// The members selected by a rank or score range, in reply order.
using Selection = std::vector<const std::pair<double, std::string>*>;

Selection select_by_rank(const ZSet& z, std::int64_t start, std::int64_t stop, bool rev) {
  const std::int64_t len = static_cast<std::int64_t>(z.order.size());
  if (start < 0) start += len;
  if (stop < 0) stop += len;
  if (start < 0) start = 0;
  Selection out;
  if (start > stop || start >= len) return out;
  if (stop >= len) stop = len - 1;
  std::vector<const std::pair<double, std::string>*> all;
  for (const auto& p : z.order)
    all.push_back(&p);
  if (rev) std::reverse(all.begin(), all.end());
  for (std::int64_t i = start; i <= stop; ++i)
    out.push_back(all[i]);
  return out;
}

Selection select_by_score(const ZSet& z, const ScoreRange& range, bool rev, std::int64_t offset,
                          std::int64_t count) {
  Selection in_range;
  for (const auto& p : z.order) {
    if (range.contains(p.first)) in_range.push_back(&p);
  }
  if (rev) std::reverse(in_range.begin(), in_range.end());
  Selection out;
  if (offset < 0) return out;
  for (std::size_t i = static_cast<std::size_t>(offset); i < in_range.size(); ++i) {
    if (count >= 0 && static_cast<std::int64_t>(out.size()) >= count) break;
    out.push_back(in_range[i]);
  }
  return out;
}

RedisReply reply_selection(const Selection& selection, bool with_scores) {
  std::vector<RedisReply> out;
  for (const auto* p : selection) {
    out.push_back(bulk(p->second));
    if (with_scores) out.push_back(bulk(format_double(p->first)));
  }
  return RedisReply::array(std::move(out));
}

enum class RangeKind { kRank, kScore };

// The shared body of ZRANGE, ZRANGEBYSCORE and ZREVRANGEBYSCORE (zrangeGenericCommand).
// `zrange_keywords`: ZRANGE's BYSCORE, BYLEX and REV are accepted (not by the
// older ZRANGEBYSCORE forms).
RedisReply zrange_generic(CommandContext& ctx, const Args& a, bool zrange_keywords, RangeKind kind,
                          bool rev) {
  bool with_scores = false, limit = false;
  std::int64_t offset = 0, count = -1;
  bool by_lex = false;
  for (std::size_t i = 4; i < a.size(); ++i) {
    const std::string opt = lower(a[i]);
    if (opt == "withscores") {
      with_scores = true;
    } else if (opt == "limit" && i + 2 < a.size()) {
      if (!parse_int64(a[i + 1], offset) || !parse_int64(a[i + 2], count)) {
        return not_integer_error();
      }
      limit = true;
      i += 2;
    } else if (zrange_keywords && opt == "byscore") {
      kind = RangeKind::kScore;
    } else if (zrange_keywords && opt == "bylex") {
      by_lex = true;
    } else if (zrange_keywords && opt == "rev") {
      rev = true;
    } else {
      return syntax_error();
    }
  }
  if (by_lex) return err("ERR BYLEX is not supported by the simulated Redis");
  if (limit && kind == RangeKind::kRank) {
    return err(
        "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX");
  }
  if (kind == RangeKind::kRank) {
    std::int64_t start = 0, stop = 0;
    if (!parse_int64(a[2], start) || !parse_int64(a[3], stop)) return not_integer_error();
    auto z = lookup_typed<ZSet>(ctx, a[1]);
    if (z.wrong_type) return wrong_type_error();
    if (!z.value) return RedisReply::array({});
    return reply_selection(select_by_rank(*z.value, start, stop, rev), with_scores);
  }
  // With REV the first bound is the maximum.
  ScoreRange range{};
  const bool ok_range =
      rev ? parse_score_range(a[3], a[2], range) : parse_score_range(a[2], a[3], range);
  if (!ok_range) return err("ERR min or max is not a float");
  auto z = lookup_typed<ZSet>(ctx, a[1]);
  if (z.wrong_type) return wrong_type_error();
  if (!z.value) return RedisReply::array({});
  return reply_selection(select_by_score(*z.value, range, rev, offset, count), with_scores);
}

RedisReply cmd_zrange(CommandContext& ctx, const Args& a) {
  return zrange_generic(ctx, a, true, RangeKind::kRank, false);
}
RedisReply cmd_zrangebyscore(CommandContext& ctx, const Args& a) {
  return zrange_generic(ctx, a, false, RangeKind::kScore, false);
}
RedisReply cmd_zrevrangebyscore(CommandContext& ctx, const Args& a) {
  return zrange_generic(ctx, a, false, RangeKind::kScore, true);
}

RedisReply cmd_zremrangebyscore(CommandContext& ctx, const Args& a) {
  ScoreRange range{};
  if (!parse_score_range(a[2], a[3], range)) return err("ERR min or max is not a float");
  auto z = lookup_typed<ZSet>(ctx, a[1]);
  if (z.wrong_type) return wrong_type_error();
  if (!z.value) return integer(0);
  std::vector<std::string> doomed;
  for (const auto& [score, member] : z.value->order) {
    if (range.contains(score)) doomed.push_back(member);
  }
  for (const std::string& m : doomed)
    zset_remove(*z.value, m);
  drop_if_empty(ctx, a[1], *z.value);
  return integer(static_cast<std::int64_t>(doomed.size()));
}

RedisReply cmd_zremrangebyrank(CommandContext& ctx, const Args& a) {
  std::int64_t start = 0, stop = 0;
  if (!parse_int64(a[2], start) || !parse_int64(a[3], stop)) return not_integer_error();
  auto z = lookup_typed<ZSet>(ctx, a[1]);
  if (z.wrong_type) return wrong_type_error();
  if (!z.value) return integer(0);
  std::vector<std::string> doomed;
  for (const auto* p : select_by_rank(*z.value, start, stop, false))
    doomed.push_back(p->second);
  for (const std::string& m : doomed)
    zset_remove(*z.value, m);
  drop_if_empty(ctx, a[1], *z.value);
  return integer(static_cast<std::int64_t>(doomed.size()));
}

constexpr CommandSpec kCommands[] = {
    {"zadd", -4, kWrite | kDenyOom, cmd_zadd},
    {"zcard", 2, 0, cmd_zcard},
    {"zcount", 4, 0, cmd_zcount},
    {"zincrby", 4, kWrite | kDenyOom, cmd_zincrby},
    {"zrange", -4, 0, cmd_zrange},
    {"zrangebyscore", -4, 0, cmd_zrangebyscore},
    {"zrank", 3, 0, cmd_zrank},
    {"zrem", -3, kWrite, cmd_zrem},
    {"zremrangebyrank", 4, kWrite, cmd_zremrangebyrank},
    {"zremrangebyscore", 4, kWrite, cmd_zremrangebyscore},
    {"zrevrangebyscore", -4, 0, cmd_zrevrangebyscore},
    {"zscore", 3, 0, cmd_zscore},
};

}  // namespace

std::span<const CommandSpec> zset_commands() {
  return kCommands;
}

}  // namespace distkit::sim::redis
