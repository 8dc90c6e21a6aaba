// RedisReply: one RESP2 reply, as a value. Faithful to the protocol's types: integer,
// simple string, bulk string, nil (the null bulk string), error, and arrays that nest.
// Both backends (real Redis through the transport, the simulated server) produce it.
//
// Thread safety: a RedisReply is a plain value; const methods may run concurrently.
#ifndef DISTKIT_CORE_SEAM_REDIS_REPLY_H_
#define DISTKIT_CORE_SEAM_REDIS_REPLY_H_

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace distkit {

class RedisReply {
 public:
  enum class Type : std::uint8_t {
    kNil,           // $-1 (RESP2's null bulk string; also used for *-1)
    kInteger,       // :<n>
    kSimpleString,  // +<text>
    kBulkString,    // $<len> <bytes>
    kError,         // -<CODE message>
    kArray,         // *<n> <elements>
  };

  // Nil.
  RedisReply() = default;

  [[nodiscard]] static RedisReply nil() { return RedisReply(); }
  [[nodiscard]] static RedisReply integer(std::int64_t value);
  [[nodiscard]] static RedisReply simple_string(std::string text);
  [[nodiscard]] static RedisReply bulk_string(std::string bytes);
  // `line` is the whole error line, e.g. "ERR unknown command 'FOO'".
  [[nodiscard]] static RedisReply error(std::string line);
  [[nodiscard]] static RedisReply array(std::vector<RedisReply> elements);

  [[nodiscard]] Type type() const { return static_cast<Type>(rep_.index()); }
  [[nodiscard]] bool is_nil() const { return type() == Type::kNil; }
  [[nodiscard]] bool is_integer() const { return type() == Type::kInteger; }
  [[nodiscard]] bool is_simple_string() const { return type() == Type::kSimpleString; }
  [[nodiscard]] bool is_bulk_string() const { return type() == Type::kBulkString; }
  // Simple or bulk.
  [[nodiscard]] bool is_string() const { return is_simple_string() || is_bulk_string(); }
  [[nodiscard]] bool is_error() const { return type() == Type::kError; }
  [[nodiscard]] bool is_array() const { return type() == Type::kArray; }

  // REQUIRES: is_integer().
  [[nodiscard]] std::int64_t integer_value() const;
  // The text of a simple string, the bytes of a bulk string, the line of an error.
  // REQUIRES: is_string() || is_error().
  [[nodiscard]] const std::string& text() const;
  // REQUIRES: is_array().
  [[nodiscard]] const std::vector<RedisReply>& elements() const;
  [[nodiscard]] std::vector<RedisReply>& elements();

  // For an error: its first word ("ERR", "WRONGTYPE", "NOSCRIPT"); else empty.
  [[nodiscard]] std::string_view error_prefix() const;

  // A redis-cli-like rendering for logs and test failures: (integer) 3, "bytes",
  // (nil), (error) ERR ..., and arrays as [a, b]. Control bytes are escaped.
  [[nodiscard]] std::string to_string() const;

  friend bool operator==(const RedisReply&, const RedisReply&) = default;

 private:
  struct Nil {
    friend bool operator==(Nil, Nil) = default;
  };
  struct Simple {
    std::string text;
    friend bool operator==(const Simple&, const Simple&) = default;
  };
  struct Bulk {
    std::string bytes;
    friend bool operator==(const Bulk&, const Bulk&) = default;
  };
  struct Error {
    std::string line;
    friend bool operator==(const Error&, const Error&) = default;
  };
  // Alternatives in the order of Type.
  using Rep = std::variant<Nil, std::int64_t, Simple, Bulk, Error, std::vector<RedisReply>>;

  template <std::size_t kIndex, typename... Args>
  explicit RedisReply(std::in_place_index_t<kIndex> index, Args&&... args)
      : rep_(index, std::forward<Args>(args)...) {}

  Rep rep_;
};

[[nodiscard]] std::string_view reply_type_name(RedisReply::Type type);

// Writes to_string() (so test frameworks print replies readably).
std::ostream& operator<<(std::ostream& os, const RedisReply& reply);

}  // namespace distkit

#endif  // DISTKIT_CORE_SEAM_REDIS_REPLY_H_
