// The storage seam's contract (core/seam/disk.h) on every backend: the simulated disk
// and the POSIX disk under a temporary directory. Then the Raft WAL, the same code on
// both: what it persisted is what it recovers.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "distkit/core/async/task.h"
#include "distkit/core/raft/wal_storage.h"
#include "distkit/core/seam/disk.h"
#include "distkit/sim/disk/sim_disk.h"
#include "distkit/tests/support/queue_executor.h"
#include "distkit/transport/posix_disk.h"
#include "distkit/transport/runtime.h"

namespace distkit {
namespace {

class Backend {
 public:
  virtual ~Backend() = default;
  virtual Disk& disk() = 0;
  // Runs `task` to completion where the disk's work runs.
  virtual Status run(Task<Status> task) = 0;
  virtual Result<std::unique_ptr<raft::WalStorage>> open_wal() = 0;
  // The disk object is dropped and the same storage opened again, as after a clean
  // restart of the process (nothing is lost: what was written is visible).
  virtual void reopen() = 0;
};

class SimBackend final : public Backend {
 public:
  Disk& disk() override { return disk_; }
  Status run(Task<Status> task) override { return drain(std::move(task)); }
  Result<std::unique_ptr<raft::WalStorage>> open_wal() override {
    return drain(raft::WalStorage::open(disk_, {.segment_bytes = 4096}));
  }
  void reopen() override {}  // the simulated disk is the storage itself

 private:
  template <typename T>
  T drain(Task<T> task) {
    std::optional<T> out = executor_.run(std::move(task));
    return out ? std::move(*out) : T(internal_error("the task did not finish"));
  }
  distkit::testing::QueueExecutor executor_;
  sim::SimDisk disk_;
};

class PosixBackend final : public Backend {
 public:
  PosixBackend() {
    const char* tmp = std::getenv("TEST_TMPDIR");
    std::string pattern = std::string(tmp != nullptr ? tmp : "/tmp") + "/disk-XXXXXX";
    directory_ = ::mkdtemp(pattern.data()) != nullptr ? pattern : "";
    reopen();
  }
  ~PosixBackend() override {
    disk_.reset();
    runtime_.reset();
    std::error_code ec;
    std::filesystem::remove_all(directory_, ec);
  }
  Disk& disk() override { return *disk_; }
  Status run(Task<Status> task) override { return block_on(*runtime_, std::move(task)); }
  Result<std::unique_ptr<raft::WalStorage>> open_wal() override {
    return block_on(*runtime_, raft::WalStorage::open(*disk_, {.segment_bytes = 4096}));
  }
  void reopen() override {
    disk_.reset();
    Result<std::unique_ptr<transport::PosixDisk>> d =
        transport::PosixDisk::open(*runtime_, directory_ + "/data");
    EXPECT_TRUE(d.ok()) << d.status();
    if (d.ok()) disk_ = std::move(*d);
  }

 private:
  std::string directory_;
  std::unique_ptr<transport::AsioRuntime> runtime_ = transport::AsioRuntime::start();
  std::unique_ptr<transport::PosixDisk> disk_;
};

class DiskContract : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "sim") {
      backend_ = std::make_unique<SimBackend>();
    } else {
      backend_ = std::make_unique<PosixBackend>();
    }
  }
  Disk& disk() { return backend_->disk(); }
  std::unique_ptr<File> open(const std::string& name, bool create = true) {
    Result<std::unique_ptr<File>> f = disk().open(name, create);
    EXPECT_TRUE(f.ok()) << f.status();
    return f.ok() ? std::move(*f) : nullptr;
  }
  std::string contents(const std::string& name) {
    std::unique_ptr<File> f = open(name, false);
    if (f == nullptr) return "<missing>";
    Result<std::string> bytes = f->read_all();
    return bytes.ok() ? *bytes : "<" + bytes.status().to_string() + ">";
  }
  std::unique_ptr<Backend> backend_;
};

TEST_P(DiskContract, WritesAreVisibleAtOnceAndExtendWithZeros) {
  std::unique_ptr<File> f = open("a");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(*f->read_all(), "");
  ASSERT_TRUE(f->write(0, "hello").ok());
  ASSERT_TRUE(f->write(8, "x").ok());
  EXPECT_EQ(*f->read_all(), std::string("hello\0\0\0x", 9));
  ASSERT_TRUE(f->write(1, "E").ok());
  ASSERT_TRUE(f->truncate(3).ok());
  EXPECT_EQ(*f->read_all(), "hEl");
  EXPECT_EQ(contents("a"), "hEl") << "another handle sees the same bytes";
}

TEST_P(DiskContract, MissingFilesAndBadNamesAreClearErrors) {
  EXPECT_EQ(disk().open("nope", false).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(disk().remove("nope").code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(disk().rename("nope", "other").code(), StatusCode::kFailedPrecondition);
  const std::vector<std::string> bad_names = {"",          ".",   "..",
                                              "../escape", "a/b", std::string("a\0b", 3)};
  for (const std::string& bad : bad_names) {
    EXPECT_EQ(disk().open(bad, true).status().code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(disk().remove(bad).code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(disk().rename(bad, "x").code(), StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_TRUE(disk().list().empty()) << "nothing was created by the refused calls";
}

TEST_P(DiskContract, ListIsSortedAndRenameReplaces) {
  for (const char* name : {"b", "a", "c"}) {
    std::unique_ptr<File> f = open(name);
    ASSERT_NE(f, nullptr);
    ASSERT_TRUE(f->write(0, name).ok());
  }
  EXPECT_EQ(disk().list(), (std::vector<std::string>{"a", "b", "c"}));
  ASSERT_TRUE(disk().rename("a", "c").ok());
  EXPECT_EQ(disk().list(), (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(contents("c"), "a");
  ASSERT_TRUE(disk().remove("b").ok());
  EXPECT_EQ(disk().list(), (std::vector<std::string>{"c"}));
}

TEST_P(DiskContract, SyncedFilesAndNamesAreThereAfterAReopen) {
  {
    std::unique_ptr<File> f = open("log");
    ASSERT_NE(f, nullptr);
    ASSERT_TRUE(f->write(0, "durable").ok());
    ASSERT_TRUE(backend_->run(f->sync()).ok());
    ASSERT_TRUE(backend_->run(disk().sync_directory()).ok());
  }
  backend_->reopen();
  EXPECT_EQ(disk().list(), (std::vector<std::string>{"log"}));
  EXPECT_EQ(contents("log"), "durable");
}

// The WAL is the simulator's code on both: persisted entries and hard state come back,
// across segment rollovers.
TEST_P(DiskContract, TheRaftLogRecoversWhatItPersisted) {
  std::vector<raft::Entry> entries;
  for (raft::Index i = 1; i <= 40; ++i)
    entries.push_back({.term = 1 + i / 20, .index = i, .data = std::string(100, 'a' + i % 26)});
  const raft::HardState hard_state{.term = 2, .vote = 1, .commit = 30};
  {
    Result<std::unique_ptr<raft::WalStorage>> wal = backend_->open_wal();
    ASSERT_TRUE(wal.ok()) << wal.status();
    for (std::size_t from = 0; from < entries.size(); from += 10) {  // one Ready each
      const std::span<const raft::Entry> batch(entries.data() + from, 10);
      ASSERT_TRUE(backend_->run((*wal)->persist(batch, hard_state)).ok());
    }
    EXPECT_GT((*wal)->segments_created(), 1u) << "4 KiB segments roll over";
  }
  backend_->reopen();
  Result<std::unique_ptr<raft::WalStorage>> again = backend_->open_wal();
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ((*again)->recovered().entries, entries);
  EXPECT_EQ((*again)->recovered().hard_state, hard_state);
}

INSTANTIATE_TEST_SUITE_P(Backends, DiskContract, ::testing::Values("sim", "posix"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace distkit
