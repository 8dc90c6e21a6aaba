#include "distkit/core/cluster/slots.h"

#include <algorithm>
#include <cctype>
#include <charconv>

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

}  // namespace

std::optional<Redirect> parse_redirect(std::string_view line) {
  Redirect redirect;
  if (line.starts_with("ASK ")) {
    redirect.ask = true;
  } else if (!line.starts_with("MOVED ")) {
    return std::nullopt;
  }
  const std::size_t first = line.find(' ');
  const std::size_t second = line.find(' ', first + 1);
  if (first == std::string_view::npos || second == std::string_view::npos) return std::nullopt;
  unsigned slot = 0;
  const std::string_view number = line.substr(first + 1, second - first - 1);
  auto [end, error] = std::from_chars(number.data(), number.data() + number.size(), slot);
  if (error != std::errc() || end != number.data() + number.size() || slot >= kClusterSlots) {
    return std::nullopt;
  }
  redirect.slot = static_cast<std::uint16_t>(slot);
  redirect.address = std::string(line.substr(second + 1));
  if (!split_address(redirect.address)) return std::nullopt;
  return redirect;
}

std::optional<HostPort> split_address(std::string_view address) {
  const std::size_t colon = address.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  const std::string_view digits = address.substr(colon + 1);
  unsigned port = 0;
  auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (error != std::errc() || end != digits.data() + digits.size() || port < 1 || port > 65535) {
    return std::nullopt;
  }
  HostPort out;
  out.host = std::string(address.substr(0, colon));
  if (out.host == "?") out.host.clear();
  out.port = static_cast<std::uint16_t>(port);
  return out;
}

bool is_broadcast(const RedisCommand& c) {
  const std::string name = lower(c[0]);
  if (name == "flushall" || name == "flushdb") return true;
  if (name != "script" || c.size() < 2) return false;
  const std::string sub = lower(c[1]);
  return sub == "load" || sub == "exists" || sub == "flush";
}

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

}  // namespace distkit::cluster
