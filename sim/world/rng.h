// Rng: the simulated world's only source of randomness. xoshiro256** seeded through
// splitmix64, with distribution code of our own: the <random> distributions are
// implementation-defined and would give different runs on different standard
// libraries. Named sub-streams (derive) keep components independent, so adding a
// draw in one (say, the workload) does not reshuffle another (the network).
#ifndef DISTKIT_SIM_WORLD_RNG_H_
#define DISTKIT_SIM_WORLD_RNG_H_

#include <cstdint>
#include <string_view>

namespace distkit::sim {

class Rng {
 public:
  explicit Rng(std::uint64_t seed);

  // A generator whose stream depends only on this generator's seed and `name`
  // (not on how much this one has been used).
  [[nodiscard]] Rng derive(std::string_view name) const;
  [[nodiscard]] Rng derive(std::uint64_t index) const;

  [[nodiscard]] std::uint64_t seed() const { return seed_; }
  [[nodiscard]] std::uint64_t next_u64();
  // Uniform in [0, bound). REQUIRES: bound > 0. Unbiased (Lemire's method).
  [[nodiscard]] std::uint64_t below(std::uint64_t bound);
  // Uniform in [lo, hi]. REQUIRES: lo <= hi.
  [[nodiscard]] std::int64_t between(std::int64_t lo, std::int64_t hi);
  // Uniform in [0, 1), 53 random bits.
  [[nodiscard]] double unit();
  // True with probability p (p <= 0: never, p >= 1: always).
  [[nodiscard]] bool chance(double p);

 private:
  std::uint64_t seed_;
  std::uint64_t state_[4];
};

// A 64-bit mix of `seed` and `bytes` (FNV-1a then a splitmix64 finaliser).
[[nodiscard]] std::uint64_t mix_hash(std::uint64_t seed, std::string_view bytes);
[[nodiscard]] std::uint64_t mix_hash(std::uint64_t seed, std::uint64_t value);

}  // namespace distkit::sim

#endif  // DISTKIT_SIM_WORLD_RNG_H_
