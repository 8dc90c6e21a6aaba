// InMemoryRedis's command table (every file's commands, looked up by name), and the
// parsing and formatting helpers the commands share, as Redis 7.0 does them.
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "sim/redis/commands.h"

namespace distkit::sim::redis {
namespace {

// Commands that act on a connection (its transaction, authentication, name,
// database, cluster flags): InMemoryRedis::execute runs them with the session at
// hand. Unlike Redis, they run at once inside MULTI instead of queueing.
RedisReply cmd_asking(CommandContext&, const RedisCommand&) {
  return RedisReply::simple_string("OK");
}

constexpr CommandSpec kConnectionCommands[] = {
    // Cluster mode's (cluster_mode.h); a standalone server refuses them.
    // Runs in execute (it sets the connection's flag); queued inside MULTI, as Redis
    // does, where it is a no-op.
    {"asking", 1, kNoScript, cmd_asking},
    {"cluster", -2, kNoScript | kNoMulti | kStale | kSession, nullptr},
    {"readonly", 1, kNoScript | kNoMulti | kLoading | kStale | kSession, nullptr},
    {"readwrite", 1, kNoScript | kNoMulti | kLoading | kStale | kSession, nullptr},
    {"auth", -2, kNoScript | kNoMulti | kLoading | kStale | kAllowBusy | kSession | kNoAuth,
     nullptr},
    {"client", -2, kNoScript | kNoMulti | kLoading | kStale | kAllowBusy | kSession, nullptr},
    {"discard", 1, kNoScript | kNoMulti | kLoading | kStale | kAllowBusy, nullptr},
    {"exec", 1, kNoScript | kNoMulti | kLoading | kStale, nullptr},
    {"hello", -1, kNoScript | kNoMulti | kLoading | kStale | kAllowBusy | kSession | kNoAuth,
     nullptr},
    {"multi", 1, kNoScript | kNoMulti | kLoading | kStale | kAllowBusy, nullptr},
    {"select", 2, kNoMulti | kLoading | kStale | kSession, nullptr},
};

}  // namespace

// ---- Exported helpers ------------------------------------------------------------------

const CommandSpec* find_command(std::string_view name) {
  static const std::vector<CommandSpec> table = [] {
    std::vector<CommandSpec> all(std::begin(kConnectionCommands), std::end(kConnectionCommands));
    for (auto part : {keyspace_commands(), string_commands(), hash_commands(), set_commands(),
                      zset_commands(), scripting_commands()}) {
      all.insert(all.end(), part.begin(), part.end());
    }
    std::sort(all.begin(), all.end(), [](const CommandSpec& a, const CommandSpec& b) {
      return std::string_view(a.name) < std::string_view(b.name);
    });
    // One entry per name, or which one a lookup finds depends on the sort.
    for (std::size_t i = 1; i < all.size(); ++i) {
      if (all[i].name == all[i - 1].name) {
        std::fprintf(stderr, "InMemoryRedis: two commands named %s\n",
                     std::string(all[i].name).c_str());
        std::abort();
      }
    }
    return all;
  }();
  const std::string key = lower(name);
  auto it = std::lower_bound(table.begin(), table.end(), key,
                             [](const CommandSpec& c, const std::string& k) { return c.name < k; });
  return it != table.end() && it->name == key ? &*it : nullptr;
}

const CommandSpec* lookup_for_client(const RedisCommand& command, RedisReply* error) {
  const CommandSpec* spec = find_command(command[0]);
  if (spec == nullptr) {
    std::string line = "ERR unknown command '" + command[0] + "', with args beginning with: ";
    for (std::size_t i = 1; i < command.size() && i < 16; ++i)
      line += "'" + command[i] + "' ";
    *error = err(std::move(line));
    return nullptr;
  }
  const int argc = static_cast<int>(command.size());
  if ((spec->arity > 0 && argc != spec->arity) || (spec->arity < 0 && argc < -spec->arity)) {
    *error = arity_error(spec->name);
    return nullptr;
  }
  return spec;
}

std::optional<RedisReply> refusal(const CommandSpec& spec, const CommandContext& ctx,
                                  const RedisCommand& command) {
  // processCommand's order: OOM, then a replica's READONLY, then MASTERDOWN, LOADING
  // and BUSY (the conditions below).
  if (ctx.replica && (spec.flags & kWrite)) {
    const bool oom = ctx.condition == ServerCondition::kOutOfMemory && (spec.flags & kDenyOom) &&
                     !(ctx.in_script && ctx.script_wrote);
    if (!oom) return err("READONLY You can't write against a read only replica.");
  }
  switch (ctx.condition) {
    case ServerCondition::kNormal:
      return std::nullopt;
    case ServerCondition::kLoading:
      // A script cannot run while loading: EVAL itself was refused.
      if (spec.flags & kLoading) return std::nullopt;
      return err("LOADING Redis is loading the dataset in memory");
    case ServerCondition::kBusyScript:
      // Only another client is refused; the script running is not ours to model.
      if (ctx.in_script || (spec.flags & kAllowBusy)) return std::nullopt;
      if (spec.name == "script" && command.size() == 2 && lower(command[1]) == "kill") {
        return std::nullopt;
      }
      return err(
          "BUSY Redis is busy running a script. You can only call SCRIPT KILL or "
          "SHUTDOWN NOSAVE.");
    case ServerCondition::kOutOfMemory:
      // Inside a script only until its first write: after that it must finish, so that
      // it stays atomic (scriptVerifyOOM).
      if (!(spec.flags & kDenyOom) || (ctx.in_script && ctx.script_wrote)) return std::nullopt;
      return err("OOM command not allowed when used memory > 'maxmemory'.");
    case ServerCondition::kReadOnly:
      if (!(spec.flags & kWrite)) return std::nullopt;
      return err("READONLY You can't write against a read only replica.");
    case ServerCondition::kMasterDown:
      if (spec.flags & kStale) return std::nullopt;
      return err(
          "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to "
          "'no'.");
  }
  return std::nullopt;
}

RedisReply run_command(const CommandSpec& spec, CommandContext& ctx, const RedisCommand& command) {
  // MULTI, EXEC and DISCARD (no handler) act on a connection: the server loop runs them.
  if (spec.handler == nullptr)
    return err("ERR " + std::string(spec.name) + " outside a connection");
  return spec.handler(ctx, command);
}

bool parse_int64(std::string_view s, std::int64_t& out) {
  if (s.empty() || s.size() > 20) return false;
  if (s == "0") {
    out = 0;
    return true;
  }
  std::size_t i = 0;
  const bool negative = s[0] == '-';
  if (negative) i = 1;
  if (i >= s.size() || s[i] < '1' || s[i] > '9') return false;
  unsigned long long v = 0;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    if (v > (ULLONG_MAX - (s[i] - '0')) / 10) return false;
    v = v * 10 + static_cast<unsigned long long>(s[i] - '0');
  }
  if (negative) {
    if (v > static_cast<unsigned long long>(LLONG_MAX) + 1) return false;
    out = static_cast<std::int64_t>(0 - v);
  } else {
    if (v > static_cast<unsigned long long>(LLONG_MAX)) return false;
    out = static_cast<std::int64_t>(v);
  }
  return true;
}

bool parse_double(std::string_view s, double& out) {
  if (s.empty() || std::isspace(static_cast<unsigned char>(s.front()))) return false;
  std::string copy(s);
  char* end = nullptr;
  errno = 0;
  out = std::strtod(copy.c_str(), &end);
  if (*end != '\0' || std::isnan(out)) return false;
  if (errno == ERANGE && (out == HUGE_VAL || out == -HUGE_VAL || std::fpclassify(out) == FP_ZERO)) {
    return false;
  }
  return true;
}

bool parse_long_double(std::string_view s, long double& out) {
  if (s.empty() || s.size() >= 5120 || std::isspace(static_cast<unsigned char>(s.front())))
    return false;
  std::string copy(s);
  char* end = nullptr;
  errno = 0;
  out = std::strtold(copy.c_str(), &end);
  if (*end != '\0' || std::isnan(out)) return false;
  if (errno == ERANGE &&
      (out == HUGE_VALL || out == -HUGE_VALL || std::fpclassify(out) == FP_ZERO)) {
    return false;
  }
  return true;
}

std::string format_double(double d) {
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", d);
  return buf;
}

std::string format_long_double(long double d) {
  char buf[5600];
  int n = std::snprintf(buf, sizeof buf, "%.17Lf", d);
  std::string s(buf, static_cast<std::size_t>(std::max(n, 0)));
  if (s.find('.') != std::string::npos) {
    while (!s.empty() && s.back() == '0')
      s.pop_back();
    if (!s.empty() && s.back() == '.') s.pop_back();
  }
  if (s == "-0") s = "0";
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool glob_match(std::string_view p, std::string_view s, bool nocase) {
  auto fold = [nocase](char c) {
    return nocase ? static_cast<char>(std::tolower(static_cast<unsigned char>(c))) : c;
  };
  while (!p.empty()) {
    switch (p.front()) {
      case '*': {
        while (p.size() > 1 && p[1] == '*')
          p.remove_prefix(1);
        if (p.size() == 1) return true;
        for (std::size_t i = 0; i <= s.size(); ++i) {
          if (glob_match(p.substr(1), s.substr(i), nocase)) return true;
        }
        return false;
      }
      case '?':
        if (s.empty()) return false;
        s.remove_prefix(1);
        p.remove_prefix(1);
        break;
      case '[': {
        if (s.empty()) return false;
        p.remove_prefix(1);
        const bool negate = !p.empty() && p.front() == '^';
        if (negate) p.remove_prefix(1);
        bool match = false;
        while (!p.empty() && p.front() != ']') {
          if (p.front() == '\\' && p.size() >= 2) {
            p.remove_prefix(1);
            if (fold(p.front()) == fold(s.front())) match = true;
          } else if (p.size() >= 3 && p[1] == '-') {
            char lo = fold(p[0]), hi = fold(p[2]);
            if (lo > hi) std::swap(lo, hi);
            const char c = fold(s.front());
            if (c >= lo && c <= hi) match = true;
            p.remove_prefix(2);
          } else if (fold(p.front()) == fold(s.front())) {
            match = true;
          }
          p.remove_prefix(1);
        }
        if (!p.empty()) p.remove_prefix(1);  // ']'
        if (negate) match = !match;
        if (!match) return false;
        s.remove_prefix(1);
        break;
      }
      case '\\':
        if (p.size() >= 2) p.remove_prefix(1);
        [[fallthrough]];
      default:
        if (s.empty() || fold(p.front()) != fold(s.front())) return false;
        p.remove_prefix(1);
        s.remove_prefix(1);
    }
  }
  return s.empty();
}

RedisReply wrong_type_error() {
  return err("WRONGTYPE Operation against a key holding the wrong kind of value");
}
RedisReply syntax_error() {
  return err("ERR syntax error");
}
RedisReply not_integer_error() {
  return err("ERR value is not an integer or out of range");
}
RedisReply arity_error(std::string_view name) {
  return err("ERR wrong number of arguments for '" + std::string(name) + "' command");
}

}  // namespace distkit::sim::redis
