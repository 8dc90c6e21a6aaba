// SimDisk: the storage seam (core/seam/disk.h) as a simulated disk that outlives its
// node's crashes. Each file has a durable image and the writes since its last sync;
// the directory has a durable namespace and the changes since its last sync. crash()
// keeps the durable state and, of the rest, what the CrashLoss mode says: nothing, or
// each pending write's sectors independently (torn and reordered writes). Faults: a
// failing sync, a lying sync (test-only: reports success, makes nothing durable), and
// bit rot in a durable image (which the WAL's checksums must catch). A sync covers the
// writes made before it started; a failed sync loses them for good while they stay
// readable, as Linux's page cache does after a failed writeback.
//
// A sync takes a latency drawn in [min, max] on the executor of the incarnation that
// attached itself (set_sync_latency); none attached, it completes at once. A crash
// detaches it, and a sync still waiting then makes nothing durable. Thread safety: none
// (the simulator is one thread).
#ifndef DISTKIT_SIM_DISK_SIM_DISK_H_
#define DISTKIT_SIM_DISK_SIM_DISK_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "distkit/core/async/executor.h"
#include "distkit/core/base/random.h"
#include "distkit/core/seam/disk.h"

namespace distkit::sim {

enum class CrashLoss : std::uint8_t {
  kEverythingUnsynced,  // every pending write and directory change is lost
  kTornSectors,         // each 512-byte piece of each pending write survives or not
};

class SimDisk final : public Disk {
 public:
  explicit SimDisk(std::uint64_t seed = 1) : rng_(seed) {}

  Result<std::unique_ptr<File>> open(const std::string& name, bool create) override;
  std::vector<std::string> list() const override;
  Status remove(const std::string& name) override;
  Status rename(const std::string& from, const std::string& to) override;
  Task<Status> sync_directory() override;

  // The node crashed: unsynced state is lost as `loss` says, and every open handle
  // becomes invalid (kFailedPrecondition).
  void crash(CrashLoss loss);

  // Syncs wait [min, max] on `executor` (the current incarnation's).
  void set_sync_latency(Executor& executor, Duration min, Duration max);

  // Faults.
  // Every sync takes `extra` more (a slow or overloaded device); zero lifts it.
  void set_extra_sync_latency(Duration extra) { latency_extra_ = extra; }
  void set_sync_fails(bool fails) { sync_fails_ = fails; }
  void set_lying_sync(bool lies) { lying_sync_ = lies; }  // tests only
  // Flips one bit of `name`'s durable image (and its visible one).
  Status flip_durable_bit(const std::string& name, std::uint64_t bit);

  // File syncs started (benchmarks count syncs per committed entry).
  [[nodiscard]] std::uint64_t syncs() const { return syncs_; }

 private:
  friend class SimFile;
  struct Pending {
    bool truncate = false;
    std::uint64_t offset = 0;  // or the new size
    std::string bytes;
  };
  struct FileState {
    std::string visible;
    std::string durable;
    std::vector<Pending> pending;
  };
  using FileId = std::uint64_t;

  Result<FileState*> state(FileId id, std::uint64_t generation);
  Task<Status> sync_file(FileId id, std::uint64_t generation);

  Task<void> sync_delay();

  SplitMix64 rng_;
  Executor* executor_ = nullptr;
  Duration latency_min_{0};
  Duration latency_max_{0};
  Duration latency_extra_{0};
  std::map<FileId, FileState> files_;
  std::map<std::string, FileId> names_;          // visible
  std::map<std::string, FileId> durable_names_;  // as of the last sync_directory
  FileId next_id_ = 1;
  std::uint64_t generation_ = 1;  // bumped by crash(): older handles are dead
  bool sync_fails_ = false;
  bool lying_sync_ = false;
  std::uint64_t syncs_ = 0;
};

}  // namespace distkit::sim

#endif  // DISTKIT_SIM_DISK_SIM_DISK_H_
