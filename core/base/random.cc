#include "distkit/core/base/random.h"

#include <random>

namespace distkit {

std::uint64_t splitmix64_step(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::uint64_t entropy_u64() {
  std::random_device device;
  return (static_cast<std::uint64_t>(device()) << 32) | device();
}

std::uint64_t seed_or_entropy(std::uint64_t seed) {
  while (seed == 0)
    seed = entropy_u64();
  return seed;
}

}  // namespace distkit
