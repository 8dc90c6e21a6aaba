// Builds against distkit as an external Bazel repository.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "distkit/core/base/status.h"
#include "distkit/core/seam/redis_reply.h"

distkit::Result<long> parse_limit(const char* text) {
  char* end = nullptr;
  long value = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || value <= 0) {
    return distkit::invalid_argument_error(std::string("not a positive limit: ") + text);
  }
  return value;
}

int main(int argc, char** argv) {
  distkit::Result<long> limit = parse_limit(argc > 1 ? argv[1] : "100");
  if (!limit.ok()) {
    std::fprintf(stderr, "%s\n", limit.status().to_string().c_str());
    return 2;
  }
  distkit::RedisReply reply = distkit::RedisReply::array(
      {distkit::RedisReply::integer(1), distkit::RedisReply::integer(*limit)});
  std::printf("distkit consumer: limit %ld, reply %s\n", *limit, reply.to_string().c_str());
  return 0;
}
