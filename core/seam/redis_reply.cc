#include "distkit/core/seam/redis_reply.h"

#include <cstdio>
#include <cstdlib>
#include <ostream>

namespace distkit {
namespace {

[[noreturn]] void die_wrong_type(const char* accessor, RedisReply::Type actual) {
  std::fprintf(stderr, "distkit: RedisReply::%s() on a reply of type %.*s\n", accessor,
               static_cast<int>(reply_type_name(actual).size()), reply_type_name(actual).data());
  std::abort();
}

void append_quoted(std::string& out, std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (unsigned char c : bytes) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c >= 0x7f) {
          out += "\\x";
          out += kHex[c >> 4];
          out += kHex[c & 0xf];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

void render(const RedisReply& reply, std::string& out) {
  switch (reply.type()) {
    case RedisReply::Type::kNil:
      out += "(nil)";
      return;
    case RedisReply::Type::kInteger:
      out += "(integer) ";
      out += std::to_string(reply.integer_value());
      return;
    case RedisReply::Type::kSimpleString:
      out += reply.text();
      return;
    case RedisReply::Type::kBulkString:
      append_quoted(out, reply.text());
      return;
    case RedisReply::Type::kError:
      out += "(error) ";
      out += reply.text();
      return;
    case RedisReply::Type::kArray: {
      out += '[';
      bool first = true;
      for (const RedisReply& element : reply.elements()) {
        if (!first) out += ", ";
        first = false;
        render(element, out);
      }
      out += ']';
      return;
    }
  }
}

}  // namespace

RedisReply RedisReply::integer(std::int64_t value) {
  return RedisReply(std::in_place_index<1>, value);
}
RedisReply RedisReply::simple_string(std::string text) {
  return RedisReply(std::in_place_index<2>, Simple{std::move(text)});
}
RedisReply RedisReply::bulk_string(std::string bytes) {
  return RedisReply(std::in_place_index<3>, Bulk{std::move(bytes)});
}
RedisReply RedisReply::error(std::string line) {
  return RedisReply(std::in_place_index<4>, Error{std::move(line)});
}
RedisReply RedisReply::array(std::vector<RedisReply> elements) {
  return RedisReply(std::in_place_index<5>, std::move(elements));
}

std::int64_t RedisReply::integer_value() const {
  if (!is_integer()) die_wrong_type("integer_value", type());
  return std::get<std::int64_t>(rep_);
}

const std::string& RedisReply::text() const {
  switch (type()) {
    case Type::kSimpleString:
      return std::get<Simple>(rep_).text;
    case Type::kBulkString:
      return std::get<Bulk>(rep_).bytes;
    case Type::kError:
      return std::get<Error>(rep_).line;
    default:
      die_wrong_type("text", type());
  }
}

const std::vector<RedisReply>& RedisReply::elements() const {
  if (!is_array()) die_wrong_type("elements", type());
  return std::get<std::vector<RedisReply>>(rep_);
}

std::vector<RedisReply>& RedisReply::elements() {
  if (!is_array()) die_wrong_type("elements", type());
  return std::get<std::vector<RedisReply>>(rep_);
}

std::string_view RedisReply::error_prefix() const {
  if (!is_error()) return {};
  std::string_view line = std::get<Error>(rep_).line;
  return line.substr(0, line.find(' '));
}

std::string RedisReply::to_string() const {
  std::string out;
  render(*this, out);
  return out;
}

std::string_view reply_type_name(RedisReply::Type type) {
  switch (type) {
    case RedisReply::Type::kNil:
      return "nil";
    case RedisReply::Type::kInteger:
      return "integer";
    case RedisReply::Type::kSimpleString:
      return "simple-string";
    case RedisReply::Type::kBulkString:
      return "bulk-string";
    case RedisReply::Type::kError:
      return "error";
    case RedisReply::Type::kArray:
      return "array";
  }
  return "invalid";
}

std::ostream& operator<<(std::ostream& os, const RedisReply& reply) {
  return os << reply.to_string();
}

}  // namespace distkit
