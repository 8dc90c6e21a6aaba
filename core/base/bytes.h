// Bytes on the wire and on disk: fixed-width little-endian integers, a reader that
// checks every width against what is left, and CRC-32C. Shared by Raft's codec and WAL
// and by the peer streams' framing.
#ifndef DISTKIT_CORE_BASE_BYTES_H_
#define DISTKIT_CORE_BASE_BYTES_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace distkit {

// Fixed-width little-endian integers (a log or a stream written on one machine is read
// on another), shared by Raft's codec, its WAL and the peer streams' frames. The getters
// REQUIRE `at + width <= bytes.size()` (the callers check lengths first).
void put_u32(std::string& out, std::uint32_t v);
void put_u64(std::string& out, std::uint64_t v);
[[nodiscard]] std::uint32_t get_u32(std::string_view bytes, std::size_t at);
[[nodiscard]] std::uint64_t get_u64(std::string_view bytes, std::size_t at);

// Reads fixed-width fields off the front of `bytes`; each read returns false (and
// reads nothing) when too few bytes are left.
class ByteReader {
 public:
  explicit ByteReader(std::string_view bytes) : bytes_(bytes) {}
  [[nodiscard]] std::size_t left() const { return bytes_.size() - at_; }
  [[nodiscard]] bool u8(std::uint8_t& v) {
    if (left() < 1) return false;
    v = static_cast<std::uint8_t>(bytes_[at_++]);
    return true;
  }
  [[nodiscard]] bool u32(std::uint32_t& v) {
    if (left() < 4) return false;
    v = get_u32(bytes_, at_);
    at_ += 4;
    return true;
  }
  [[nodiscard]] bool u64(std::uint64_t& v) {
    if (left() < 8) return false;
    v = get_u64(bytes_, at_);
    at_ += 8;
    return true;
  }
  [[nodiscard]] bool bytes(std::size_t n, std::string& out) {
    if (left() < n) return false;
    out.assign(bytes_.substr(at_, n));
    at_ += n;
    return true;
  }
  // A u32 length, then that many bytes.
  [[nodiscard]] bool sized(std::string& out) {
    std::uint32_t n = 0;
    if (left() < 4 || left() - 4 < get_u32(bytes_, at_)) return false;
    (void)u32(n);
    return bytes(n, out);
  }
  // Everything left.
  [[nodiscard]] std::string_view rest() {
    std::string_view r = bytes_.substr(at_);
    at_ = bytes_.size();
    return r;
  }

 private:
  std::string_view bytes_;
  std::size_t at_ = 0;
};

// CRC-32C (Castagnoli; Boost.CRC), as ext4, iSCSI and etcd's WAL use.
[[nodiscard]] std::uint32_t crc32c(std::string_view bytes);

void put_u8(std::string& out, std::uint8_t v);
// A u32 length, then the bytes (REQUIRES size < 4 GiB).
void put_sized(std::string& out, std::string_view bytes);

}  // namespace distkit

#endif  // DISTKIT_CORE_BASE_BYTES_H_
