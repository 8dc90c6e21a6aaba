// Core's random numbers: one seeded generator (splitmix64) and the one place that
// asks the operating system for entropy. Everything random in core is drawn from a
// seed, so the simulator replays it; only a seed of 0 ("pick one") reaches entropy.
// No <random> distributions: they differ between standard libraries.
//
// Thread safety: a SplitMix64 is a plain value (one user at a time); entropy_u64()
// may be called from any thread.
#ifndef DISTKIT_CORE_BASE_RANDOM_H_
#define DISTKIT_CORE_BASE_RANDOM_H_

#include <cstdint>

namespace distkit {

// Advances `state` by one splitmix64 step and returns its output (also a good 64-bit
// finaliser: every bit of the state affects every bit of the result).
[[nodiscard]] std::uint64_t splitmix64_step(std::uint64_t& state);

class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t seed) : state_(seed) {}
  [[nodiscard]] std::uint64_t next_u64() { return splitmix64_step(state_); }
  // Uniform in [0, 1), 53 random bits.
  [[nodiscard]] double next_unit() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

 private:
  std::uint64_t state_;
};

// 64 bits from std::random_device: for ids, sessions and seeds the caller left to us.
[[nodiscard]] std::uint64_t entropy_u64();
// `seed` itself, or entropy_u64() (never 0) when it is 0.
[[nodiscard]] std::uint64_t seed_or_entropy(std::uint64_t seed);

}  // namespace distkit

#endif  // DISTKIT_CORE_BASE_RANDOM_H_
