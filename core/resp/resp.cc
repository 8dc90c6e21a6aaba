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
  if (command.empty()) return next();  // an empty line is ignored
  return Result<RedisCommand>(std::move(command));
}

std::optional<Result<RedisCommand>> RespRequestParser::next() {
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
      return next();  // "*0" and "*-1" carry no command
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

}  // namespace distkit
