#include "distkit/core/resp/resp.h"

#include <charconv>

namespace distkit {
namespace {

void append_line(std::string& out, char type, std::string_view text) {
  out += type;
  out.append(text);
  out += "\r\n";
}

// Redis's string2ll for protocol lengths (accepts "-1"). False on garbage.
bool parse_length(std::string_view s, long long& out) {
  if (s.empty()) return false;
  auto [end, error] = std::from_chars(s.data(), s.data() + s.size(), out);
  return error == std::errc() && end == s.data() + s.size();
}

}  // namespace

void encode_reply(const RedisReply& reply, std::string& out) {
  switch (reply.type()) {
    case RedisReply::Type::kNil:
      out += "$-1\r\n";
      return;
    case RedisReply::Type::kInteger:
      append_line(out, ':', std::to_string(reply.integer_value()));
      return;
    case RedisReply::Type::kSimpleString:
    case RedisReply::Type::kError: {
      // Simple strings and errors cannot carry CR or LF.
      std::string text = reply.text();
      for (char& c : text) {
        if (c == '\r' || c == '\n') c = ' ';
      }
      append_line(out, reply.is_error() ? '-' : '+', text);
      return;
    }
    case RedisReply::Type::kBulkString:
      append_line(out, '$', std::to_string(reply.text().size()));
      out.append(reply.text());
      out += "\r\n";
      return;
    case RedisReply::Type::kArray:
      append_line(out, '*', std::to_string(reply.elements().size()));
      for (const RedisReply& element : reply.elements())
        encode_reply(element, out);
      return;
  }
}

std::string encode_reply(const RedisReply& reply) {
  std::string out;
  encode_reply(reply, out);
  return out;
}

std::optional<Result<RedisCommand>> RespRequestParser::fail(std::string message) {
  error_ = protocol_error(std::move(message));
  return Result<RedisCommand>(*error_);
}

std::optional<std::string_view> RespRequestParser::line(std::size_t max) {
  const std::string_view rest = std::string_view(buffer_).substr(position_);
  const std::size_t end = rest.find("\r\n");
  if (end == std::string_view::npos || end > max) return std::nullopt;
  return rest.substr(0, end);
}

void RespRequestParser::compact() {
  // Drop consumed bytes once they dominate the buffer, so memory stays bounded.
  if (position_ > 4096 && position_ * 2 > buffer_.size()) {
    buffer_.erase(0, position_);
    position_ = 0;
  }
}

std::optional<Result<RedisCommand>> RespRequestParser::parse_inline() {
  const std::string_view rest = std::string_view(buffer_).substr(position_);
  const std::size_t newline = rest.find('\n');
  if (newline == std::string_view::npos) {
    if (rest.size() > limits_.max_inline_bytes)
      return fail("ERR Protocol error: too big inline request");
    return std::nullopt;
  }
  if (newline > limits_.max_inline_bytes) return fail("ERR Protocol error: too big inline request");
  std::string_view text = rest.substr(0, newline);
  if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
  position_ += newline + 1;
  RedisCommand command;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t'))
      ++i;
    if (i >= text.size()) break;
    std::string word;
    if (text[i] == '"' || text[i] == '\'') {
      const char quote = text[i++];
      bool closed = false;
      while (i < text.size()) {
        if (text[i] == '\\' && i + 1 < text.size() && quote == '"') {
          word += text[i + 1];
          i += 2;
        } else if (text[i] == quote) {
          closed = true;
          ++i;
          break;
        } else {
          word += text[i++];
        }
      }
      if (!closed) return fail("ERR Protocol error: unbalanced quotes in request");
    } else {
      while (i < text.size() && text[i] != ' ' && text[i] != '\t')
        word += text[i++];
    }
    command.push_back(std::move(word));
  }
  compact();
  if (command.empty()) {  // an empty line is ignored
    skipped_ = true;
    return std::nullopt;
  }
  return Result<RedisCommand>(std::move(command));
}

std::optional<Result<RedisCommand>> RespRequestParser::next() {
  // A loop, not recursion: a stream of empty lines or "*0" frames must not grow the
  // stack.
  while (true) {
    skipped_ = false;
    std::optional<Result<RedisCommand>> command = next_one();
    if (!skipped_) return command;
  }
}

std::optional<Result<RedisCommand>> RespRequestParser::next_one() {
  if (error_) return Result<RedisCommand>(*error_);
  if (buffered() > limits_.max_buffered_bytes) {
    return fail("ERR Protocol error: request exceeds the query buffer limit");
  }
  if (!in_multibulk_) {
    if (position_ >= buffer_.size()) return std::nullopt;
    if (buffer_[position_] != '*') return parse_inline();
    std::optional<std::string_view> header = line(limits_.max_inline_bytes);
    if (!header) {
      if (buffer_.size() - position_ > limits_.max_inline_bytes) {
        return fail("ERR Protocol error: too big mbulk count string");
      }
      return std::nullopt;
    }
    long long count = 0;
    if (!parse_length(header->substr(1), count) ||
        count > static_cast<long long>(limits_.max_arguments)) {
      return fail("ERR Protocol error: invalid multibulk length");
    }
    position_ += header->size() + 2;
    if (count <= 0) {
      compact();
      skipped_ = true;  // "*0" and "*-1" carry no command
      return std::nullopt;
    }
    in_multibulk_ = true;
    expected_arguments_ = static_cast<std::size_t>(count);
    command_.clear();
    command_.reserve(std::min<std::size_t>(expected_arguments_, 1024));
  }
  while (command_.size() < expected_arguments_) {
    if (!bulk_length_) {
      std::optional<std::string_view> header = line(limits_.max_inline_bytes);
      if (!header) {
        if (buffer_.size() - position_ > limits_.max_inline_bytes) {
          return fail("ERR Protocol error: too big bulk count string");
        }
        return std::nullopt;
      }
      if (header->empty() || header->front() != '$') {
        const char got = header->empty() ? '?' : header->front();
        return fail(std::string("ERR Protocol error: expected '$', got '") + got + "'");
      }
      long long length = 0;
      if (!parse_length(header->substr(1), length) || length < 0 ||
          static_cast<unsigned long long>(length) > limits_.max_bulk_bytes) {
        return fail("ERR Protocol error: invalid bulk length");
      }
      position_ += header->size() + 2;
      bulk_length_ = static_cast<std::size_t>(length);
    }
    if (buffer_.size() - position_ < *bulk_length_ + 2) return std::nullopt;
    if (buffer_.compare(position_ + *bulk_length_, 2, "\r\n") != 0) {
      return fail("ERR Protocol error: bulk string not terminated by CRLF");
    }
    command_.emplace_back(buffer_, position_, *bulk_length_);
    position_ += *bulk_length_ + 2;
    bulk_length_.reset();
  }
  in_multibulk_ = false;
  compact();
  return Result<RedisCommand>(std::move(command_));
}

// ---- Client side ------------------------------------------------------------------

namespace {

void append_header(std::string& out, char type, std::size_t n) {
  char digits[24];
  auto [end, error] = std::to_chars(digits, digits + sizeof digits, n);
  (void)error;
  out += type;
  out.append(digits, end);
  out += "\r\n";
}

std::size_t digits_of(std::size_t n) {
  std::size_t d = 1;
  while (n >= 10) {
    n /= 10;
    ++d;
  }
  return d;
}

}  // namespace

std::size_t encoded_command_size(const RedisCommand& command) {
  std::size_t size = 3 + digits_of(command.size());
  for (const std::string& arg : command)
    size += 3 + digits_of(arg.size()) + arg.size() + 2;
  return size;
}

void encode_command(const RedisCommand& command, std::string& out) {
  append_header(out, '*', command.size());
  for (const std::string& arg : command) {
    append_header(out, '$', arg.size());
    out.append(arg);
    out += "\r\n";
  }
}

std::string encode_command(const RedisCommand& command) {
  std::string out;
  out.reserve(encoded_command_size(command));
  encode_command(command, out);
  return out;
}

std::optional<Result<RedisReply>> RespReplyParser::fail(std::string message) {
  error_ = protocol_error("RESP: " + std::move(message));
  stack_.clear();
  return Result<RedisReply>(*error_);
}

std::optional<Result<RedisReply>> RespReplyParser::item() {
  const std::string_view rest = std::string_view(buffer_).substr(position_);
  const std::size_t end = rest.find("\r\n");
  if (end == std::string_view::npos) {
    // A '\r' at the end may be the start of the CRLF that ends a line of the limit.
    if (rest.size() - (rest.back() == '\r' ? 1 : 0) > limits_.max_line_bytes) {
      return fail("line longer than the limit");
    }
    return std::nullopt;
  }
  if (end > limits_.max_line_bytes) return fail("line longer than the limit");
  if (end == 0) return fail("empty line where a type byte was expected");
  const char type = rest[0];
  const std::string_view text = rest.substr(1, end - 1);
  const auto number = [&](long long& value) {
    auto [last, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    return !text.empty() && error == std::errc() && last == text.data() + text.size();
  };
  long long value = 0;
  switch (type) {
    case '+':
      position_ += end + 2;
      return Result<RedisReply>(RedisReply::simple_string(std::string(text)));
    case '-':
      position_ += end + 2;
      return Result<RedisReply>(RedisReply::error(std::string(text)));
    case ':':
      if (!number(value)) return fail("integer reply is not a 64-bit integer");
      position_ += end + 2;
      return Result<RedisReply>(RedisReply::integer(value));
    case '$': {
      if (!number(value) || value < -1) return fail("invalid bulk length");
      if (value == -1) {
        position_ += end + 2;
        return Result<RedisReply>(RedisReply::nil());
      }
      const auto length = static_cast<unsigned long long>(value);
      if (length > limits_.max_bulk_bytes) return fail("bulk string longer than the limit");
      if (rest.size() < end + 2 + length + 2) return std::nullopt;
      if (rest.compare(end + 2 + length, 2, "\r\n") != 0) {
        return fail("bulk string not terminated by CRLF");
      }
      position_ += end + 2 + length + 2;
      return Result<RedisReply>(RedisReply::bulk_string(std::string(rest.substr(end + 2, length))));
    }
    case '*': {
      // hiredis 0.14 refuses any array (empty or null too) below 8 levels.
      if (stack_.size() >= limits_.max_depth) {
        return fail("arrays nested deeper than " + std::to_string(limits_.max_depth));
      }
      if (!number(value) || value < -1) return fail("invalid array length");
      if (value == -1) {
        position_ += end + 2;
        return Result<RedisReply>(RedisReply::nil());  // RESP2's null array
      }
      if (static_cast<unsigned long long>(value) > limits_.max_array_elements) {
        return fail("array longer than the limit");
      }
      position_ += end + 2;
      if (value == 0) return Result<RedisReply>(RedisReply::array({}));
      Frame frame;
      frame.expected = static_cast<std::size_t>(value);
      frame.elements.reserve(std::min<std::size_t>(frame.expected, 1024));
      stack_.push_back(std::move(frame));
      return std::nullopt;  // the caller goes on with the elements
    }
    default:
      return fail(std::string("unknown reply type byte 0x") + "0123456789abcdef"[(type >> 4) & 15] +
                  "0123456789abcdef"[type & 15]);
  }
}

std::optional<Result<RedisReply>> RespReplyParser::next() {
  if (error_) return Result<RedisReply>(*error_);
  while (position_ < buffer_.size()) {
    const std::size_t depth = stack_.size();
    std::optional<Result<RedisReply>> value = item();
    if (error_) return value;
    if (!value) {
      if (stack_.size() > depth) continue;  // an array opened
      break;                                // incomplete
    }
    RedisReply reply = std::move(**value);
    // Place the value in the array being filled; close every array it completes.
    while (!stack_.empty()) {
      Frame& top = stack_.back();
      top.elements.push_back(std::move(reply));
      if (top.elements.size() < top.expected) break;
      reply = RedisReply::array(std::move(top.elements));
      stack_.pop_back();
    }
    if (!stack_.empty()) continue;
    // Compact once consumed bytes dominate, so memory stays bounded.
    if (position_ == buffer_.size()) {
      buffer_.clear();
      position_ = 0;
    } else if (position_ > 4096 && position_ * 2 > buffer_.size()) {
      buffer_.erase(0, position_);
      position_ = 0;
    }
    return Result<RedisReply>(std::move(reply));
  }
  return std::nullopt;
}

}  // namespace distkit
