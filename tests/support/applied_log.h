// A test state machine's whole state as bytes: the list of entries it applied, in
// order. Tests that record what each member applied snapshot that list, so a member
// restored from a snapshot still has the full history to compare.
#ifndef DISTKIT_TESTS_SUPPORT_APPLIED_LOG_H_
#define DISTKIT_TESTS_SUPPORT_APPLIED_LOG_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "distkit/core/raft/codec.h"
#include "distkit/core/raft/types.h"

namespace distkit::raft::testing {

inline std::string encode_applied(const std::vector<Entry>& applied) {
  std::string out;
  put_u32(out, static_cast<std::uint32_t>(applied.size()));
  for (const Entry& e : applied) {
    std::string one;
    encode_entry(e, one);
    put_sized(out, one);
  }
  return out;
}

// Entries that do not parse end the list (tests compare what they get).
inline std::vector<Entry> decode_applied(std::string_view bytes) {
  ByteReader r(bytes);
  std::uint32_t n = 0;
  std::vector<Entry> out;
  if (!r.u32(n)) return out;
  for (std::uint32_t i = 0; i < n; ++i) {
    std::string one;
    if (!r.sized(one)) break;
    Result<Entry> e = decode_entry(one);
    if (!e.ok()) break;
    out.push_back(std::move(*e));
  }
  return out;
}

}  // namespace distkit::raft::testing

#endif  // DISTKIT_TESTS_SUPPORT_APPLIED_LOG_H_
